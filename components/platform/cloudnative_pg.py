"""`CloudNativePg`: the CloudNativePG operator from its official chart, which runs the PostgreSQL clusters kiban
declares as `Cluster` resources (the shared store of the delivered applications)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import ClusterFacts
from components.contracts.postgres_operator import PostgresOperator
from components.kube.namespace import PlatformNamespace, PlatformNamespaceArgs
from components.kube.network_access import AllowApiServer, AllowApiServerArgs, AllowTraffic, AllowTrafficArgs, PodGroup
from versions import PinnedChart

NAMESPACE = "cnpg-system"
RELEASE = "cnpg"
OPERATOR_LABELS = {"app.kubernetes.io/name": "cloudnative-pg", "app.kubernetes.io/instance": RELEASE}
"""The chart's selector labels on the operator's pods."""
WEBHOOK_PORT = 9443
"""Where the operator serves its admission webhooks (the chart's `webhook.port`)."""


def chart_values() -> dict:
    """The values kiban passes to the `cloudnative-pg` chart (every key exists in the pinned chart: a test checks).
    The chart's own security contexts already meet Pod Security `restricted`."""
    return {
        "crds": {"create": True},
        "config": {"clusterWide": True},  # the clusters live in their stores' namespaces, not the operator's
        "resources": {
            "requests": {"cpu": "50m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "512Mi"},
        },
    }


@dataclass(frozen=True)
class CloudNativePgArgs:
    """Arguments of `CloudNativePg`."""

    cluster: ClusterFacts
    """The cluster (required): Pod Security version, DNS, and where the API server is."""

    chart: PinnedChart
    """The pinned `cloudnative-pg` chart (required), from versions.json."""

    timeout_seconds: int = 900
    """How long the Helm release may take. Default: 900."""


class CloudNativePg(pulumi.ComponentResource):
    """The operator in its own `restricted`, default-deny namespace: it may call the API server, and the API server
    may call its admission webhooks (which every `Cluster` and `Database` passes through).

    The Helm release waits for the operator's Deployment to be ready, so the webhooks answer before any resource in
    `operator.crds` is created ("no endpoints available for service cnpg-webhook-service" otherwise).
    """

    operator: PostgresOperator
    """What a store needs of the operator: its CRDs' release and its pods."""

    def __init__(self, resource_name: str, args: CloudNativePgArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:platform:CloudNativePg", resource_name, None, opts)
        namespace = PlatformNamespace(
            f"{resource_name}-namespace",
            PlatformNamespaceArgs(name=NAMESPACE, cluster=args.cluster, part_of="cloudnative-pg"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        after_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        pods = PodGroup(namespace=NAMESPACE, labels=OPERATOR_LABELS)
        api = AllowApiServer(
            f"{resource_name}-operator-to-api-server",
            AllowApiServerArgs(
                pods=pods,
                api_server=args.cluster.api_server,
                description="the operator watches Clusters and manages their pods, claims, Services and Secrets",
            ),
            opts=after_namespace,
        )
        webhooks = AllowTraffic(
            f"{resource_name}-api-server-to-webhooks",
            AllowTrafficArgs(
                source=args.cluster.api_server.callers(),
                destination=pods,
                ports=[WEBHOOK_PORT],
                description="the API server calls the operator's admission webhooks for every Cluster and Database",
            ),
            opts=after_namespace,
        )
        release = k8s.helm.v3.Release(
            resource_name,
            k8s.helm.v3.ReleaseArgs(
                name=RELEASE,
                chart=args.chart.chart,
                version=args.chart.version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=args.chart.repository),
                namespace=NAMESPACE,
                values=chart_values(),
                timeout=args.timeout_seconds,
            ),
            # Its pods can reach the API server, and be reached by it, from their first start.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, api, webhooks]),
        )
        self.operator = PostgresOperator(namespace=NAMESPACE, labels=OPERATOR_LABELS, crds=(release,))
        self.register_outputs({})
