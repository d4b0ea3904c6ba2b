"""The daily scan's list (tools/deployed_images.py) covers every image the stacks run, derived from their render:
the stacks' own pods, CloudNativePG's operand, what the Helm charts run by themselves, and the Dockerfiles' bases;
and every pinned third-party image is an immutable reference to a maintained release, from no repository withdrawn
upstream."""

from __future__ import annotations

import json
import re

import pytest

from components.contracts.images import ImageReference
from policy.rules import is_version_tag
from tools.deployed_images import RELEASE, deployed_images, release_objects, kubernetes_version
from tools.mock_engine import run_program, stack_config
from versions import versions


@pytest.fixture(scope="module")
def listed() -> list[str]:
    return deployed_images()


def test_the_list_is_json_for_the_matrix(listed):
    assert json.loads(json.dumps(listed)) == listed and len(listed) == len(set(listed))


def test_every_chart_image_is_scanned(listed):
    """The images a chart runs come from its templates, not from kiban: each release's are in the list."""
    for stack in ("dev", "prod"):
        for release in run_program(stack).of_type(RELEASE):
            objects = release_objects(release, kubernetes_version(stack))
            chart_images = {c["image"] for o in objects if o.get("kind") in ("Deployment", "StatefulSet", "DaemonSet")
                            for c in (o["spec"]["template"]["spec"].get("containers") or [])}
            assert chart_images, release.name
            assert chart_images <= set(listed), f"{stack}/{release.name}: {chart_images - set(listed)}"


def test_the_stores_the_dockerfile_bases_and_prods_release_are_scanned(listed):
    pinned = versions()
    assert {pinned.images.cnpg_postgres, pinned.images.valkey, pinned.images.busybox} <= set(listed)
    bases = {v for args in pinned.image_builds.by_image().values() for k, v in args.items() if k.endswith("_IMAGE")}
    assert bases <= set(listed), "kiban's Dockerfiles' base images"
    prod = stack_config("prod")["kiban:images"]
    assert {prod["faceApi"], prod["frontend"]} <= set(listed), "prod's release by the tag it deploys (no mock digest)"
    assert not [i for i in listed if i.startswith(stack_config("dev")["kiban:registry"]["host"])], (
        "dev's own images are in the homelab's registry, which a scanner on GitHub cannot reach")


def test_every_listed_image_is_immutable(listed):
    for reference in listed:
        image = ImageReference.parse(reference)
        assert image.digest or is_version_tag(image.tag), reference


KNOWN_VULNERABLE = {
    # repository: (versions with a known critical fix missing, why)
    "docker.io/valkey/valkey": (re.compile(r"(7\.|8\.0\.[0-7]-|8\.1\.[0-3]-)"), "CVE-2025-49844 (fixed in 8.1.4)"),
    "ghcr.io/cloudnative-pg/postgresql": (re.compile(r"\d+(\.\d+)?$"), "a deprecated rolling system tag, rebuilt in place"),
    "docker.io/milvusdb/milvus": (re.compile(r"v2\.([0-5]\.|6\.([0-9]|1[0-3])(-|$))"),
                                  "Go before 1.25.8: CVE-2025-68121, critical (fixed in v2.6.14)"),
    "quay.io/coreos/etcd": (re.compile(r"v3\.5\.([0-9]|1[0-9]|2[0-7])$"),
                            "RBAC bypasses CVE-2026-33413 and CVE-2026-33343 (fixed in v3.5.28)"),
    "docker.io/library/postgres": (re.compile(r"15\.([0-9]|1[0-8])(-|$)"),
                                   "CVE-2026-16239 and CVE-2026-14669, code execution (fixed in 15.19)"),
    "docker.io/library/node": (re.compile(r"24\.([0-9]\.|1[0-3]\.|14\.0-)"),
                               "CVE-2026-21637, high (fixed in 24.14.1)"),
    "docker.io/nginxinc/nginx-unprivileged": (re.compile(r"1\.(2[0-9]\.|30\.[0-3]-)"),
                                              "1.28 ended in 2026-04; CVE-2026-42945 to CVE-2026-56434 (fixed by 1.30.4)"),
    "quay.io/argoproj/argocd": (re.compile(r"v3\.4\.([0-9]|1[0-4])$"),
                                "GHSA-9v9p-x54c-58gc and three more critical (fixed in v3.4.10), GHSA-w7rw-fg89-2cjf "
                                "high (fixed in v3.4.15)"),
    "quay.io/argoproj/argo-rollouts": (re.compile(r"v1\.9\.0$"), "grpc CVE-2026-33186, critical (fixed in v1.9.1)"),
}

REFUSED_BEFORE = (
    # What versions.json pinned before the audit of 2026-12-06, and what each would be refused for.
    "docker.io/milvusdb/milvus:v2.6.11",
    "docker.io/milvusdb/milvus:v2.6.11-gpu",
    "quay.io/coreos/etcd:v3.5.25",
    "docker.io/library/postgres:15.18-alpine",
    "docker.io/library/node:24.11.1-alpine",
    "docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine",
    "quay.io/argoproj/argocd:v3.4.4",  # what the vendored argo-cd chart 10.1.1 runs without appRelease
    "quay.io/argoproj/argo-rollouts:v1.9.0",  # argo-rollouts chart 2.41.0's
)


def known_vulnerability(reference: str) -> str | None:
    image = ImageReference.parse(reference)
    pattern, why = KNOWN_VULNERABLE.get(image.repository, (None, None))
    return why if pattern and pattern.match(image.tag or "") else None


@pytest.mark.parametrize("reference", REFUSED_BEFORE)
def test_the_pins_before_the_audit_are_known_vulnerable(reference: str):
    assert known_vulnerability(reference), reference


@pytest.mark.parametrize("reference", [
    "docker.io/milvusdb/milvus:v2.6.14", "docker.io/milvusdb/milvus:v2.6.22-gpu", "quay.io/coreos/etcd:v3.5.28",
    "quay.io/coreos/etcd:v3.5.33", "docker.io/library/postgres:15.19-alpine", "docker.io/library/node:24.14.1-alpine",
    "docker.io/library/node:24.21.0-alpine", "docker.io/nginxinc/nginx-unprivileged:1.30.4-alpine",
    "quay.io/argoproj/argocd:v3.4.15", "quay.io/argoproj/argo-rollouts:v1.9.1",
])
def test_a_release_with_the_fixes_passes(reference: str):
    assert known_vulnerability(reference) is None


def test_no_image_comes_from_a_withdrawn_repository(listed):
    """A repository deleted upstream leaves a first `up` in ImagePullBackOff; a frozen one carries known unpatched
    advisories (versions.json `withdrawnImages`: docker.io/minio/{minio,mc} since 2026-09-12, Bitnami's catalog)."""
    withdrawn = versions().withdrawn_images
    refused = {reference: withdrawn.why(reference) for reference in listed if withdrawn.why(reference)}
    assert not refused, refused


def test_no_pin_is_a_known_vulnerable_or_rolling_one(listed):
    for reference in listed:
        assert not known_vulnerability(reference), f"{reference}: {known_vulnerability(reference)}"
    cnpg = ImageReference.parse(versions().images.cnpg_postgres)
    assert cnpg.digest and re.fullmatch(r"\d+\.\d+-\d{12}-(minimal|standard)-trixie", cnpg.tag or ""), (
        "CloudNativePG's fully qualified tag (version, build timestamp, type, distribution) and its digest")
