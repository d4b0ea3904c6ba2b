"""`kiban:registry`: each kind validated, images held to the stack's registry, moving tags refused with Artifact
Registry (latest never reaches prod), and every refusal naming its key."""

from __future__ import annotations

from typing import Any

import pytest

from tests.stack_config.test_hostile_config import refused
from tests.stack_config.test_loader import run_main
from tools.mock_engine import stack_config

DEV = stack_config("dev")
PROD = stack_config("prod")
BUILD_PC = DEV["kiban:registry"]


def dev_registry(**changes: Any) -> dict[str, Any]:
    return {"kiban:registry": {**BUILD_PC, **changes}}


@pytest.mark.parametrize(
    "changes, key, why",
    [
        ({"dockerHost": "tcp://build-pc:2375"}, "kiban:registry.dockerHost", "an ssh:// address"),
        ({"dockerHost": "ssh://builder@build-pc\n"}, "kiban:registry.dockerHost", "the control character '\\n'"),
        ({"host": "Registry.Homelab"}, "kiban:registry.host", "a DNS host name"),
        ({"port": 0}, "kiban:registry.port", "greater than or equal to 1"),
        ({"username": "kiban:admin"}, "kiban:registry.username", "a user name"),
        ({"cleanup": {"dailyAt": "25:00"}}, "kiban:registry.cleanup.dailyAt", "HH:MM"),
        ({"cleanup": {"keepVersions": 0}}, "kiban:registry.cleanup.keepVersions", "greater than or equal to 1"),
        ({"builds": {"context": "app", "version": "sha 1"}}, "kiban:registry.builds.version", "an image tag"),
        ({"insecure": True}, "kiban:registry.insecure", "unknown key"),
        # pulumi-docker-build does not support buildx's docker driver (provider/internal/builder.go).
        ({"builder": "default"}, "kiban:registry.builder", "pulumi-docker-build does not support"),
        ({"builder": "my builder"}, "kiban:registry.builder", "a buildx builder name"),
        # Compared as written by the builds: an absolute path differs between a laptop and CI.
        ({"builds": {"context": "/home/me/faceapi", "version": "v1"}}, "kiban:registry.builds.context", "is absolute"),
        ({"builds": {"context": "app", "version": "v1", "sourceDateEpoch": -1}},
         "kiban:registry.builds.sourceDateEpoch", "greater than or equal to 0"),
    ],
)
def test_bad_build_pc_settings_name_their_key(changes, key, why):
    refused(dev_registry(**changes), key, why)


def test_an_unknown_kind_names_the_kinds():
    refused({"kiban:registry": {"kind": "harbor"}}, "kiban:registry", "build-pc", "artifact-registry", "external")


def test_dev_images_must_live_in_the_build_pc_registry():
    images = {**DEV["kiban:images"], "frontend": "ghcr.io/acme/face-frontend:latest"}
    refused({"kiban:images": images}, "images.frontend", "is not in the build PC's registry (registry.homelab.internal:5000)")


def test_with_builds_dev_follows_latest_or_the_built_version():
    images = {**DEV["kiban:images"], "faceApi": "registry.homelab.internal:5000/face-api:1.0.0"}
    refused({"kiban:images": images}, "images.faceApi", "registry.builds pushes only latest")
    without_builds = {k: v for k, v in BUILD_PC.items() if k != "builds"}
    assert run_main("dev", {"kiban:images": images, "kiban:registry": without_builds}).error is None


def test_artifact_registry_refuses_mutable_tags_latest_never_reaches_prod():
    mutable = {"kiban:images": {**PROD["kiban:images"], "allowMutableTags": True}}
    refused({**mutable, "kiban:environment": "development"}, "allowMutableTags", "never latest", stack="prod")
    refused(mutable, "environment is production", "images.allowMutableTags is true", stack="prod")


def test_prod_images_must_live_in_its_artifact_registry_repository():
    images = {**PROD["kiban:images"], "faceApi": "ghcr.io/acme/face-api:1.0.0"}
    refused({"kiban:images": images}, "images.faceApi", "asia-northeast1-docker.pkg.dev/kiban-prod/kiban/<image>",
            stack="prod")
    other_repository = {"kind": "artifact-registry", "repositoryId": "releases"}
    refused({"kiban:registry": other_repository}, "images.faceApi", "asia-northeast1-docker.pkg.dev/kiban-prod/releases",
            stack="prod")


def test_artifact_registry_needs_a_project_and_region_without_a_gke_cluster_kiban_creates():
    existing = {"kind": "existing-gke", "context": "gke_kiban-prod_asia-northeast1_kiban",
                "apiServer": {"addresses": ["172.16.0.2/32"]}, "gpu": {"accelerator": "nvidia-l4"}}
    refused({"kiban:cluster": existing}, "registry.project and registry.location are needed", stack="prod")
    placed = {"kind": "artifact-registry", "project": "kiban-prod", "location": "asia-northeast1"}
    assert run_main("prod", {"kiban:cluster": existing, "kiban:registry": placed}).error is None


def test_an_external_registry_user_needs_the_secret_password():
    external = {"kind": "external", "username": "bot"}
    refused({"kiban:registry": external}, "kiban:registryPassword", "pulumi config set --secret", stack="prod")
    ok = run_main("prod", {"kiban:registry": external, "kiban:registryPassword": {"secure": "token"}})
    assert ok.error is None
    (secret,) = [o for o in ok.deployment.objects("Secret") if o["metadata"]["name"] == "registry-pull"]
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
