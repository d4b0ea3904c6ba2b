"""ArgoCd: the pinned chart in a restricted namespace, a generated admin password held only as a secret, HA in
prod, the in-cluster Secret carrying what kiban knows, repository credentials as Argo CD repository Secrets."""

from __future__ import annotations

import json

import pulumi
from pulumi.runtime import rpc

from components.platform.argocd import ArgoCd, ArgoCdArgs, chart_values
from stack_config.argocd import ArgoCdConfig
from tools.helm import unknown_value_keys
from versions import versions

CHART = versions().charts.argo_cd
APP = {"name": "yomu", "repoUrl": "https://github.com/example/yomu.git", "targetRevision": "v1.0.0", "namespace": "yomu"}


def declare_argocd(declare, facts, config: ArgoCdConfig, password=None):
    captured = {}

    def build(opts):
        captured["argocd"] = ArgoCd(
            "argocd",
            ArgoCdArgs(
                config=config, cluster=facts, chart=CHART, environment="prod", registry_endpoint="r.example",
                repository_password=pulumi.Output.secret(password) if password else None,
            ),
            opts,
        )
        pulumi.export("admin", captured["argocd"].admin_password)

    return declare(build), captured


def test_install_with_a_generated_admin_password_only_as_a_secret(declare, gke_gpu_facts):
    config = ArgoCdConfig.model_validate({"host": "argocd.example.com", "highAvailability": True}, by_name=False)
    deployment, captured = declare_argocd(declare, gke_gpu_facts, config)
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert (release.inputs["chart"], release.inputs["version"], release.inputs["namespace"]) == (CHART.chart, CHART.version, "argocd")
    values = release.inputs["values"]
    assert rpc.is_rpc_secret(values), "the bcrypt hash makes the values secret in state"
    values = rpc.unwrap_rpc_secret(values)
    (generator,) = deployment.of_type("random:index/randomPassword:RandomPassword")
    assert values["configs"]["secret"]["argocdServerAdminPassword"].startswith("$2a$"), "a bcrypt hash, never the password"
    assert rpc.is_rpc_secret(deployment.outputs["admin"])
    assert values["server"]["replicas"] == 2 and values["redis-ha"]["enabled"] is True
    assert values["server"]["ingress"]["hostname"] == "argocd.example.com"
    assert values["server"]["ingress"]["annotations"] == {"kubernetes.io/ingress.class": "gce"}
    assert captured["argocd"].url == "http://argocd.example.com"
    namespace = deployment.object("Namespace", "argocd")["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"


def test_values_are_keys_of_the_pinned_chart(gke_gpu_facts, k3s_gpu_facts):
    for config, facts in ((ArgoCdConfig(), k3s_gpu_facts), (ArgoCdConfig(high_availability=True, host="a.example.com"), gke_gpu_facts)):
        assert unknown_value_keys(CHART.archive, chart_values(config, facts, "$2a$10$x")) == []


def test_the_cluster_secret_says_what_kiban_knows(declare, gke_gpu_facts):
    deployment, _ = declare_argocd(declare, gke_gpu_facts, ArgoCdConfig())
    secret = deployment.object("Secret", "in-cluster")
    assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "cluster"
    annotations = secret["metadata"]["annotations"]
    assert annotations["kiban.dev/environment"] == "prod" and annotations["kiban.dev/gpu"] == "true"
    assert json.loads(annotations["kiban.dev/gpu-node-selector"]) == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert annotations["kiban.dev/ingress-class"] == "gce" and annotations["kiban.dev/registry"] == "r.example"


def test_repository_credentials_become_repository_secrets(declare, gke_gpu_facts):
    config = ArgoCdConfig.model_validate({"repositoryUsername": "bot", "applications": [APP]}, by_name=False)
    deployment, _ = declare_argocd(declare, gke_gpu_facts, config, password="token-123")
    secret = deployment.object("Secret", "repository-0")
    assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
    assert rpc.is_rpc_secret(secret["stringData"])
    data = rpc.unwrap_rpc_secret(secret["stringData"])
    assert data == {"type": "git", "url": APP["repoUrl"], "username": "bot", "password": "token-123"}
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert deployment.registration("Secret", "repository-0").urn in release.dependencies


def test_argocd_may_reach_the_api_server_git_and_itself(declare, k3s_gpu_facts):
    deployment, _ = declare_argocd(declare, k3s_gpu_facts, ArgoCdConfig())
    api = deployment.object("NetworkPolicy", "allow-argocd-to-api-server")["spec"]
    assert api["podSelector"] == {"matchLabels": {}} and api["egress"][0]["ports"][0]["port"] == 6443
    git = deployment.object("NetworkPolicy", "allow-repo-server-to-git")["spec"]
    assert git["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "argocd-repo-server"}
    assert {p["port"] for p in git["egress"][0]["ports"]} == {443, 22}
