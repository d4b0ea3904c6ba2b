"""cluster_target: the kind picks the target; every target yields an explicit provider and the contract."""

from __future__ import annotations

from components.clusters.gke_facts import GKE_NODE_PORT_HEALTH_CHECK
from components.clusters.existing_gke_target import ExistingGkeTarget
from components.clusters.k3s_target import K3sTarget
from components.clusters.targets import cluster_target
from components.clusters.settings import ExistingGkeCluster, K3sCluster, K3sGpuNodes
from components.contracts.cluster import ServiceExposure, TrafficSource
from tests.conftest import GKE_API, GPU_NODES, K3S_API
from tools.mock_engine import run_under_mocks
from versions import versions


def build(config):
    captured = {}
    deployment = run_under_mocks(lambda: captured.setdefault("target", cluster_target("cluster", config, device_plugin_chart=versions().charts.nvidia_device_plugin)))
    return captured["target"], deployment


def test_k3s_with_gpus_installs_the_device_plugin_under_the_target():
    target, deployment = build(K3sCluster(kind="k3s", context="homelab", api_server=K3S_API, nodes=GPU_NODES, gpu=K3sGpuNodes()))
    assert isinstance(target, K3sTarget) and target.device_plugin is not None
    (provider,) = deployment.of_type("pulumi:providers:kubernetes")
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert release.provider.startswith(provider.urn)
    facts = target.facts
    assert facts.gpu.runtime_class_name == "nvidia"
    assert facts.ingress.ingress_class_name() == "traefik" and facts.ingress.annotations(tls=False) == {}
    # With TLS, Traefik routes the Ingress on its HTTPS entry point only: no plain HTTP beside it.
    assert facts.ingress.annotations(tls=True) == {"traefik.ingress.kubernetes.io/router.entrypoints": "websecure"}
    # Traefik reaches the pods themselves: plain ClusterIP Services, admitted from Traefik's pods only.
    assert facts.ingress.exposure() == ServiceExposure()
    assert facts.ingress.backend_source() == facts.ingress.source and facts.ingress.source.pod_labels
    assert facts.storage_provisioner.provisioner == "rancher.io/local-path"
    assert facts.api_server.port == 6443


def test_k3s_without_gpus_installs_no_device_plugin():
    target, deployment = build(K3sCluster(kind="k3s", context="homelab", api_server=K3S_API))
    assert target.device_plugin is None
    assert not deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert not deployment.objects("Namespace")


def test_k3s_time_slicing_reaches_the_device_plugin():
    _, deployment = build(
        K3sCluster(kind="k3s", context="homelab", api_server=K3S_API, nodes=GPU_NODES, gpu=K3sGpuNodes(time_slicing_replicas=2))
    )
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert "replicas: 2" in release.inputs["values"]["config"]["map"]["default"]


def test_existing_gke_answers_the_gke_questions_once():
    config = ExistingGkeCluster(
        kind="existing-gke", context="gke_p_asia-northeast2_c", api_server=GKE_API, gpu={"accelerator": "nvidia-l4"}
    )
    target, deployment = build(config)
    assert isinstance(target, ExistingGkeTarget)
    facts = target.facts
    assert facts.gpu.node_selector == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert facts.gpu.runtime_class_name is None
    assert facts.ingress.ingress_class_name() is None
    assert facts.ingress.annotations(tls=False) == {"kubernetes.io/ingress.class": "gce"}
    assert facts.ingress.annotations(tls=True) == {
        "kubernetes.io/ingress.class": "gce",
        "kubernetes.io/ingress.allow-http": "false",
    }
    assert facts.ingress.source.cidrs == ("130.211.0.0/22", "35.191.0.0/16")
    # Instance groups behind kiban's Services (a blue/green switch keeps a healthy backend), so NodePorts that
    # any node forwards to a ready pod; the pods admit what a node forwards, on the served ports.
    assert facts.ingress.exposure() == ServiceExposure(
        "NodePort", "Cluster", {"cloud.google.com/neg": '{"ingress": false}'}, GKE_NODE_PORT_HEALTH_CHECK
    )
    assert GKE_NODE_PORT_HEALTH_CHECK.detection_seconds == 35, "a node that stops forwarding is out in 35 s, not 12 min"
    assert facts.ingress.backend_source() == TrafficSource(any_source=True)
    assert facts.api_server.port == 443
    assert not deployment.of_type("kubernetes:helm.sh/v3:Release"), "GKE installs its own device plugin"


def test_the_listed_gpu_nodes_are_labelled_before_the_plugin_looks_for_them():
    from components.clusters.settings import HomelabNode

    nodes = [HomelabNode(name="k1", cpu="2", memory="6Gi"), HomelabNode(name="k3", cpu="2", memory="6Gi", gpus=1)]
    target, deployment = build(
        K3sCluster(kind="k3s", context="homelab", api_server=K3S_API, nodes=nodes, gpu=K3sGpuNodes())
    )
    (patch,) = deployment.of_type("kubernetes:core/v1:NodePatch")
    assert patch.inputs["metadata"] == {"name": "k3", "labels": {"nvidia.com/gpu.present": "true"}}
    assert patch.inputs["metadata"]["labels"].items() <= target.facts.gpu.node_selector.items()
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert release.inputs["values"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    plugin = [r for r in deployment.registrations if r.type == "kiban:gpu:NvidiaDevicePlugin"][0]
    assert patch.urn in plugin.dependencies, "the plugin waits for its node's label"


def test_a_gpu_cluster_whose_gpu_nodes_nothing_labels_is_refused():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="nothing else sets nvidia.com/gpu.present=true"):
        K3sCluster(kind="k3s", context="homelab", api_server=K3S_API, gpu=K3sGpuNodes())
    own_labels = K3sGpuNodes(node_selector={"example.com/gpu": "yes"})
    assert K3sCluster(kind="k3s", context="homelab", api_server=K3S_API, gpu=own_labels).gpu_nodes() == []


def test_dns_is_reached_the_way_each_cluster_resolves(declare):
    from components.kube.namespace import PlatformNamespace, PlatformNamespaceArgs

    gke, _ = build(ExistingGkeCluster(kind="existing-gke", context="gke", api_server=GKE_API))
    k3s, _ = build(K3sCluster(kind="k3s", context="homelab", api_server=K3S_API))
    assert set(gke.facts.dns_source.cidrs) == {"169.254.20.10/32", "169.254.169.254/32"}, "NodeLocal DNSCache, Cloud DNS"
    assert k3s.facts.dns_source.cidrs == (), "CoreDNS pods only"
    deployment = declare(
        lambda opts: PlatformNamespace("ns", PlatformNamespaceArgs(name="apps", cluster=gke.facts, part_of="t"), opts)
    )
    (rule,) = deployment.object("NetworkPolicy", "allow-dns")["spec"]["egress"]
    blocks = {peer["ipBlock"]["cidr"] for peer in rule["to"] if "ipBlock" in peer}
    assert blocks == {"169.254.20.10/32", "169.254.169.254/32"}
    assert any(peer.get("podSelector") == {"matchLabels": {"k8s-app": "kube-dns"}} for peer in rule["to"])
