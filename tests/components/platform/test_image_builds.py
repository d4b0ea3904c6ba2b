"""ImageBuilds under mocks: each image built by the build PC's BuildKit from the application's checkout with kiban's
Dockerfile and its folder as the named context `kiban`, with the pinned build arguments, pushed as its version and
latest in one push; the pushed digest is reported."""

from __future__ import annotations

import pulumi
import pulumi_docker_build as docker_build
import pytest
from pulumi.runtime import rpc

from components.contracts.registry import PullCredentials, RegistryFacts
from components.platform.image_builds import IMAGES, ROOT, ImageBuilds, ImageBuildsArgs
from components.platform.registry_settings import ImageBuilds as ImageBuildsConfig
from tools.mock_engine import mock_digest, run_under_mocks
from versions import versions

REGISTRY = "registry.lan:5000"


def facts() -> RegistryFacts:
    password = pulumi.Output.secret("pushing-password")
    return RegistryFacts(kind="build-pc", pull_endpoint=REGISTRY, push_endpoint=REGISTRY,
                         pull_credentials=PullCredentials("pusher", password))


def declare(images: dict[str, str]):
    def program():
        provider = docker_build.Provider("build-pc", host="ssh://builder@build-pc")
        made = ImageBuilds(
            "images",
            ImageBuildsArgs(
                config=ImageBuildsConfig(context="app", version="sha-abc"),
                registry=facts(),
                images=images,
                build_args=versions().image_builds.by_image(),
            ),
            opts=pulumi.ResourceOptions(provider=provider),
        )
        pulumi.export("digests", {name: image.digest for name, image in made.built.items()})

    return run_under_mocks(program)


@pytest.fixture(scope="module")
def builds():
    return declare({"face-api": f"{REGISTRY}/face-api:latest", "face-frontend": f"{REGISTRY}/face-frontend:latest"})


def pushed(builds) -> dict:
    return {r.name: r for r in builds.of_type("docker-build:index:Image")}


def test_each_image_is_built_from_the_app_checkout_with_kibans_dockerfile_as_named_context(builds):
    image = pushed(builds)["images-face-api"].inputs
    # Paths relative to the project, as pulumi-docker-build compares them: the same from every checkout.
    assert image["context"] == {"location": "app", "named": {"kiban": {"location": "images/face-api"}}}
    assert image["dockerfile"] == {"location": "images/face-api/Dockerfile"}
    assert pushed(builds)["images-face-frontend"].inputs["dockerfile"] == {"location": "images/face-frontend/Dockerfile"}
    assert (ROOT / image["dockerfile"]["location"]).is_file() and (IMAGES / "face-api" / "Dockerfile").is_file()
    assert image["platforms"] == ["linux/amd64"]
    assert image["pull"] is False, "pull with push makes every up a rebuild (image.go Diff)"


def test_each_build_gets_its_own_pinned_build_arguments_and_a_fixed_time(builds):
    for name in ("face-api", "face-frontend"):
        assert pushed(builds)[f"images-{name}"].inputs["buildArgs"] == {
            **versions().image_builds.of(name), "SOURCE_DATE_EPOCH": "0"
        }


def test_one_push_tags_the_version_and_latest_and_its_digest_is_reported(builds):
    image = pushed(builds)["images-face-api"].inputs
    assert image["push"] is True
    assert image["tags"] == [f"{REGISTRY}/face-api:sha-abc", f"{REGISTRY}/face-api:latest"]
    assert builds.outputs["digests"] == {
        "face-api": mock_digest(f"{REGISTRY}/face-api"), "face-frontend": mock_digest(f"{REGISTRY}/face-frontend")
    }


def test_every_build_names_its_builder(builds):
    # Unnamed, pulumi-docker-build skips the engine's docker-driver builder and uses or creates another one
    # (provider/internal/host.go), whose BuildKit does not trust the registry's CA.
    for image in pushed(builds).values():
        assert image.inputs["builder"] == {"name": "kiban"}

    def program():
        provider = docker_build.Provider("build-pc", host="ssh://builder@build-pc")
        ImageBuilds(
            "images",
            ImageBuildsArgs(
                config=ImageBuildsConfig(context="app", version="sha-abc", sourceDateEpoch=1767225600),
                registry=facts(),
                builder="homelab-builder",
                images={"face-api": f"{REGISTRY}/face-api:latest"},
                build_args=versions().image_builds.by_image(),
            ),
            opts=pulumi.ResourceOptions(provider=provider),
        )

    (image,) = run_under_mocks(program).of_type("docker-build:index:Image")
    assert image.inputs["builder"] == {"name": "homelab-builder"}
    assert image.inputs["buildArgs"]["SOURCE_DATE_EPOCH"] == "1767225600"


def test_the_push_credentials_stay_secret(builds):
    for image in pushed(builds).values():
        registries = image.inputs["registries"]
        assert rpc.is_rpc_secret(registries), "the SDK keeps the whole list secret when the password is"
        assert rpc.unwrap_rpc_secret(registries) == [
            {"address": REGISTRY, "username": "pusher", "password": "pushing-password"}
        ]


def test_an_image_outside_the_registry_or_without_a_dockerfile_is_refused():
    with pytest.raises(ValueError, match="not in the registry"):
        declare({"face-api": "elsewhere.example/face-api:latest"})
    with pytest.raises(ValueError, match="no Dockerfile"):
        declare({"yomu": f"{REGISTRY}/yomu:latest"})


def test_no_image_of_any_stack_is_built_on_preview():
    """A preview runs where no build PC may be reached (an approved pull request's preview: docs/ci-and-delivery.md);
    pulumi-docker-build builds on preview unless told not to (`buildOnPreview` defaults to true)."""
    from tools.mock_engine import available_stacks, run_program

    images = [r for stack in available_stacks() for r in run_program(stack).of_type("docker-build:index:Image")]
    assert images, "dev builds its images and the registry's"
    assert [r.name for r in images if r.inputs.get("buildOnPreview") is not False] == []
