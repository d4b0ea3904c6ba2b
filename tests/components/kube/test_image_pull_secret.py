"""image_pull_secret: a kubernetes.io/dockerconfigjson Secret whose data is secret in Pulumi's state."""

from __future__ import annotations

import json

import pulumi
from pulumi.runtime import rpc

from components.contracts.registry import PullCredentials
from components.kube.image_pull_secret import image_pull_secret


def test_a_dockerconfigjson_secret_for_the_registry(declare):
    deployment = declare(
        lambda opts: image_pull_secret(
            "registry-pull",
            namespace="apps",
            part_of="face-recognition",
            registry_host="registry.lan:5000",
            credentials=PullCredentials("kiban", pulumi.Output.secret("pw")),
            opts=opts,
        )
    )
    secret = deployment.object("Secret", "registry-pull")
    assert secret["type"] == "kubernetes.io/dockerconfigjson" and secret["metadata"]["namespace"] == "apps"
    data = secret["stringData"]
    assert rpc.is_rpc_secret(data) or rpc.is_rpc_secret(data[".dockerconfigjson"])
    plain = rpc.unwrap_rpc_secret(data) if rpc.is_rpc_secret(data) else data
    content = plain[".dockerconfigjson"]
    content = rpc.unwrap_rpc_secret(content) if rpc.is_rpc_secret(content) else content
    assert json.loads(content)["auths"]["registry.lan:5000"]["username"] == "kiban"
