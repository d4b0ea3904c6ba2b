"""`ArgoRollouts`: the Argo Rollouts controller from the official argo-helm chart, hardened like the rest."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.contracts.cluster import ClusterFacts
from components.contracts.delivery import BlueGreenDelivery, PreviewCheck
from components.kube.chart_operator import ApiServerAccess, ChartOperator, ChartOperatorArgs, OwnNamespace
from components.contracts import namespaces
from components.platform.rollouts_settings import RolloutsConfig
from versions import PinnedChart

NAMESPACE = namespaces.ARGO_ROLLOUTS
CONTROLLER_LABELS = {"app.kubernetes.io/name": "argo-rollouts", "app.kubernetes.io/component": "rollouts-controller"}
"""The labels the chart puts on the controller's pods (`argo-rollouts.selectorLabels` plus the component)."""
CONTROLLER_USER = 999
"""The uid the argo-rollouts image declares (`USER 999`)."""


def chart_values(config: RolloutsConfig) -> dict:
    """The values kiban passes to the `argo-rollouts` chart (every key exists in the pinned chart: a test checks)."""
    resources = config.controller_resources
    return {
        "installCRDs": True,
        "keepCRDs": True,  # deleting the CRDs would delete every Rollout with them
        "controller": {
            "replicas": config.controller_replicas,
            # From two replicas up, a node drain keeps one leader candidate running.
            "pdb": {"enabled": config.controller_replicas > 1, "maxUnavailable": 1},
            "resources": {
                "requests": {"cpu": resources.requests.cpu, "memory": resources.requests.memory},
                "limits": {"cpu": resources.limits.cpu, "memory": resources.limits.memory},
            },
        },
        "podSecurityContext": {
            "runAsNonRoot": True,
            "runAsUser": CONTROLLER_USER,
            "runAsGroup": CONTROLLER_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containerSecurityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        # kiban's Rollouts switch Services, not a traffic router or a mesh: none of the routers' RBAC is needed.
        "providerRBAC": {"enabled": False},
        "dashboard": {"enabled": False},
    }


@dataclass(frozen=True)
class ArgoRolloutsArgs:
    """Arguments of `ArgoRollouts`."""

    config: RolloutsConfig
    """Promotion policy, check and controller size (required)."""

    cluster: ClusterFacts
    """The cluster (Pod Security version, DNS) (required)."""

    chart: PinnedChart
    """The pinned `argo-rollouts` chart (required), from versions.json."""

    check_image: str
    """Image of the preview check's pods (required): a pinned busybox from versions.json."""

    timeout_seconds: int = 900
    """How long the Helm release may take. Default: 900."""


class ArgoRollouts(pulumi.ComponentResource):
    """The Argo Rollouts controller and its CRDs, in a `restricted`, default-deny namespace of its own.

    `delivery` is the contract the stateless services read: their Rollouts and AnalysisTemplates depend on the
    release that installs the CRDs, and the check's calls come from the controller's pods.
    """

    delivery: BlueGreenDelivery
    """How services release through this controller."""

    release_name: pulumi.Output[str]
    """Name of the Helm release."""

    def __init__(self, resource_name: str, args: ArgoRolloutsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:platform:ArgoRollouts", resource_name, None, opts)
        operator = ChartOperator(
            resource_name,
            ChartOperatorArgs(
                chart=args.chart,
                release_name="argo-rollouts",
                namespace=NAMESPACE,
                cluster=args.cluster,
                pod_labels=CONTROLLER_LABELS,
                own_namespace=OwnNamespace(part_of="argo-rollouts"),
                api_server=ApiServerAccess(
                    "controller-to-api-server",
                    "the controller watches Rollouts and manages their ReplicaSets, Services and Jobs",
                ),
                timeout_seconds=args.timeout_seconds,
            ),
            parent=self,
        )
        release = operator.install(chart_values(args.config))
        self.release_name = release.name
        analysis = args.config.analysis
        self.delivery = BlueGreenDelivery(
            auto_promote=args.config.auto_promote,
            scale_down_delay_seconds=args.config.scale_down_delay_seconds,
            check=PreviewCheck(
                count=analysis.count,
                interval_seconds=analysis.interval_seconds,
                failure_limit=analysis.failure_limit,
                timeout_seconds=analysis.timeout_seconds,
            ),
            check_image=args.check_image,
            controller_namespace=NAMESPACE,
            controller_labels=CONTROLLER_LABELS,
            crds=(release,),
        )
        self.register_outputs({"release_name": self.release_name})
