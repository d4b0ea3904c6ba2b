"""The loader reads config the way the real Pulumi CLI hands it over: PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS."""

from __future__ import annotations

import json
import runpy

import pytest
from pulumi.runtime import rpc

from stack_config import ConfigError
from tools.mock_engine import ROOT, offline_application_secrets, run_under_mocks, stack_config


def cli_environment(stack: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Stack config serialised as the CLI does: every value a string, objects as JSON text, secret objects
    decrypted (`kiban:applicationSecrets`, which the secret keys must then list)."""
    config = {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in stack_config(stack).items()
        if key.startswith("kiban:")
    }
    config["kiban:applicationSecrets"] = decrypted_application_secrets(stack)
    config.update(extra or {})
    return config


SECRET_OBJECTS = ["kiban:applicationSecrets"]


def run_main() -> None:
    runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")


def test_a_stack_loads_from_the_cli_environment(monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(cli_environment("prod")))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(SECRET_OBJECTS))
    deployment = run_under_mocks(run_main, stack="prod")
    assert deployment.outputs["clusterKind"] == "gke"
    assert deployment.object("Rollout", "face-api")["metadata"]["namespace"] == "face-recognition"


def decrypted_application_secrets(stack: str) -> str:
    """`kiban:applicationSecrets` as the CLI hands it over: the object with its values decrypted."""
    stored = offline_application_secrets(stack_config(stack))
    return json.dumps({app: {key: f"value of {key}" for key in values} for app, values in stored.items()})


def test_secret_keys_from_the_cli_environment_are_honoured(monkeypatch):
    pem = (ROOT / "tests" / "fixtures" / "face.example.com.crt").read_text()
    certificate = {"host": "face.example.com", "tls": {"certificate": pem}}
    environment = cli_environment("dev", {"kiban:ingress": json.dumps(certificate), "kiban:tlsPrivateKey": "KEY"})
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(environment))

    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["kiban:applicationSecrets"]))
    with pytest.raises(ConfigError, match="kiban:tlsPrivateKey is stored in plain text"):
        run_under_mocks(run_main, stack="dev")

    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["kiban:tlsPrivateKey", "kiban:applicationSecrets"]))
    deployment = run_under_mocks(run_main, stack="dev")
    assert deployment.object("Secret", "face-recognition-tls")["type"] == "kubernetes.io/tls"
    values = rpc.unwrap_rpc_secret(deployment.object("Secret", "yomu-secrets")["stringData"])
    assert values["GOOGLE_CLIENT_SECRET"] == "value of GOOGLE_CLIENT_SECRET", "each application secret by its key"
