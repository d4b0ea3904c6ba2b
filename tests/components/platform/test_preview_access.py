"""PreviewAccess: the homelab preview's account is bound to Kubernetes' built-in `view` role only (which writes
nothing and reads no Secret) and to no role of kiban's own, with a token Secret for its kubeconfig; declared by the
dev stack only."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.platform.preview_access import ACCOUNT, NAMESPACE, PreviewAccess
from tools.mock_engine import run_program, run_under_mocks


@pytest.fixture(scope="module")
def access():
    def program():
        provider = k8s.Provider("k8s", kubeconfig="{}")
        made = PreviewAccess("preview-access", opts=pulumi.ResourceOptions(provider=provider))
        pulumi.export("token", made.token_secret)

    return run_under_mocks(program)


def test_the_account_is_bound_to_view_and_nothing_else(access):
    (binding,) = access.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    assert binding.inputs["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
    assert binding.inputs["subjects"] == [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": NAMESPACE}]
    assert not access.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"), "no role of kiban's own"
    assert not access.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")


def test_its_token_secret_names_the_account(access):
    (secret,) = access.of_type("kubernetes:core/v1:Secret")
    assert secret.inputs["type"] == "kubernetes.io/service-account-token"
    assert secret.inputs["metadata"]["annotations"] == {"kubernetes.io/service-account.name": ACCOUNT}
    assert access.outputs["token"] == f"{NAMESPACE}/kiban-preview-token"
    (account,) = access.of_type("kubernetes:core/v1:ServiceAccount")
    assert account.inputs["automountServiceAccountToken"] is False, "no pod runs as it"


def test_only_the_homelab_has_it():
    assert run_program("dev").of_type("kiban:platform:PreviewAccess")
    assert not run_program("prod").of_type("kiban:platform:PreviewAccess"), "prod is previewed only by its deploy job"
