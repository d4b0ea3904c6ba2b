"""stack_registry: each kind of `kiban:registry` under mocks, as the program composes it."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pulumi_random
import pulumi_tls
import pytest
from pulumi.runtime import rpc

from components.platform.registries import GcpAccess, stack_registry
from stack_config.stack import StackConfig
from tools.mock_engine import run_under_mocks, stack_config
from versions import versions

DEV = {key.removeprefix("kiban:"): value for key, value in stack_config("dev").items() if key.startswith("kiban:")}
PROD = {key.removeprefix("kiban:"): value for key, value in stack_config("prod").items() if key.startswith("kiban:")}


def declare(settings: dict, *, gcp_access: bool = False, password: str | None = None):
    config = StackConfig.model_validate(settings)

    def program():
        access = (
            GcpAccess(
                provider=gcp.Provider("gcp", project="kiban-prod", region="asia-northeast1"),
                project="kiban-prod",
                location="asia-northeast1",
            )
            if gcp_access
            else None
        )
        made = stack_registry(
            config.registry_or_default(),
            images=config.images.references(),
            builds=config.images.builds(),
            build_args=versions().image_builds.by_image(),
            protect=config.data_safety.protect,
            opts=pulumi.ResourceOptions(providers=[pulumi_random.Provider("random"), pulumi_tls.Provider("tls")]),
            gcp_access=access,
            external_password=pulumi.Output.secret(password) if password else None,
        )
        credentials = made.facts.pull_credentials
        pulumi.export("kind", made.facts.kind)
        pulumi.export("pull", made.facts.pull_endpoint)
        pulumi.export("faceApi", made.images["face_api"].reference)
        pulumi.export("user", credentials.username if credentials else None)
        pulumi.export("password", credentials.password if credentials else None)

    return run_under_mocks(program, disabled_default_providers=("kubernetes", "gcp", "docker", "docker-build", "random", "tls"))


def test_build_pc_declares_the_registry_and_the_builds_and_pins_latest():
    deployment = declare(DEV)
    assert deployment.outputs["kind"] == "build-pc"
    assert deployment.of_type("kiban:platform:BuildPcRegistry") and deployment.of_type("kiban:platform:ImageBuilds")
    assert deployment.outputs["faceApi"].startswith("registry.homelab.internal:5000/face-api:latest@sha256:")
    assert deployment.outputs["user"] == "kiban" and rpc.is_rpc_secret(deployment.outputs["password"])


def test_artifact_registry_declares_the_repository_and_pins_the_release():
    deployment = declare(PROD, gcp_access=True)
    assert deployment.outputs["kind"] == "artifact-registry"
    assert deployment.of_type("gcp:artifactregistry/repository:Repository")
    assert deployment.outputs["faceApi"].startswith("asia-northeast1-docker.pkg.dev/kiban-prod/kiban/face-api:v1.0.0@sha256:")
    assert deployment.outputs.get("user") is None, "GKE nodes pull with their service accounts"
    unpinned = declare({**PROD, "registry": {"kind": "artifact-registry", "pinDigests": False}}, gcp_access=True)
    assert unpinned.outputs["faceApi"] == "asia-northeast1-docker.pkg.dev/kiban-prod/kiban/face-api:v1.0.0"
    with pytest.raises(ValueError, match="GCP provider"):
        declare(PROD)


def test_external_declares_nothing_and_has_credentials_only_when_configured():
    anonymous = declare({**PROD, "registry": {"kind": "external"}})
    assert [r for r in anonymous.registrations if r.custom and not r.type.startswith("pulumi:providers:")] == []
    assert anonymous.outputs.get("user") is None
    assert anonymous.outputs["faceApi"] == PROD["images"]["faceApi"], "nothing to read a digest from: the tag as written"
    with_user = declare({**PROD, "registry": {"kind": "external", "username": "bot"}}, password="token")
    assert with_user.outputs["user"] == "bot" and with_user.outputs["pull"] == "asia-northeast1-docker.pkg.dev"
    assert rpc.is_rpc_secret(with_user.outputs["password"])
