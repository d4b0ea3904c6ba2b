"""`ArgoCd`: Argo CD from the official argo-helm chart, in a `restricted`, default-deny namespace, with a generated
admin password, the cluster registered the gitops-bridge way, and its UI behind the cluster's ingress."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.contracts.certificates import CertificateAuthority
from components.contracts.cluster import ClusterFacts
from components.contracts.labels import platform_labels
from components.kube.chart_operator import ApiServerAccess, ChartOperator, ChartOperatorArgs, OwnNamespace
from components.contracts import namespaces
from components.platform.server_certificate import issue_server_certificate
from components.platform.argocd_settings import ArgoCdConfig
from versions import PinnedChart

NAMESPACE = namespaces.ARGOCD
RELEASE = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"
GIT_PORTS = (443, 22)
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
REDIS_CLIENTS = ("argocd-server", "argocd-repo-server", "argocd-application-controller")
"""The Argo CD parts that use Redis as their cache (the chart's own policy for its single Redis admits these)."""


def redis_ha_values(release: str = RELEASE) -> dict:
    """The redis-ha subchart with its own NetworkPolicies: off by default, and the namespace denies all ingress, so
    HAProxy would admit nobody and the Redis servers neither HAProxy nor each other (sentinel). On, the servers admit
    each other and HAProxy; HAProxy admits the Redis clients of Argo CD."""
    clients = [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": release}}}
        for name in REDIS_CLIENTS
    ]
    return {
        "enabled": True,
        "networkPolicy": {"enabled": True},
        "haproxy": {"networkPolicy": {"enabled": True, "ingressRules": [{"selectors": clients}]}},
    }


INGRESS_TLS_SECRET = "argocd-ingress-tls"
"""The certificate kiban's CA signs for `host` (not `argocd-server-tls`, which the server itself would serve)."""


def chart_values(
    config: ArgoCdConfig,
    cluster: ClusterFacts,
    admin_password_hash: pulumi.Input[str],
    admin_password_mtime: pulumi.Input[str] = "",
    tls_secret: str | None = None,
) -> dict:
    """The values kiban passes to the `argo-cd` chart (every key exists in the pinned chart: a test checks).

    `admin_password_mtime` is when the admin password was set: the chart otherwise writes the time of each render
    (`admin.passwordMtime: default (now)` in its argocd-secret), and Argo CD ends every session older than it, so
    each chart upgrade would log the admin out. `tls_secret` serves `host` over HTTPS only."""
    replicas = 2 if config.high_availability else 1
    values: dict = {
        "global": {"networkPolicy": {"create": True}},
        "dex": {"enabled": False},  # logins: the generated admin, or SSO configured later
        "notifications": {"enabled": False},
        "configs": {
            "params": {"server.insecure": True},  # TLS ends at the cluster's ingress
            "secret": {
                "argocdServerAdminPassword": admin_password_hash,
                "argocdServerAdminPasswordMtime": admin_password_mtime,
            },
        },
        "server": {"replicas": replicas},
        "repoServer": {"replicas": replicas},
        "applicationSet": {"replicas": replicas},
        "redis-ha": redis_ha_values() if config.high_availability else {"enabled": False},
        "redis": {"enabled": not config.high_availability},
    }
    if config.host:
        values["server"]["ingress"] = {
            "enabled": True,
            "hostname": config.host,
            "ingressClassName": cluster.ingress.ingress_class_name() or "",
            "annotations": cluster.ingress.annotations(tls=tls_secret is not None),
            "extraTls": [{"hosts": [config.host], "secretName": tls_secret}] if tls_secret else [],
        }
    return values


@dataclass(frozen=True)
class ArgoCdArgs:
    """Arguments of `ArgoCd`."""

    config: ArgoCdConfig
    """`kiban:argocd` (required)."""

    cluster: ClusterFacts
    """The cluster (required): Pod Security version, ingress, API server, and what the cluster Secret says of it."""

    chart: PinnedChart
    """The pinned `argo-cd` chart (required)."""

    environment: str
    """The stack's name, written on the cluster Secret (required)."""

    registry_endpoint: str | None = None
    """Where the cluster pulls kiban's images from, written on the cluster Secret. Default: unset."""

    certificate_authority: CertificateAuthority | None = None
    """kiban's CA, which signs the UI's certificate for `config.host` unless `config.tls_secret_name` names one
    (`opts` must then carry the `tls` provider). Default: none."""

    repository_password: pulumi.Output[str] | None = None
    """Password of `config.repository_username` for the applications' repositories (secret). Default: none."""

    timeout_seconds: int = 900
    """How long the Helm release may take. Default: 900."""


class ArgoCd(pulumi.ComponentResource):
    """Argo CD in the `argocd` namespace. Its CRDs come with the release: custom resources depend on `release`."""

    release: k8s.helm.v3.Release
    """The Helm release (what Applications and AppProjects depend on)."""

    url: str | None
    """The UI's URL, where it has a host."""

    admin_password: pulumi.Output[str]
    """The generated `admin` password (`Output.secret`); read it as docs/applications.md says."""

    def __init__(self, resource_name: str, args: ArgoCdArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:platform:ArgoCd", resource_name, None, opts)
        operator = ChartOperator(
            resource_name,
            ChartOperatorArgs(
                chart=args.chart,
                release_name=RELEASE,
                namespace=NAMESPACE,
                cluster=args.cluster,
                pod_labels={},  # the controllers, the server and the repo server all call the API
                own_namespace=OwnNamespace(part_of="argocd"),
                api_server=ApiServerAccess(
                    "to-api-server", "the controllers and the server read and write the cluster's objects"
                ),
                timeout_seconds=args.timeout_seconds,
            ),
            parent=self,
        )
        admin = random.RandomPassword(
            f"{resource_name}-admin-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        self.admin_password = pulumi.Output.secret(admin.result)
        password_record = self._password_record(resource_name, admin, operator.inside)
        tls_secret = self._ingress_tls(resource_name, args, operator.inside)
        repositories = self._repository_secrets(resource_name, args, operator.inside)
        self._cluster_secret(resource_name, args, operator.inside)
        self.release = operator.install(
            chart_values(
                args.config,
                args.cluster,
                pulumi.Output.secret(admin.bcrypt_hash),
                password_record.metadata.creation_timestamp,
                tls_secret,
            ),
            after=[*repositories, password_record],
        )
        self._network_policies(resource_name, operator)
        self.url = f"https://{args.config.host}" if args.config.host else None
        self.register_outputs({"url": self.url})

    def _password_record(
        self, resource_name: str, admin: random.RandomPassword, inside: pulumi.ResourceOptions
    ) -> k8s.core.v1.Secret:
        """When the admin password was set: the creation time of a record replaced with the password (its hash
        changes), which the chart writes as `admin.passwordMtime`."""
        return k8s.core.v1.Secret(
            f"{resource_name}-admin-password-record",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="argocd-admin-password-record", namespace=NAMESPACE, labels=platform_labels("argocd"),
                annotations={"kiban.dev/purpose": "its creation time is admin.passwordMtime: when the password was set"},
            ),
            string_data={"bcryptHash": pulumi.Output.secret(admin.bcrypt_hash)},
            opts=pulumi.ResourceOptions.merge(
                inside, pulumi.ResourceOptions(replace_on_changes=["stringData"], delete_before_replace=True)
            ),
        )

    def _repository_secrets(
        self, resource_name: str, args: ArgoCdArgs, inside: pulumi.ResourceOptions
    ) -> list[k8s.core.v1.Secret]:
        """The applications' repository credentials, one Secret per repository, labelled as Argo CD's declarative
        setup reads them; none unless `repositoryUsername` (and its secret password) is set."""
        if not args.config.repository_username or args.repository_password is None:
            return []
        password, username = args.repository_password, args.config.repository_username
        return [
            k8s.core.v1.Secret(
                f"{resource_name}-repository-{index}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"repository-{index}",
                    namespace=NAMESPACE,
                    labels={**platform_labels("argocd"), "argocd.argoproj.io/secret-type": "repository"},
                ),
                string_data=pulumi.Output.secret(
                    password.apply(lambda p, url=url: {"type": "git", "url": url, "username": username, "password": p})
                ),
                opts=inside,
            )
            for index, url in enumerate(sorted({a.repo_url for a in args.config.applications}))
        ]

    def _cluster_secret(self, resource_name: str, args: ArgoCdArgs, inside: pulumi.ResourceOptions) -> None:
        """The cluster Argo CD runs in, registered the gitops-bridge way: what kiban knows of it, as annotations an
        application's ApplicationSet or Helm values can read."""
        gpu = args.cluster.gpu
        k8s.core.v1.Secret(
            f"{resource_name}-in-cluster",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="in-cluster",
                namespace=NAMESPACE,
                labels={
                    **platform_labels("argocd"), "argocd.argoproj.io/secret-type": "cluster",
                    "environment": args.environment,
                },
                annotations={
                    "kiban.dev/environment": args.environment,
                    "kiban.dev/cluster-kind": args.cluster.kind,
                    "kiban.dev/gpu": json.dumps(gpu is not None),
                    "kiban.dev/gpu-node-selector": json.dumps(dict(gpu.node_selector) if gpu else {}),
                    "kiban.dev/ingress-class": args.cluster.ingress.class_name,
                    **({"kiban.dev/registry": args.registry_endpoint} if args.registry_endpoint else {}),
                },
            ),
            string_data=pulumi.Output.secret({"name": "in-cluster", "server": IN_CLUSTER}),
            opts=inside,
        )

    def _network_policies(self, resource_name: str, operator: ChartOperator) -> None:
        """Beyond the namespace's default-deny and the API server: Argo CD's parts reach each other, and the repo
        server clones the applications' repositories from outside the private ranges."""
        labels = platform_labels("argocd")
        k8s.networking.v1.NetworkPolicy(
            f"{resource_name}-within",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="allow-argocd-within", namespace=NAMESPACE, labels=labels,
                annotations={"kiban.dev/allows": "Argo CD's parts call each other (redis, repo server, server)"},
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Egress"],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[operator.pods.peer()])],
            ),
            opts=operator.inside,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{resource_name}-repo-server-to-git",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="allow-repo-server-to-git", namespace=NAMESPACE, labels=labels,
                annotations={"kiban.dev/allows": "the repo server clones the applications' repositories"},
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/name": "argocd-repo-server"}),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[k8s.networking.v1.NetworkPolicyPeerArgs(
                            ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0", except_=list(PRIVATE_RANGES))
                        )],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p) for p in GIT_PORTS],
                    )
                ],
            ),
            opts=operator.inside,
        )

    def _ingress_tls(self, resource_name: str, args: ArgoCdArgs, inside: pulumi.ResourceOptions) -> str | None:
        """The TLS Secret the UI's Ingress serves `host` with: the configured one, or one kiban's CA signs."""
        host = args.config.host
        if host is None:
            return None
        if args.config.tls_secret_name is not None:
            return args.config.tls_secret_name
        if args.certificate_authority is None:
            raise ValueError(f"{resource_name}: argocd.host needs argocd.tlsSecretName or kiban's CA to sign one")
        issued = issue_server_certificate(
            f"{resource_name}-ingress", args.certificate_authority, common_name=host, dns_names=[host],
            opts=pulumi.ResourceOptions(parent=self),
        )
        k8s.core.v1.Secret(
            f"{resource_name}-ingress-tls",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=INGRESS_TLS_SECRET, namespace=NAMESPACE, labels=platform_labels("argocd")
            ),
            type="kubernetes.io/tls",
            string_data={"tls.crt": issued.certificate, "tls.key": issued.private_key},
            opts=inside,
        )
        return INGRESS_TLS_SECRET
