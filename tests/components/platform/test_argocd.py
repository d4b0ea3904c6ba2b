"""ArgoCd: the pinned chart in a restricted namespace, a generated admin password held only as a secret, HA in
prod, the in-cluster Secret carrying what kiban knows, repository credentials as Argo CD repository Secrets."""

from __future__ import annotations

import json

import pulumi
import pytest
from pulumi.runtime import rpc

import base64

import pulumi_tls

from components.contracts.certificates import CertificateAuthority
from components.platform.argocd import NAMESPACE, RELEASE, ArgoCd, ArgoCdArgs, chart_values
from components.platform.argocd_settings import ArgoCdConfig
from tests.network_reach import Pod, ingress_admits, pods_of
from tools.helm import template, unknown_value_keys
from tools.mock_engine import CREATED
from versions import versions

CHART = versions().charts.argo_cd
APP = {"name": "yomu", "repoUrl": "https://github.com/example/yomu.git", "targetRevision": "v1.0.0", "namespace": "yomu"}


def kiban_ca() -> CertificateAuthority:
    """kiban's CA as the build PC's registry hands it on (made inside the program under test)."""
    return CertificateAuthority(
        certificate=pulumi.Output.from_input("-----BEGIN CERTIFICATE-----\nkiban CA\n-----END CERTIFICATE-----\n"),
        private_key=pulumi.Output.secret("-----BEGIN PRIVATE KEY-----\nkiban CA key\n-----END PRIVATE KEY-----\n"),
    )


def declare_argocd(declare, facts, config: ArgoCdConfig, password=None, with_ca=False):
    captured = {}

    def build(opts):
        authority = kiban_ca() if with_ca else None
        if authority is not None:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[pulumi_tls.Provider("tls")]))
        captured["argocd"] = ArgoCd(
            "argocd",
            ArgoCdArgs(
                config=config, cluster=facts, chart=CHART, environment="prod", registry_endpoint="r.example",
                certificate_authority=authority,
                repository_password=pulumi.Output.secret(password) if password else None,
            ),
            opts,
        )
        pulumi.export("admin", captured["argocd"].admin_password)

    return declare(build), captured


def test_install_with_a_generated_admin_password_only_as_a_secret(declare, gke_gpu_facts):
    config = ArgoCdConfig.model_validate(
        {"host": "argocd.example.com", "tlsSecretName": "argocd-example-com", "highAvailability": True}, by_name=False
    )
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
    assert values["server"]["ingress"]["annotations"] == {
        "kubernetes.io/ingress.class": "gce", "kubernetes.io/ingress.allow-http": "false"
    }
    assert values["server"]["ingress"]["extraTls"] == [{"hosts": ["argocd.example.com"], "secretName": "argocd-example-com"}]
    assert captured["argocd"].url == "https://argocd.example.com"
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


@pytest.mark.parametrize("high_availability", [True, False])
def test_every_redis_client_reaches_redis_through_the_default_deny(declare, gke_gpu_facts, high_availability):
    """`helm template` of the pinned chart with kiban's values, and kiban's own policies: the Argo CD parts that use
    Redis reach it, and in HA HAProxy reaches the Redis servers, which reach each other (sentinel on 26379). The
    redis-ha subchart's own policies are off by default: without them, nothing admits HAProxy or the servers."""
    config = ArgoCdConfig(high_availability=high_availability)
    deployment, _ = declare_argocd(declare, gke_gpu_facts, config)
    objects = template(
        CHART.archive, release=RELEASE, namespace=NAMESPACE, values=chart_values(config, gke_gpu_facts, "$2a$10$x"),
        kube_version=gke_gpu_facts.kubernetes_version,
    )
    policies = [*deployment.objects("NetworkPolicy"), *(o for o in objects if o["kind"] == "NetworkPolicy")]
    assert any(p["metadata"]["name"] == "default-deny" for p in policies)
    pods = pods_of(objects, NAMESPACE)
    clients = [pods[name] for name in ("argocd-server", "argocd-repo-server", "argocd-application-controller")]
    if high_availability:
        proxy, servers = pods["argocd-redis-ha-haproxy"], pods["argocd-redis-ha-server"]
        blocked = [f"{c.labels['app.kubernetes.io/name']} -> haproxy" for c in clients if not ingress_admits(policies, c, proxy, 6379)]
        blocked += [f"haproxy -> server:{p}" for p in (6379,) if not ingress_admits(policies, proxy, servers, p)]
        blocked += [f"server -> server:{p}" for p in (6379, 26379) if not ingress_admits(policies, servers, servers, p)]
        outsider = Pod(NAMESPACE, {"app.kubernetes.io/name": "argocd-dex-server"})
        assert not ingress_admits(policies, outsider, proxy, 6379), "only Redis's clients"
    else:
        redis = pods["argocd-redis"]
        blocked = [f"{c.labels['app.kubernetes.io/name']} -> redis" for c in clients if not ingress_admits(policies, c, redis, 6379)]
    assert not blocked, blocked


