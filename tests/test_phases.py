"""Each stack's first `up` from empty is a sequence of phases, each run here under the mock engine as the stack
would meet it: the foundation on a stack never deployed, then the workloads on the stack the foundation left.

A phase must not read what only a later phase or a person creates: an image digest (the images are pushed after
the foundation: by the build PC's builder once it trusts the CA, or by the release workflow with CI's identity),
or an image pulled from kiban's registry (the K3s nodes can pull only once a person has installed the foundation's
`k3sRegistriesYaml` and CA and restarted K3s). And no phase may drop what runs.
"""

from __future__ import annotations

import pytest

from components.platform.stack_phase import PhaseRefused
from tools.custom_workloads import with_stand_ins
from tools.mock_engine import Deployment, run_program, stack_config
from tools.manifests import pod_spec

FOUNDATION = {"kiban:phase": "foundation"}
DIGEST_READS = ("gcp:artifactregistry/getDockerImage:getDockerImage", "docker:index/getRegistryImage:getRegistryImage")
NEXT_STEPS_NEED = {
    # the nodes' registry configuration and the builder's trust (dev); CI's identity and the DNS record (prod)
    "dev": {"registryCaCertificate", "k3sRegistriesYaml", "buildkitdConfig", "registryEndpoint"},
    "prod": {"ciWorkloadIdentityProvider", "ciServiceAccounts", "registryEndpoint", "dnsRecord", "gkeCluster"},
}


def registry_endpoint(stack: str) -> str:
    return stack_config(stack)["kiban:images"]["faceApi"].rsplit("/", 1)[0]


def pulled_images(deployment: Deployment) -> set[str]:
    images = set()
    for obj in with_stand_ins(deployment.objects()):
        if obj["kind"] not in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Rollout", "Pod"):
            continue
        spec = pod_spec(obj)
        images |= {c["image"] for c in spec.get("initContainers", []) + spec.get("containers", [])}
    return images


def reads(deployment: Deployment) -> list[str]:
    """The digest reads an `up` makes: data sources, and builds whose push reports a digest."""
    invoked = [token for token, _ in deployment.invokes if token in DIGEST_READS]
    pushed = [r.name for r in deployment.of_type("docker-build:index:Image") if r.inputs.get("push")]
    return invoked + pushed


@pytest.fixture(scope="module", params=["dev", "prod"])
def phases(request) -> tuple[str, Deployment, Deployment]:
    stack = request.param
    foundation = run_program(stack, FOUNDATION, previous_outputs={})
    workloads = run_program(stack, previous_outputs=foundation.outputs)
    return stack, foundation, workloads


def test_the_foundation_reads_no_digest_and_pulls_nothing_from_kibans_registry(phases):
    stack, foundation, workloads = phases
    assert reads(foundation) == [], f"{stack}: the foundation reads digests of images not pushed yet"
    endpoint = registry_endpoint(stack)
    assert not [i for i in pulled_images(foundation) if i.startswith(endpoint)], (
        f"{stack}: the foundation runs pods that pull from {endpoint}, which the nodes cannot reach yet"
    )
    # ...while the workloads that follow it do both (so the checks above can fail).
    assert reads(workloads) and [i for i in pulled_images(workloads) if i.startswith(endpoint + "/")]


def test_the_foundation_exports_what_the_steps_after_it_need(phases):
    stack, foundation, _ = phases
    assert NEXT_STEPS_NEED[stack] <= set(foundation.outputs), stack
    assert foundation.outputs["phase"] == "foundation"


def test_the_workloads_keep_the_foundation_as_it_was(phases):
    # Same URNs and the same inputs: the second up neither replaces nor updates what the first one made.
    stack, foundation, workloads = phases
    later = {r.urn: r.inputs for r in workloads.registrations}
    missing = [r.urn for r in foundation.registrations if r.urn not in later]
    assert missing == [], f"{stack}: the workloads phase would delete {missing}"
    changed = [r.urn for r in foundation.registrations if later[r.urn] != r.inputs]
    assert changed == [], f"{stack}: the workloads phase would change {changed}"
    assert workloads.outputs["phase"] == "workloads"
    assert len(workloads.registrations) > 2 * len(foundation.registrations)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_foundation_over_running_workloads_is_refused(stack):
    with pytest.raises(PhaseRefused, match=f"stack '{stack}' already runs its workloads.*pulumi config rm"):
        run_program(stack, FOUNDATION)
    # A stack deployed before phases existed exports no phase, but its workloads' url.
    with pytest.raises(PhaseRefused, match="already runs its workloads"):
        run_program(stack, FOUNDATION, previous_outputs={"url": "https://face.example.com"})


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_workloads_before_a_foundation_are_refused(stack):
    with pytest.raises(PhaseRefused, match=f"stack '{stack}' has no foundation yet.*kiban:phase foundation"):
        run_program(stack, previous_outputs={})


def test_a_stack_that_needs_no_foundation_deploys_in_one_up():
    # An external registry that kiban does not run: the images exist before any up, nothing to follow up.
    external = {"kiban:registry": {"kind": "external"}}
    deployment = run_program("prod", {**external, "kiban:images": {
        "faceApi": "ghcr.io/example/face-api:1.0.0", "frontend": "ghcr.io/example/face-frontend:1.0.0"}},
        previous_outputs={})
    assert deployment.outputs["phase"] == "workloads" and deployment.of_type("kiban:app:FaceRecognitionSystem")
