"""GkeTarget: the prod stack's GCP resources and their key settings, the provider wiring, the GPU pool's scale to
zero and taint, and the contract every workload component reads (run through the real program for prod)."""

from __future__ import annotations

import json

import pytest
from pulumi.runtime import rpc

from tools.mock_engine import available_stacks, run_program

GCP_APIS = "gcp:projects/service:Service"


@pytest.fixture(scope="module")
def prod():
    return run_program("prod")


def one(deployment, type_: str, name: str | None = None):
    found = [r for r in deployment.of_type(type_) if name is None or r.name == name]
    assert len(found) == 1, [r.name for r in deployment.of_type(type_)]
    return found[0]


def test_the_apis_come_first(prod):
    apis = {r.inputs["service"]: r for r in prod.of_type(GCP_APIS)}
    assert {"container.googleapis.com", "compute.googleapis.com", "sts.googleapis.com"} <= set(apis)
    cluster = one(prod, "gcp:container/cluster:Cluster")
    assert {apis["container.googleapis.com"].urn} <= set(cluster.dependencies) | {
        d for r in prod.registrations if r.urn in cluster.dependencies for d in r.dependencies
    }


API_OF = {
    "gcp:container/": "container.googleapis.com",
    "gcp:compute/": "compute.googleapis.com",
    "gcp:serviceaccount/": "iam.googleapis.com",
    "gcp:iam/": "iam.googleapis.com",
    "gcp:projects/iAMMember:": "cloudresourcemanager.googleapis.com",
    "gcp:artifactregistry/": "artifactregistry.googleapis.com",
}
"""The API each kind of GCP resource kiban declares is served by (project IAM bindings: Resource Manager's
setIamPolicy)."""
MADE_BEFORE = ("gcp:kms/", "gcp:storage/")
"""Bindings on the state bucket and the secrets key, which exist (with their APIs on) before the first `up`."""


def test_every_gcp_resource_waits_for_the_api_that_serves_it(prod):
    """On a fresh project every API is off: a resource registered before its API's Service fails with
    SERVICE_DISABLED, so each one names the Service as a dependency (an implicit one through inputs is not there for
    the CI identity, the repository or IAM bindings)."""
    apis = {r.inputs["service"]: r.urn for r in prod.of_type(GCP_APIS)}
    resources = [r for r in prod.registrations if r.custom and r.package == "gcp" and r.type != GCP_APIS]
    assert {r.type.split(":")[1].split("/")[0] for r in resources} >= {"container", "compute", "serviceaccount", "iam",
                                                                      "projects", "artifactregistry"}
    unserved, waiting = [], []
    for resource in (r for r in resources if not r.type.startswith(MADE_BEFORE)):
        (api,) = [api for prefix, api in API_OF.items() if resource.type.startswith(prefix)] or [None]
        if api is None:
            unserved.append(resource.type)
        elif apis.get(api) not in resource.dependencies:
            waiting.append(f"{resource.name} ({resource.type}) does not wait for {api}")
    assert not unserved, f"no API known for {unserved}"
    assert not waiting, waiting


