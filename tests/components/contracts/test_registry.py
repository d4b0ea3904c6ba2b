"""The registry contract: a pull Secret's `.dockerconfigjson` in the shape kubelet reads, and secret."""

from __future__ import annotations

import base64
import json

import pulumi
from pulumi.runtime import rpc

from components.contracts.images import DeployedImage, configured_tag, image_reference, is_pinned
from components.contracts.registry import PullCredentials, RegistryFacts, docker_config_json
from tools.mock_engine import run_under_mocks


def test_the_docker_config_has_the_host_the_user_and_the_basic_auth_token():
    def program():
        credentials = PullCredentials("kiban", pulumi.Output.secret("s3cret"))
        facts = RegistryFacts(kind="build-pc", pull_endpoint="registry.lan:5000", push_endpoint="registry.lan:5000",
                              pull_credentials=credentials)
        pulumi.export("config", docker_config_json(facts.registry_host(), credentials))

    output = run_under_mocks(program).outputs["config"]
    assert rpc.is_rpc_secret(output)
    auths = json.loads(rpc.unwrap_rpc_secret(output))["auths"]
    assert auths == {
        "registry.lan:5000": {"username": "kiban", "password": "s3cret", "auth": base64.b64encode(b"kiban:s3cret").decode()}
    }


def test_the_registry_host_of_a_path_endpoint_is_its_first_part():
    facts = RegistryFacts(kind="artifact-registry", pull_endpoint="asia-northeast2-docker.pkg.dev/p/kiban",
                          push_endpoint="asia-northeast2-docker.pkg.dev/p/kiban")
    assert facts.registry_host() == "asia-northeast2-docker.pkg.dev"


def test_a_resolved_image_keeps_the_tag_it_was_asked_for():
    image = DeployedImage(reference="r/a:latest@sha256:" + "d" * 64, configured="r/a:latest", pinned=True)
    assert (image_reference(image), is_pinned(image), configured_tag(image)) == (image.reference, True, "latest")
    assert (image_reference("r/a:1.0"), is_pinned("r/a:1.0"), configured_tag("r/a:1.0")) == ("r/a:1.0", False, "1.0")
