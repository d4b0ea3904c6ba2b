"""ExistingCluster: an explicit provider for the configured context, and the right facts per kind."""

from __future__ import annotations

import os

from components.clusters.existing_cluster import ExistingCluster
from stack_config.cluster import ExistingGkeCluster, K3sCluster, K3sGpuNodes
from tests.conftest import GKE_API, K3S_API
from tools.mock_engine import run_under_mocks


def test_k3s_provider_and_device_plugin():
    config = K3sCluster(kind="k3s", kubeconfig="~/.kube/homelab.yaml", context="homelab", api_server=K3S_API, gpu=K3sGpuNodes())
    captured = {}
    deployment = run_under_mocks(lambda: captured.setdefault("cluster", ExistingCluster("cluster", config)))
    (provider,) = deployment.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "homelab"
    assert provider.inputs["kubeconfig"] == os.path.expanduser("~/.kube/homelab.yaml")
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert release.provider.startswith(provider.urn)
    facts = captured["cluster"].facts
    assert facts.gpu.runtime_class_name == "nvidia"
    assert facts.ingress_class == "traefik" and not facts.ingress_class_as_annotation
    assert facts.storage_provisioner.provisioner == "rancher.io/local-path"


def test_k3s_without_gpus_installs_no_device_plugin():
    deployment = run_under_mocks(lambda: ExistingCluster("cluster", K3sCluster(kind="k3s", context="homelab", api_server=K3S_API)))
    assert not deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert not deployment.objects("Namespace")


def test_existing_gke_facts():
    config = ExistingGkeCluster(kind="existing-gke", context="gke_p_asia-northeast2_c", api_server=GKE_API, gpu={"accelerator": "nvidia-l4"})
    captured = {}
    deployment = run_under_mocks(lambda: captured.setdefault("cluster", ExistingCluster("cluster", config)))
    (provider,) = deployment.of_type("pulumi:providers:kubernetes")
    assert "kubeconfig" not in provider.inputs, "unset kubeconfig falls back to the provider's own default"
    facts = captured["cluster"].facts
    assert facts.gpu.node_selector == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert facts.gpu.runtime_class_name is None
    assert facts.ingress_class == "gce" and facts.ingress_class_as_annotation
    assert facts.ingress_source.cidrs == ("130.211.0.0/22", "35.191.0.0/16")
    assert facts.ingress_service_annotations == {"cloud.google.com/neg": '{"ingress": true}'}
    assert not deployment.of_type("kubernetes:helm.sh/v3:Release"), "GKE installs its own device plugin"


def test_k3s_time_slicing_reaches_the_device_plugin():
    config = K3sCluster(kind="k3s", context="homelab", api_server=K3S_API, gpu=K3sGpuNodes(time_slicing_replicas=2))
    deployment = run_under_mocks(lambda: ExistingCluster("cluster", config))
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert "replicas: 2" in release.inputs["values"]["config"]["map"]["default"]