def test_a_private_vpc_native_cluster_with_the_dns_endpoint(prod):
    cluster = one(prod, "gcp:container/cluster:Cluster")
    inputs = cluster.inputs
    assert inputs["removeDefaultNodePool"] is True and inputs["deletionProtection"] is True
    assert inputs["privateClusterConfig"]["enablePrivateNodes"] is True
    assert inputs["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["allowExternalTraffic"] is True
    assert inputs["workloadIdentityConfig"] == {"workloadPool": "kiban-prod.svc.id.goog"}
    assert inputs["datapathProvider"] == "ADVANCED_DATAPATH", "Dataplane V2 enforces NetworkPolicies"
    assert inputs["enableShieldedNodes"] is True and inputs["releaseChannel"] == {"channel": "REGULAR"}
    assert inputs["ipAllocationPolicy"]["clusterSecondaryRangeName"] == "kiban-pods"
    assert inputs["maintenancePolicy"]["dailyMaintenanceWindow"]["startTime"] == "18:00"
    assert cluster.protect
    assert {"nodeConfig", "initialNodeCount"} <= set(cluster.ignore_changes), "fields GKE back-fills"
    subnet = one(prod, "gcp:compute/subnetwork:Subnetwork")
    assert [r["rangeName"] for r in subnet.inputs["secondaryIpRanges"]] == ["kiban-pods", "kiban-services"]
    one(prod, "gcp:compute/routerNat:RouterNat")
    firewall = one(prod, "gcp:compute/firewall:Firewall")
    assert firewall.inputs["sourceRanges"] == ["172.16.0.0/28"]
    assert {"8443", "9443"} <= set(firewall.inputs["allows"][0]["ports"]), "webhooks of the charts kiban installs"


def test_the_gpu_pool_scales_to_zero_is_tainted_driver_managed_and_protected(prod):
    pool = one(prod, "gcp:container/nodePool:NodePool", "cluster-gpu-pool")
    # Totals over the pool's zones (per-zone min/maxNodeCount would allow 9 in each zone: 27 L4s over three).
    assert pool.inputs["autoscaling"] == {"totalMinNodeCount": 0, "totalMaxNodeCount": 9, "locationPolicy": "ANY"}
    config = pool.inputs["nodeConfig"]
    (accelerator,) = config["guestAccelerators"]
    assert accelerator["type"] == "nvidia-l4" and accelerator["count"] == 1
    assert accelerator["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "DEFAULT"}
    assert config["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert pool.protect and pool.ignore_changes == ("nodeConfig.taints",)
    accounts = {r.name: r for r in prod.of_type("gcp:serviceaccount/account:Account")}
    assert config["serviceAccount"] == "kiban-gpu-nodes@kiban-prod.iam.gserviceaccount.com"
    node_roles = {r.inputs["role"] for r in prod.of_type("gcp:projects/iAMMember:IAMMember") if "gpu-nodes" in r.name}
    assert node_roles == {"roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer",
                          "roles/stackdriver.resourceMetadata.writer", "roles/artifactregistry.reader"}
    assert "cluster-general-nodes" in accounts, "each pool has its own account"


def test_no_nvidia_chart_on_gke_and_gpu_pods_select_the_accelerator(prod):
    assert not [r for r in prod.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "nvidia-device-plugin"]
    pod = prod.object("Rollout", "face-api")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]


def test_the_kubernetes_provider_is_built_from_the_cluster(prod):
    (provider,) = prod.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["clusterIdentifier"] == "gke/kiban-prod/asia-northeast1/kiban"
    assert rpc.is_rpc_secret(provider.inputs["kubeconfig"])
    kubeconfig = json.loads(rpc.unwrap_rpc_secret(provider.inputs["kubeconfig"]))
    assert kubeconfig["clusters"][0]["cluster"]["server"].endswith(".gke.goog")
    assert kubeconfig["users"][0]["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    cluster = one(prod, "gcp:container/cluster:Cluster")
    pools = prod.of_type("gcp:container/nodePool:NodePool")
    assert {"cluster-general-pool", "cluster-gpu-pool"} == {p.name for p in pools}
    assert {cluster.urn, *(p.urn for p in pools)} <= set(provider.dependencies), "Helm releases need nodes"
    (gcp_provider,) = prod.of_type("pulumi:providers:gcp")
    assert gcp_provider.inputs["project"] == "kiban-prod"
    gcp_resources = [r for r in prod.registrations if r.custom and r.package == "gcp"]
    assert gcp_resources and all(r.provider.startswith(gcp_provider.urn) for r in gcp_resources)


def test_a_stable_entry_point_with_a_managed_certificate(prod):
    ingress = prod.object("Ingress", "face-recognition")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["kubernetes.io/ingress.global-static-ip-name"] == "kiban-ingress"
    assert annotations["networking.gke.io/managed-certificates"] == "face-recognition"
    assert annotations["kubernetes.io/ingress.allow-http"] == "false"
    assert prod.object("ManagedCertificate", "face-recognition")["spec"] == {"domains": ["face.kiban.example.com"]}
    assert prod.outputs["url"] == "https://face.kiban.example.com"
    assert prod.outputs["dnsRecord"] == "face.kiban.example.com. A 203.0.113.10"


def test_the_dev_stack_declares_no_gcp_resource():
    assert "dev" in available_stacks()
    dev = run_program("dev")
    assert not [r for r in dev.registrations if r.package == "gcp" or r.type == "pulumi:providers:gcp"]