def test_the_admin_password_time_is_when_it_was_set_not_each_render(declare, k3s_gpu_facts):
    # The chart writes `admin.passwordMtime: default (now)`: a time per render, so every upgrade would end the
    # admin's session. kiban passes the creation time of a record that is replaced with the password.
    deployment, _ = declare_argocd(declare, k3s_gpu_facts, ArgoCdConfig())
    record = deployment.registration("Secret", "argocd-admin-password-record")
    assert record.replace_on_changes == ("stringData",) and record.delete_before_replace
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert record.urn in release.dependencies
    values = rpc.unwrap_rpc_secret(release.inputs["values"])
    assert values["configs"]["secret"]["argocdServerAdminPasswordMtime"] == CREATED
    (argocd_secret,) = [
        o for o in template(CHART.archive, release="argocd", namespace="argocd", values=values, kube_version="1.35")
        if o["kind"] == "Secret" and o["metadata"]["name"] == "argocd-secret"
    ]
    assert base64.b64decode(argocd_secret["data"]["admin.passwordMtime"]).decode() == CREATED


def test_the_ui_on_the_lan_gets_a_certificate_from_kibans_ca_and_https_only(declare, k3s_gpu_facts):
    config = ArgoCdConfig.model_validate({"host": "argocd.homelab.internal"}, by_name=False)
    deployment, captured = declare_argocd(declare, k3s_gpu_facts, config, with_ca=True)
    (certificate,) = deployment.of_type("tls:index/locallySignedCert:LocallySignedCert")
    assert certificate.inputs["caCertPem"] == "-----BEGIN CERTIFICATE-----\nkiban CA\n-----END CERTIFICATE-----\n"
    (request,) = deployment.of_type("tls:index/certRequest:CertRequest")
    assert request.inputs["dnsNames"] == ["argocd.homelab.internal"]
    secret = deployment.object("Secret", "argocd-ingress-tls")
    assert secret["type"] == "kubernetes.io/tls" and rpc.is_rpc_secret(secret["stringData"])
    assert set(rpc.unwrap_rpc_secret(secret["stringData"])) == {"tls.crt", "tls.key"}
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    ingress = rpc.unwrap_rpc_secret(release.inputs["values"])["server"]["ingress"]
    assert ingress["extraTls"] == [{"hosts": ["argocd.homelab.internal"], "secretName": "argocd-ingress-tls"}]
    assert ingress["annotations"] == {"traefik.ingress.kubernetes.io/router.entrypoints": "websecure"}
    assert captured["argocd"].url == "https://argocd.homelab.internal"
    rendered = template(CHART.archive, release="argocd", namespace="argocd",
                        values=rpc.unwrap_rpc_secret(release.inputs["values"]), kube_version="1.35")
    (ui,) = [o for o in rendered if o["kind"] == "Ingress"]
    assert ui["spec"]["tls"] == [{"hosts": ["argocd.homelab.internal"], "secretName": "argocd-ingress-tls"}]
