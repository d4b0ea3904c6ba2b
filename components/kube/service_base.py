"""What a stateless and a stateful service share: their arguments, their ServiceAccount and Service, their hardened
pod template, and their disruption budget. `StatelessService` and `StatefulService` differ only in the workload
object they create around it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import ServiceExposure
from components.contracts.labels import selector_labels, workload_labels
from components.kube.backend_config import backend_config, backend_config_annotation
from components.kube.health_checks import HealthChecks
from components.kube.network_access import PodGroup
from components.contracts.exemptions import ScannerExemption, scanner_annotations
from components.kube.pod_spec import (
    ContainerSpec,
    GpuRequest,
    RunAs,
    VolumeMount,
    pod_spec,
)

TYPE = "kiban:workload:ServiceWorkload"
"""The type token of both service components: it has been part of every service's URN (and of the URNs of
everything below it) since the first deploy, so the split into two classes kept it."""


IN_CLUSTER = ServiceExposure()
"""A plain ClusterIP Service, reached from inside the cluster (and by an ingress that reaches pods directly)."""


def service_host(name: str, namespace: str) -> str:
    """In-cluster DNS name of the Service a service named `name` creates in `namespace`."""
    return f"{name}.{namespace}.svc.cluster.local"


@dataclass(frozen=True)
class ServicePort:
    """A port the container listens on and the Service exposes (same number on both)."""

    name: str
    """IANA-style name (at most 15 characters); probes refer to it."""

    port: int


@dataclass(frozen=True, kw_only=True)
class ServiceArgs:
    """Arguments every service takes. Everything not listed as required has a secure, documented default."""

    namespace: str
    """Namespace (required)."""

    part_of: str
    """`app.kubernetes.io/part-of`, the system this belongs to (required)."""

    component: str
    """`app.kubernetes.io/component`, its role: `api`, `frontend`, `database`... (required)."""

    container: ContainerSpec
    """The main container (required); its name should be the service's."""

    ports: Sequence[ServicePort]
    """Ports the container listens on and the Service exposes (required)."""

    health: HealthChecks
    """Probes (required: every kiban service has readiness and liveness)."""

    replicas: int = 1
    """Replicas (the autoscaler's minimum where there is one). Default: 1. From 2 up a PodDisruptionBudget keeps
    all but one running during voluntary disruptions, and replicas spread across nodes."""

    protect: bool = False
    """Pulumi `protect` on the workload object: no delete or replace until unprotected. Default: false."""

    gpu: GpuRequest | None = None
    """Reserve GPUs for the main container and place the pod on GPU nodes. Default: none."""

    init_containers: Sequence[ContainerSpec] = ()
    """Run before the main container, with the same hardening. Default: none."""

    extra_volumes: Sequence[k8s.core.v1.VolumeArgs] = ()
    """More pod volumes (mounted through `ContainerSpec.mounts`). Default: none."""

    run_as: RunAs = field(default_factory=RunAs)
    """Identity of the processes. Default: uid/gid/fsGroup 10001."""

    exposure: ServiceExposure = field(default_factory=ServiceExposure)
    """How the Service is written for the cluster's ingress when an Ingress routes to it (`IngressFacts.exposure()`:
    GKE's NodePort with its `cloud.google.com/neg` annotation). Default: a plain ClusterIP."""

    scanner_exemptions: Sequence[ScannerExemption] = ()
    """Scanner checks that do not apply, each with its reason. Default: none (plus the image-digest one when an
    image is pinned by tag)."""

    termination_grace_period_seconds: int | None = None
    """Default: Kubernetes' 30s."""

    ready_timeout_minutes: int | None = None
    """How long `pulumi up` waits for the workload to become ready, on create and update. Default: Pulumi's 10
    minutes."""

    restart_on: Sequence[pulumi.Input[str]] = ()
    """Values the pods read only when they start (e.g. `GeneratedSecret.checksum`): a change of any restarts them,
    through a checksum annotation on the pod template, as Helm charts do with `checksum/secret`. Default: none."""

    image_pull_secrets: Sequence[pulumi.Input[str]] = ()
    """Names of the `kubernetes.io/dockerconfigjson` Secrets that let the pods pull from a private registry.
    Default: none."""


@dataclass(frozen=True)
class ServiceParts:
    """The objects and values both kinds of service build the same way."""

    labels: dict[str, str]
    selector: dict[str, str]
    pods: PodGroup
    host: str
    service: k8s.core.v1.Service
    template: k8s.core.v1.PodTemplateSpecArgs
    metadata: k8s.meta.v1.ObjectMetaArgs
    """Metadata of the workload object (Deployment, Rollout or StatefulSet), scanner exemptions included."""


