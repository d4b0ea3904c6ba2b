"""`CloudNativePg`: the CloudNativePG operator from its official chart, which runs the PostgreSQL clusters kiban
declares as `Cluster` resources (the shared store of the delivered applications)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.contracts.cluster import ClusterFacts
from components.contracts.postgres_operator import PostgresOperator
from components.kube.chart_operator import ApiServerAccess, ChartOperator, ChartOperatorArgs, OwnNamespace
from components.kube.network_access import AllowTraffic, AllowTrafficArgs
from components.contracts import namespaces
from versions import PinnedChart

NAMESPACE = namespaces.CNPG_SYSTEM
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
        operator = ChartOperator(
            resource_name,
            ChartOperatorArgs(
                chart=args.chart,
                release_name=RELEASE,
                namespace=NAMESPACE,
                cluster=args.cluster,
                pod_labels=OPERATOR_LABELS,
                own_namespace=OwnNamespace(part_of="cloudnative-pg"),
                api_server=ApiServerAccess(
                    "operator-to-api-server",
                    "the operator watches Clusters and manages their pods, claims, Services and Secrets",
                ),
                timeout_seconds=args.timeout_seconds,
            ),
            parent=self,
        )
        webhooks = AllowTraffic(
            f"{resource_name}-api-server-to-webhooks",
            AllowTrafficArgs(
                source=args.cluster.api_server.callers(),
                destination=operator.pods,
                ports=[WEBHOOK_PORT],
                description="the API server calls the operator's admission webhooks for every Cluster and Database",
            ),
            opts=operator.inside,
        )
        # Its pods can reach the API server, and be reached by it, from their first start.
        release = operator.install(chart_values(), after=[webhooks])
        self.operator = PostgresOperator(namespace=NAMESPACE, labels=OPERATOR_LABELS, crds=(release,))
        self.register_outputs({})
