"""`StatelessService`: a hardened service whose pods keep nothing: a Deployment, or with a delivery contract an
Argo Rollouts blue/green `Rollout`; its Service, ServiceAccount, optional autoscaler and disruption budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.delivery import BlueGreenDelivery
from components.kube.blue_green import ROLLOUTS_API, blue_green_strategy, preview_check_labels, preview_check_template
from components.kube.health_checks import HttpCheck
from components.kube.network_access import AllowTraffic, AllowTrafficArgs, PodGroup
from components.kube.service_base import (
    TYPE,
    ServiceArgs,
    ServiceParts,
    cluster_service,
    disruption_budget,
    service_host,
    service_parts,
    workload_options,
)
from components.contracts.workloads import Autoscaling


@dataclass(frozen=True, kw_only=True)
class StatelessServiceArgs(ServiceArgs):
    """Arguments of `StatelessService` (the shared ones are documented on `ServiceArgs`)."""

    autoscaling: Autoscaling | None = None
    """CPU-based HorizontalPodAutoscaler between `replicas` and `autoscaling.max_replicas`. Default: none."""

    strategy: Literal["RollingUpdate", "Recreate"] = "RollingUpdate"
    """How a Deployment replaces its pods. Default: RollingUpdate with maxUnavailable 0 and maxSurge 1 (a new pod
    must be ready before an old one goes). Not used with `delivery`."""

    delivery: BlueGreenDelivery | None = None
    """Release new versions blue/green through Argo Rollouts: a `Rollout` in place of the Deployment, a preview
    Service `<name>-preview` beside the active one, and a check of the readiness endpoint on the preview before
    every promotion. Needs an HTTP readiness check. Default: none, a Deployment with `strategy`."""


class StatelessService(pulumi.ComponentResource):
    """One stateless service of the platform, hardened by default. The Kubernetes objects are named
    `resource_name`."""

    service_name: pulumi.Output[str]
    """Name of the (active) Service."""

    host: str
    """In-cluster DNS name of the Service."""

    pods: PodGroup
    """The service's pods, for network policies."""

    def __init__(self, resource_name: str, args: StatelessServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, resource_name, None, opts)
        name = resource_name
        parts = service_parts(name, args, parent=self)
        self.pods, self.host, self.service_name = parts.pods, parts.host, parts.service.metadata.name
        replicas = None if args.autoscaling else args.replicas  # the autoscaler owns the count
        workload_opts = workload_options(args, self, opts)
        if args.delivery is not None:
            workload: pulumi.CustomResource = _blue_green_rollout(self, name, args, args.delivery, parts, replicas, workload_opts)
            api_version, kind = ROLLOUTS_API, "Rollout"
        else:
            workload = k8s.apps.v1.Deployment(
                name,
                metadata=parts.metadata,
                spec=k8s.apps.v1.DeploymentSpecArgs(
                    replicas=replicas,
                    selector=k8s.meta.v1.LabelSelectorArgs(match_labels=parts.selector),
                    template=parts.template,
                    strategy=(
                        k8s.apps.v1.DeploymentStrategyArgs(
                            type="RollingUpdate",
                            rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1),
                        )
                        if args.strategy == "RollingUpdate"
                        else k8s.apps.v1.DeploymentStrategyArgs(type="Recreate")
                    ),
                    revision_history_limit=5,
                ),
                opts=workload_opts,
            )
            api_version, kind = "apps/v1", "Deployment"

        if args.autoscaling is not None:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-autoscaler",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=parts.labels),
                spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                    scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                        api_version=api_version, kind=kind, name=name
                    ),
                    min_replicas=args.replicas,
                    max_replicas=args.autoscaling.max_replicas,
                    metrics=[
                        k8s.autoscaling.v2.MetricSpecArgs(
                            type="Resource",
                            resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                                name="cpu",
                                target=k8s.autoscaling.v2.MetricTargetArgs(
                                    type="Utilization", average_utilization=args.autoscaling.cpu_utilization
                                ),
                            ),
                        )
                    ],
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[workload]),
            )
        disruption_budget(name, args, parts, self)
        self.register_outputs({"service_name": self.service_name, "host": self.host})


def _blue_green_rollout(
    parent: pulumi.Resource,
    name: str,
    args: StatelessServiceArgs,
    delivery: BlueGreenDelivery,
    parts: ServiceParts,
    replicas: int | None,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """The Rollout that replaces the Deployment, with its preview Service and pre-promotion check."""
    check = args.health.readiness
    if not isinstance(check, HttpCheck):
        raise ValueError(f"{name}: a blue/green release checks the preview over HTTP; give it an HTTP readiness check")
    (check_port,) = [p.port for p in args.ports if p.name == check.port]
    preview = cluster_service(
        f"{name}-preview-service", f"{name}-preview", args, labels=parts.labels, selector=parts.selector, parent=parent
    )
    child = pulumi.ResourceOptions(parent=parent)
    analysis = preview_check_template(
        name,
        namespace=args.namespace,
        part_of=args.part_of,
        url=f"http://{service_host(f'{name}-preview', args.namespace)}:{check_port}{check.path}",
        delivery=delivery,
        labels=parts.labels,
        opts=child,
    )
    AllowTraffic(
        f"{name}-preview-check",
        AllowTrafficArgs(
            source=PodGroup(namespace=args.namespace, labels=preview_check_labels(name, args.part_of)),
            destination=parts.pods,
            ports=[check_port],
            description=f"the release check calls {name}'s preview before it is promoted",
        ),
        opts=child,
    )
    return k8s.apiextensions.CustomResource(
        name,
        api_version=ROLLOUTS_API,
        kind="Rollout",
        metadata=parts.metadata,
        spec={
            "replicas": replicas,
            "selector": k8s.meta.v1.LabelSelectorArgs(match_labels=parts.selector),
            "template": parts.template,
            "revisionHistoryLimit": 5,
            "strategy": blue_green_strategy(
                active_service=parts.service.metadata.name,
                preview_service=preview.metadata.name,
                check_template=f"{name}-preview-check",
                delivery=delivery,
            ),
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[*delivery.crds, analysis])),
    )
