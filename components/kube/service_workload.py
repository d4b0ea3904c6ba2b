"""`ServiceWorkload`: one hardened, typed service (Deployment, or StatefulSet when it keeps data) with its
Service, ServiceAccount, and optional HorizontalPodAutoscaler and PodDisruptionBudget."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.delivery import BlueGreenDelivery
from components.contracts.labels import selector_labels, workload_labels
from components.kube.blue_green import ROLLOUTS_API, blue_green_strategy, preview_check_labels, preview_check_template
from components.kube.network_access import AllowTraffic, AllowTrafficArgs, PodGroup
from components.kube.pod_spec import (
    ContainerSpec,
    GpuRequest,
    RunAs,
    ScannerExemption,
    VolumeMount,
    pod_spec,
    scanner_annotations,
)
from stack_config.workloads import Autoscaling


def service_host(name: str, namespace: str) -> str:
    """In-cluster DNS name of the Service a `ServiceWorkload` named `name` creates in `namespace`."""
    return f"{name}.{namespace}.svc.cluster.local"


@dataclass(frozen=True)
class ServicePort:
    """A port the container listens on and the Service exposes (same number on both)."""

    name: str
    """IANA-style name (at most 15 characters); probes refer to it."""

    port: int


@dataclass(frozen=True)
class HttpCheck:
    path: str
    port: str


@dataclass(frozen=True)
class ExecCheck:
    command: tuple[str, ...]


@dataclass(frozen=True)
class TcpCheck:
    port: str


Check = HttpCheck | ExecCheck | TcpCheck


@dataclass(frozen=True)
class HealthChecks:
    """Readiness, liveness and (for slow starters) startup probes built from one check each."""

    readiness: Check
    liveness: Check
    startup: Check | None = None
    """Default: none. Set it when loading is slow (models, databases): liveness waits until it passes."""
    period_seconds: int = 10
    timeout_seconds: int = 5
    failure_threshold: int = 3
    startup_budget_seconds: int = 300
    """How long startup may take before the container is restarted. Default: 300s."""

    def _probe(self, check: Check, failure_threshold: int) -> k8s.core.v1.ProbeArgs:
        action: dict = {}
        if isinstance(check, HttpCheck):
            action["http_get"] = k8s.core.v1.HTTPGetActionArgs(path=check.path, port=check.port)
        elif isinstance(check, TcpCheck):
            action["tcp_socket"] = k8s.core.v1.TCPSocketActionArgs(port=check.port)
        else:
            action["exec_"] = k8s.core.v1.ExecActionArgs(command=list(check.command))
        return k8s.core.v1.ProbeArgs(
            period_seconds=self.period_seconds,
            timeout_seconds=self.timeout_seconds,
            failure_threshold=failure_threshold,
            **action,
        )

    def probes(self) -> dict[str, k8s.core.v1.ProbeArgs]:
        probes = {
            "readiness_probe": self._probe(self.readiness, self.failure_threshold),
            "liveness_probe": self._probe(self.liveness, self.failure_threshold),
        }
        if self.startup is not None:
            budget = max(1, -(-self.startup_budget_seconds // self.period_seconds))
            probes["startup_probe"] = self._probe(self.startup, budget)
        return probes


@dataclass(frozen=True)
class DataVolume:
    """A persistent volume per replica (a StatefulSet volumeClaimTemplate)."""

    name: str
    mount_path: str
    size: str
    storage_class: pulumi.Input[str]


@dataclass(frozen=True)
class ServiceWorkloadArgs:
    """Arguments of `ServiceWorkload`. Everything not listed as required has a secure, documented default."""

    namespace: str
    """Namespace (required)."""

    part_of: str
    """`app.kubernetes.io/part-of`, the system this belongs to (required)."""

    component: str
    """`app.kubernetes.io/component`, its role: `api`, `frontend`, `database`... (required)."""

    container: ContainerSpec
    """The main container (required); its name should be the workload's."""

    ports: Sequence[ServicePort]
    """Ports the container listens on and the Service exposes (required)."""

    health: HealthChecks
    """Probes (required: every kiban workload has readiness and liveness)."""

    replicas: int = 1
    """Replicas; the autoscaler's minimum with `autoscaling`. Default: 1. From 2 up a PodDisruptionBudget keeps
    all but one running during voluntary disruptions, and replicas spread across nodes."""

    autoscaling: Autoscaling | None = None
    """CPU-based HorizontalPodAutoscaler. Default: none."""

    data_volumes: Sequence[DataVolume] = ()
    """Persistent volumes; any makes this a StatefulSet with a headless Service. Default: none (a Deployment)."""

    retain_volumes: bool = True
    """Keep the claims when the StatefulSet is deleted or scaled down. Default: true."""

    protect: bool = False
    """Pulumi `protect` on the Deployment/StatefulSet: no delete or replace until unprotected. Default: false."""

    gpu: GpuRequest | None = None
    """Reserve GPUs for the main container and place the pod on GPU nodes. Default: none."""

    init_containers: Sequence[ContainerSpec] = ()
    """Run before the main container, with the same hardening. Default: none."""

    extra_volumes: Sequence[k8s.core.v1.VolumeArgs] = ()
    """More pod volumes (mounted through `ContainerSpec.mounts`). Default: none."""

    run_as: RunAs = field(default_factory=RunAs)
    """Identity of the processes. Default: uid/gid/fsGroup 10001."""

    service_annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations of the Service (e.g. GKE's NEG annotation). Default: none."""

    scanner_exemptions: Sequence[ScannerExemption] = ()
    """Scanner checks that do not apply, each with its reason. Default: none (plus the image-digest one when an
    image is pinned by tag)."""

    termination_grace_period_seconds: int | None = None
    """Default: Kubernetes' 30s."""

    strategy: Literal["RollingUpdate", "Recreate"] = "RollingUpdate"
    """Deployment strategy. Default: RollingUpdate with maxUnavailable 0 and maxSurge 1 (a new pod must be
    ready before an old one goes). `Recreate` is for single-writer volumes."""

    delivery: BlueGreenDelivery | None = None
    """Release new versions blue/green through Argo Rollouts: a `Rollout` in place of the Deployment, a preview
    Service `<name>-preview` beside the active one, and a check of the readiness endpoint on the preview before
    every promotion. Needs an HTTP readiness check. Default: none, a Deployment with `strategy`."""


class ServiceWorkload(pulumi.ComponentResource):
    """One service of the platform, hardened by default. The Kubernetes objects are named `resource_name`."""

    service_name: pulumi.Output[str]
    """Name of the Service."""

    host: str
    """In-cluster DNS name of the Service."""

    pods: PodGroup
    """The workload's pods, for network policies."""

    def __init__(self, resource_name: str, args: ServiceWorkloadArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:workload:ServiceWorkload", resource_name, None, opts)
        name = resource_name
        stateful = bool(args.data_volumes)
        labels = workload_labels(name, args.part_of, args.component)
        selector = selector_labels(name, args.part_of)
        self.pods = PodGroup(namespace=args.namespace, labels=selector)
        self.host = service_host(name, args.namespace)
        child = pulumi.ResourceOptions(parent=self)
        images = [c.image for c in (*args.init_containers, args.container)]
        annotations = scanner_annotations(images, args.scanner_exemptions)

        if args.gpu is None and args.container.gpus:
            raise ValueError(f"{name}: the container reserves GPUs; pass gpu=GpuRequest(...) to place it")
        container = args.container
        if args.gpu is not None:
            container = replace(container, gpus=args.gpu.count)
        container = replace(
            container,
            ports=[k8s.core.v1.ContainerPortArgs(name=p.name, container_port=p.port) for p in args.ports],
            probes=args.health.probes(),
            mounts=[*container.mounts, *(VolumeMount(v.name, v.mount_path) for v in args.data_volumes)],
        )

        account = k8s.core.v1.ServiceAccount(
            f"{name}-serviceaccount",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            automount_service_account_token=False,
            opts=child,
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name,
                namespace=args.namespace,
                labels=labels,
                annotations=dict(args.service_annotations) or None,
            ),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                cluster_ip="None" if stateful else None,
                selector=selector,
                ports=[
                    k8s.core.v1.ServicePortArgs(name=p.name, port=p.port, target_port=p.name, protocol="TCP")
                    for p in args.ports
                ],
            ),
            opts=child,
        )
        self.service_name = service.metadata.name

        template = k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
            spec=pod_spec(
                containers=[container],
                init_containers=args.init_containers,
                volumes=args.extra_volumes,
                run_as=args.run_as,
                service_account_name=account.metadata.name,
                gpu=args.gpu,
                topology_spread=selector if args.replicas > 1 else None,
                termination_grace_period_seconds=args.termination_grace_period_seconds,
            ),
        )
        metadata = k8s.meta.v1.ObjectMetaArgs(
            name=name, namespace=args.namespace, labels=labels, annotations=annotations
        )
        replicas = None if args.autoscaling else args.replicas
        workload_opts = pulumi.ResourceOptions(parent=self, protect=args.protect)
        api_version = "apps/v1"
        if stateful:
            workload = k8s.apps.v1.StatefulSet(
                name,
                metadata=metadata,
                spec=k8s.apps.v1.StatefulSetSpecArgs(
                    service_name=service.metadata.name,
                    replicas=replicas,
                    selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                    template=template,
                    update_strategy=k8s.apps.v1.StatefulSetUpdateStrategyArgs(type="RollingUpdate"),
                    persistent_volume_claim_retention_policy=(
                        k8s.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                            when_deleted="Retain", when_scaled="Retain"
                        )
                        if args.retain_volumes
                        else k8s.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                            when_deleted="Delete", when_scaled="Retain"
                        )
                    ),
                    volume_claim_templates=[
                        k8s.core.v1.PersistentVolumeClaimArgs(
                            metadata=k8s.meta.v1.ObjectMetaArgs(name=v.name, labels=selector),
                            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                                access_modes=["ReadWriteOnce"],
                                storage_class_name=v.storage_class,
                                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": v.size}),
                            ),
                        )
                        for v in args.data_volumes
                    ],
                ),
                opts=workload_opts,
            )
            kind = "StatefulSet"

        elif args.delivery is not None:
            workload = _blue_green_rollout(
                name, args, args.delivery, metadata=metadata, template=template, selector=selector, labels=labels,
                replicas=replicas, service=service, pods=self.pods, opts=workload_opts,
            )
            api_version, kind = ROLLOUTS_API, "Rollout"
        else:
            workload = k8s.apps.v1.Deployment(
                name,
                metadata=metadata,
                spec=k8s.apps.v1.DeploymentSpecArgs(
                    replicas=replicas,
                    selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                    template=template,
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
            kind = "Deployment"

        if args.autoscaling is not None:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-autoscaler",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
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
        if args.replicas >= 2:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-disruption-budget",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
                spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                    max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector)
                ),
                opts=child,
            )
        self.register_outputs({"service_name": self.service_name, "host": self.host})


