"""The provider: no filesystem path or home directory in its inputs, a stable identity, mutable Secrets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import rpc

from components.clusters.kubernetes_access import KubeconfigNotFound, kubernetes_provider
from components.clusters.settings import K3sCluster
from tests.conftest import K3S_API
from tools.mock_engine import run_under_mocks

KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"


def provider_inputs(config: K3sCluster) -> dict:
    deployment = run_under_mocks(lambda: kubernetes_provider("p", config, config.kind, pulumi.ResourceOptions()))
    (provider,) = deployment.of_type("pulumi:providers:kubernetes")
    return provider.inputs


def no_path_anywhere(inputs: dict) -> None:
    text = json.dumps({k: rpc.unwrap_rpc_secret(v) if rpc.is_rpc_secret(v) else v for k, v in inputs.items()})
    assert str(Path.home()) not in text and "/.kube/" not in text, text


def test_a_named_kubeconfig_is_passed_as_secret_contents_never_as_its_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "homelab.yaml").write_text(KUBECONFIG)
    inputs = provider_inputs(K3sCluster(kind="k3s", kubeconfig="~/.kube/homelab.yaml", context="homelab", api_server=K3S_API))
    assert rpc.is_rpc_secret(inputs["kubeconfig"])
    assert rpc.unwrap_rpc_secret(inputs["kubeconfig"]) == KUBECONFIG
    no_path_anywhere(inputs)


def test_without_a_named_kubeconfig_nothing_of_this_machine_is_captured(monkeypatch):
    monkeypatch.setenv("KUBECONFIG", os.path.expanduser("~/.kube/somewhere-only-here.yaml"))
    inputs = provider_inputs(K3sCluster(kind="k3s", context="homelab", api_server=K3S_API))
    assert inputs.get("kubeconfig", "") == ""
    no_path_anywhere(inputs)


def test_identity_secrets_and_existing_objects():
    inputs = provider_inputs(K3sCluster(kind="k3s", context="homelab", api_server=K3S_API))
    assert inputs["context"] == "homelab"
    assert inputs["clusterIdentifier"] == "k3s/homelab", "a new kubeconfig updates the provider, never replaces it"
    assert inputs["enableSecretMutable"] == "true"
    assert inputs["upsertExistingObjects"] == "false"


def test_a_missing_kubeconfig_file_names_the_setting(tmp_path):
    # The config refuses a missing file at load; the provider still says so if the file goes between the two.
    config = K3sCluster.model_construct(kind="k3s", kubeconfig=str(tmp_path / "nope.yaml"), context="homelab",
                                        api_server=K3S_API, kubernetes_version="1.35")
    with pytest.raises(KubeconfigNotFound, match="kiban:cluster.kubeconfig: no file at"):
        kubernetes_provider("p", config, config.kind, pulumi.ResourceOptions())
