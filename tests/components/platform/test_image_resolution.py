"""Image references resolved in one place: a tag becomes `tag@digest` where a digest can be read, a digest is kept,
and a tag of a registry kiban cannot read stays a tag (and is not called pinned)."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker
import pulumi_gcp as gcp
import pytest

from components.platform.image_builds import BuiltImage
from components.platform.image_resolution import (
    artifact_registry_digests,
    built_digests,
    registry_digests,
    resolve_images,
)
from tools.mock_engine import mock_digest, run_under_mocks

DIGEST = "sha256:" + "b" * 64
PROD = "asia-northeast2-docker.pkg.dev/kiban-prod/kiban"


def resolved(build) -> dict:
    def program():
        images = build()
        pulumi.export("references", {"faceApi": images["face_api"].reference, "frontend": images["frontend"].reference})
        pulumi.export("pinned", {"faceApi": images["face_api"].pinned, "frontend": images["frontend"].pinned})

    deployment = run_under_mocks(program)
    return {key: (deployment.outputs["references"][key], deployment.outputs["pinned"][key]) for key in ("faceApi", "frontend")}


def test_without_a_digest_source_tags_stay_tags_and_digests_stay_digests():
    result = resolved(lambda: resolve_images({"face_api": "ghcr.io/acme/face-api:1.2.0", "frontend": f"ghcr.io/acme/frontend@{DIGEST}"}, None))
    assert result == {"faceApi": ("ghcr.io/acme/face-api:1.2.0", False), "frontend": (f"ghcr.io/acme/frontend@{DIGEST}", True)}


def test_dev_deploys_the_digest_its_own_push_of_latest_reports():
    def build():
        built = {"face-api": BuiltImage("r.lan:5000/face-api", "sha-1", pulumi.Output.from_input("sha256:" + "1" * 64)),
                 "face-frontend": BuiltImage("r.lan:5000/face-frontend", "sha-1", pulumi.Output.from_input("sha256:" + "2" * 64))}
        return resolve_images({"face_api": "r.lan:5000/face-api:latest", "frontend": "r.lan:5000/face-frontend:sha-1"}, built_digests(built))

    assert resolved(build) == {
        "faceApi": ("r.lan:5000/face-api:latest@sha256:" + "1" * 64, True),
        "frontend": ("r.lan:5000/face-frontend:sha-1@sha256:" + "2" * 64, True),
    }


def test_a_tag_the_builds_do_not_push_is_refused():
    built = {"face-api": BuiltImage("r.lan:5000/face-api", "sha-1", pulumi.Output.from_input(DIGEST))}
    with pytest.raises(ValueError, match="as latest and their version"):
        built_digests(built)("r.lan:5000/face-api:1.0.0")


def test_without_builds_dev_reads_what_latest_points_to_from_the_registry():
    def build():
        reader = docker.Provider("reader", host="ssh://builder@build-pc", disable_docker_daemon_check=True)
        return resolve_images({"face_api": "r.lan:5000/face-api:latest", "frontend": "r.lan:5000/face-frontend:latest"}, registry_digests(reader))

    result = resolved(build)
    assert result["faceApi"] == (f"r.lan:5000/face-api:latest@{mock_digest('r.lan:5000/face-api')}", True)


def test_prod_pins_its_release_tag_to_what_artifact_registry_holds():
    def build():
        provider = gcp.Provider("gcp", project="kiban-prod", region="asia-northeast2")
        repository = gcp.artifactregistry.Repository(
            "repo", project="kiban-prod", location="asia-northeast2", repository_id="kiban", format="DOCKER",
            opts=pulumi.ResourceOptions(provider=provider),
        )
        return resolve_images(
            {"face_api": f"{PROD}/face-api:1.0.0", "frontend": f"{PROD}/face-frontend:v1.0.0"},
            artifact_registry_digests(PROD, repository, provider),
        )

    result = resolved(build)
    assert result["faceApi"] == (f"{PROD}/face-api:1.0.0@{mock_digest('face-api:1.0.0')}", True)
    assert result["frontend"] == (f"{PROD}/face-frontend:v1.0.0@{mock_digest('face-frontend:v1.0.0')}", True)