def service_parts(
    name: str,
    args: ServiceArgs,
    *,
    parent: pulumi.Resource,
    headless: bool = False,
    extra_mounts: Sequence[VolumeMount] = (),
) -> ServiceParts:
    """The ServiceAccount, the Service (headless for a StatefulSet) and the pod template of service `name`."""
    labels = workload_labels(name, args.part_of, args.component)
    selector = selector_labels(name, args.part_of)
    child = pulumi.ResourceOptions(parent=parent)
    container = replace(
        args.container,
        ports=[k8s.core.v1.ContainerPortArgs(name=p.name, container_port=p.port) for p in args.ports],
        probes=args.health.probes(),
        mounts=[*args.container.mounts, *extra_mounts],
    )
    account = k8s.core.v1.ServiceAccount(
        f"{name}-serviceaccount",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
        automount_service_account_token=False,
        opts=child,
    )
    service = cluster_service(
        f"{name}-service", name, args, labels=labels, selector=selector, headless=headless, parent=parent,
        exposure=args.exposure,
    )
    template = k8s.core.v1.PodTemplateSpecArgs(
        metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations=restart_annotations(args.restart_on)),
        spec=pod_spec(
            containers=[container],
            init_containers=args.init_containers,
            volumes=args.extra_volumes,
            run_as=args.run_as,
            service_account_name=account.metadata.name,
            gpu=args.gpu,
            topology_spread=selector if args.replicas > 1 else None,
            termination_grace_period_seconds=args.termination_grace_period_seconds,
            image_pull_secrets=args.image_pull_secrets,
        ),
    )
    images = [c.image for c in (*args.init_containers, args.container)]
    return ServiceParts(
        labels=labels,
        selector=selector,
        pods=PodGroup(namespace=args.namespace, labels=selector),
        host=service_host(name, args.namespace),
        service=service,
        template=template,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name,
            namespace=args.namespace,
            labels=labels,
            annotations=scanner_annotations(images, args.scanner_exemptions),
        ),
    )


def restart_annotations(values: Sequence[pulumi.Input[str]]) -> dict[str, pulumi.Input[str]] | None:
    """`kiban.dev/restart-checksum`: one digest of `values`, so a changed value changes the pod template."""
    if not values:
        return None
    digest = pulumi.Output.all(*values).apply(lambda v: hashlib.sha256("\0".join(v).encode()).hexdigest())
    return {"kiban.dev/restart-checksum": digest}


def workload_options(
    args: ServiceArgs, parent: pulumi.Resource, component_opts: pulumi.ResourceOptions | None
) -> pulumi.ResourceOptions:
    """Options of the workload object: protection, how long to wait for it, and what it waits for: whatever the
    service as a whole was told to depend on (a component's `depends_on` does not reach its children)."""
    minutes = args.ready_timeout_minutes
    return pulumi.ResourceOptions(
        parent=parent,
        protect=args.protect,
        custom_timeouts=pulumi.CustomTimeouts(create=f"{minutes}m", update=f"{minutes}m") if minutes else None,
        depends_on=(component_opts.depends_on if component_opts else None) or None,
    )


def cluster_service(
    resource_name: str,
    name: str,
    args: ServiceArgs,
    *,
    labels: Mapping[str, str],
    selector: Mapping[str, str],
    parent: pulumi.Resource,
    headless: bool = False,
    exposure: ServiceExposure = IN_CLUSTER,
) -> k8s.core.v1.Service:
    """A Service `name` in front of the pods `selector` picks, on every port of `args.ports`: a ClusterIP, or what
    `exposure` says (a NodePort for an ingress that reaches pods through the nodes), with the BackendConfig its
    `health_check` asks for (named `name` too, so the load balancer checks the readiness probe's path)."""
    if headless and exposure.type != "ClusterIP":
        raise ValueError(f"{name}: a headless Service has no node port; only a ClusterIP Service can be headless")
    annotations = dict(exposure.annotations)
    depends_on: list[pulumi.Resource] = []
    if exposure.health_check is not None:
        # Before the Service that names it: ingress-gce fails the backend's sync while the name does not resolve.
        depends_on.append(
            backend_config(
                f"{name}-backend-config", name, namespace=args.namespace, labels=labels,
                health_check=exposure.health_check, readiness=args.health.readiness, parent=parent,
            )
        )
        annotations |= backend_config_annotation(name)
    return k8s.core.v1.Service(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name, namespace=args.namespace, labels=dict(labels), annotations=annotations or None
        ),
        spec=k8s.core.v1.ServiceSpecArgs(
            type=exposure.type,
            external_traffic_policy=exposure.external_traffic_policy,
            cluster_ip="None" if headless else None,
            selector=dict(selector),
            ports=[
                k8s.core.v1.ServicePortArgs(name=p.name, port=p.port, target_port=p.name, protocol="TCP")
                for p in args.ports
            ],
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on or None),
    )


def disruption_budget(name: str, args: ServiceArgs, parts: ServiceParts, parent: pulumi.Resource) -> None:
    """From two replicas up: at most one pod down during voluntary disruptions (drains, upgrades)."""
    if args.replicas >= 2:
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-disruption-budget",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=parts.labels),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=parts.selector)
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )
