"""The cloud capability: the cluster target, and what only its kind of cluster has (the homelab's preview account;
a GKE project's image pullers and pushers, CI's identity and the DNS record), asked of no one else."""

from __future__ import annotations

from capabilities.cloud import Cloud, cloud
from stack_config import load_stack_config
from tools.mock_engine import run_under_mocks, stack_config
from versions import versions


def composed(stack: str) -> tuple[Cloud, object]:
    found: list[Cloud] = []
    deployment = run_under_mocks(lambda: found.append(cloud(load_stack_config().stack, versions())), stack=stack,
                                 config=stack_config(stack))
    return found[0], deployment


def test_the_homelab_has_its_preview_account_and_no_cloud_project():
    where, deployment = composed("dev")
    assert where.gcp is None
    assert set(where.exports) == {"previewTokenSecret"}
    assert deployment.of_type("kiban:platform:PreviewAccess")
    assert not [r for r in deployment.registrations if r.package == "gcp"]  # nothing of Google Cloud
    # Deployed onto the cluster with its provider and the explicit `random` one.
    assert [type(p).__name__ for p in where.on_cluster.providers] == ["Provider", "Provider"]


def test_a_gke_cluster_kiban_creates_brings_its_project_and_ci_identity():
    where, deployment = composed("prod")
    assert where.gcp is not None
    pools = {name.removesuffix("-nodes") for name in where.gcp.image_pullers if name.endswith("-nodes")}
    assert pools and set(where.gcp.image_pullers) == {f"{pool}-nodes" for pool in pools} | {"ci-scan"}
    assert set(where.gcp.image_pushers) == {"ci-images"}
    assert where.gcp.apis, "what uses the project waits for its APIs"
    assert set(where.exports) == {"ingressAddress", "dnsRecord", "gkeCluster", "ciWorkloadIdentityProvider",
                                  "ciServiceAccounts"}
    assert deployment.of_type("kiban:platform:CiIdentity")
    assert not deployment.of_type("kiban:platform:PreviewAccess")  # prod is previewed only by what applies it