def _blue_green_rollout(
    name: str,
    args: ServiceWorkloadArgs,
    delivery: BlueGreenDelivery,
    *,
    metadata: k8s.meta.v1.ObjectMetaArgs,
    template: k8s.core.v1.PodTemplateSpecArgs,
    selector: dict[str, str],
    labels: dict[str, str],
    replicas: int | None,
    service: k8s.core.v1.Service,
    pods: PodGroup,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """The Rollout that replaces the Deployment, with its preview Service and pre-promotion check."""
    check = args.health.readiness
    if not isinstance(check, HttpCheck):
        raise ValueError(f"{name}: a blue/green release checks the preview over HTTP; give it an HTTP readiness check")
    (check_port,) = [p.port for p in args.ports if p.name == check.port]
    child = pulumi.ResourceOptions(parent=opts.parent)
    preview = k8s.core.v1.Service(
        f"{name}-preview-service",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{name}-preview", namespace=args.namespace, labels=labels),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=selector,
            ports=[
                k8s.core.v1.ServicePortArgs(name=p.name, port=p.port, target_port=p.name, protocol="TCP")
                for p in args.ports
            ],
        ),
        opts=child,
    )
    analysis = preview_check_template(
        name,
        namespace=args.namespace,
        part_of=args.part_of,
        url=f"http://{service_host(f'{name}-preview', args.namespace)}:{check_port}{check.path}",
        delivery=delivery,
        labels=labels,
        opts=child,
    )
    AllowTraffic(
        f"{name}-preview-check",
        AllowTrafficArgs(
            source=PodGroup(namespace=args.namespace, labels=preview_check_labels(name, args.part_of)),
            destination=pods,
            ports=[check_port],
            description=f"the release check calls {name}'s preview before it is promoted",
        ),
        opts=child,
    )
    return k8s.apiextensions.CustomResource(
        name,
        api_version=ROLLOUTS_API,
        kind="Rollout",
        metadata=metadata,
        spec={
            "replicas": replicas,
            "selector": k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            "template": template,
            "revisionHistoryLimit": 5,
            "strategy": blue_green_strategy(
                active_service=service.metadata.name,
                preview_service=preview.metadata.name,
                check_template=f"{name}-preview-check",
                delivery=delivery,
            ),
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[*delivery.crds, analysis])),
    )
