"""ImageBuilds under mocks: each image built by the build PC's engine from the application's checkout with kiban's
Dockerfile as the named context, pushed as its version, then as latest; the pushed digest is reported."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker
import pytest
from pulumi.runtime import rpc

from components.contracts.registry import PullCredentials, RegistryFacts
from components.platform.image_builds import IMAGES, ROOT, ImageBuilds, ImageBuildsArgs
from stack_config.registry import ImageBuilds as ImageBuildsConfig
from tools.mock_engine import mock_digest, run_under_mocks

REGISTRY = "registry.lan:5000"


def facts() -> RegistryFacts:
    password = pulumi.Output.secret("pushing-password")
    return RegistryFacts(kind="build-pc", pull_endpoint=REGISTRY, push_endpoint=REGISTRY,
                         pull_credentials=PullCredentials("pusher", password))


def declare(images: dict[str, str]):
    def program():
        provider = docker.Provider("build-pc", host="ssh://builder@build-pc")
        made = ImageBuilds(
            "images",
            ImageBuildsArgs(config=ImageBuildsConfig(context="app", version="sha-abc"), registry=facts(), images=images),
            opts=pulumi.ResourceOptions(provider=provider),
        )
        pulumi.export("digests", {name: image.digest for name, image in made.built.items()})

    return run_under_mocks(program)


@pytest.fixture(scope="module")
def builds():
    return declare({"face-api": f"{REGISTRY}/face-api:latest", "face-frontend": f"{REGISTRY}/face-frontend:latest"})


def test_each_image_is_built_from_the_app_checkout_with_kibans_dockerfile_as_named_context(builds):
    pushed = {r.name: r for r in builds.of_type("docker:index/registryImage:RegistryImage")}
    build = pushed["images-face-api"].inputs["build"]
    assert build["context"] == str(ROOT / "app")
    assert build["dockerfile"] == str(IMAGES / "face-api" / "Dockerfile")
    assert build["additionalContexts"] == [f"kiban={IMAGES / 'face-api'}"], "the Dockerfiles COPY --from=kiban"
    assert build["tags"] == [f"{REGISTRY}/face-api:sha-abc", f"{REGISTRY}/face-api:latest"]
    assert pushed["images-face-api"].inputs["name"] == f"{REGISTRY}/face-api:sha-abc"
    assert pushed["images-face-frontend"].inputs["build"]["dockerfile"] == str(IMAGES / "face-frontend" / "Dockerfile")


def test_latest_is_pushed_after_the_version_and_follows_its_digest(builds):
    pushed = {r.name: r for r in builds.of_type("docker:index/registryImage:RegistryImage")}
    latest = pushed["images-face-api-latest"]
    assert latest.inputs["name"] == f"{REGISTRY}/face-api:latest" and "build" not in latest.inputs
    assert pushed["images-face-api"].urn in latest.dependencies
    assert latest.inputs["triggers"] == {"digest": mock_digest(f"{REGISTRY}/face-api")}
    for image in pushed.values():
        assert image.inputs["keepRemotely"] is True, "old versions go by the registry's clean-up, not by Pulumi"
    assert builds.outputs["digests"] == {
        "face-api": mock_digest(f"{REGISTRY}/face-api"), "face-frontend": mock_digest(f"{REGISTRY}/face-frontend")
    }


def test_the_push_credentials_stay_secret(builds):
    for image in builds.of_type("docker:index/registryImage:RegistryImage"):
        auth = image.inputs["authConfig"]
        assert rpc.is_rpc_secret(auth) or rpc.is_rpc_secret(auth["password"])


def test_an_image_outside_the_registry_or_without_a_dockerfile_is_refused():
    with pytest.raises(ValueError, match="not in the registry"):
        declare({"face-api": "elsewhere.example/face-api:latest"})
    with pytest.raises(ValueError, match="no Dockerfile"):
        declare({"yomu": f"{REGISTRY}/yomu:latest"})
