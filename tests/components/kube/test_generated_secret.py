"""GeneratedSecret: pulumi_random values, stable (no keepers), secret in state, copied and derived keys."""

from __future__ import annotations

import pulumi
import pytest
from pulumi.runtime import rpc

from components.kube.generated_secret import GeneratedSecret, GeneratedSecretArgs


def test_generated_copied_and_derived_values(declare):
    def build(opts):
        GeneratedSecret(
            "store",
            GeneratedSecretArgs(
                namespace="data",
                part_of="test",
                generated=["access-key", "secret-key"],
                plain={"host": "store.data.svc"},
                copied={"upstream": pulumi.Output.secret("copied-value")},
                derived={"url": lambda v: pulumi.Output.concat("http://", v["access-key"], ":", v["secret-key"], "@x")},
                protect=True,
            ),
            opts,
        )

    deployment = declare(build)
    passwords = deployment.of_type("random:index/randomPassword:RandomPassword")
    assert sorted(p.name for p in passwords) == ["store-access-key", "store-secret-key"]
    assert all(p.inputs == {"length": 40, "special": False} for p in passwords), "no keepers: values never rotate by accident"
    assert all(p.protect for p in passwords)
    secret = deployment.object("Secret", "store")
    assert rpc.is_rpc_secret(secret["stringData"])
    assert rpc.unwrap_rpc_secret(secret["stringData"]) == {
        "access-key": "mock-password-store-access-key",
        "secret-key": "mock-password-store-secret-key",
        "upstream": "copied-value",
        "url": "http://mock-password-store-access-key:mock-password-store-secret-key@x",
        "host": "store.data.svc",
    }
    assert deployment.registration("Secret", "store").protect


def test_a_key_given_twice_is_refused(declare):
    with pytest.raises(ValueError, match="given twice"):
        declare(
            lambda opts: GeneratedSecret(
                "store",
                GeneratedSecretArgs(namespace="d", part_of="t", generated=["password"], plain={"password": "x"}),
                opts,
            )
        )


def test_nothing_to_generate_is_refused(declare):
    with pytest.raises(ValueError, match="nothing to generate"):
        declare(lambda opts: GeneratedSecret("store", GeneratedSecretArgs(namespace="d", part_of="t", generated=[]), opts))
