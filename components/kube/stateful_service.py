"""`StatefulService`: a hardened service that keeps data: a StatefulSet with a claim per replica, its headless
Service, ServiceAccount and disruption budget. No autoscaler: kiban's stores are single writers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.kube.network_access import PodGroup
from components.kube.pod_spec import VolumeMount
from components.kube.service_base import TYPE, ServiceArgs, disruption_budget, service_parts, workload_options


@dataclass(frozen=True)
class DataVolume:
    """A persistent volume per replica (a StatefulSet volumeClaimTemplate)."""

    name: str
    mount_path: str
    size: str
    storage_class: pulumi.Input[str]


@dataclass(frozen=True, kw_only=True)
class StatefulServiceArgs(ServiceArgs):
    """Arguments of `StatefulService` (the shared ones are documented on `ServiceArgs`)."""

    data_volumes: Sequence[DataVolume]
    """Persistent volumes, one claim per replica each (required, at least one)."""

    retain_volumes: bool = True
    """Keep the claims when the StatefulSet is deleted or scaled down. Default: true."""


class StatefulService(pulumi.ComponentResource):
    """One data-keeping service of the platform, hardened by default. The Kubernetes objects are named
    `resource_name`; the claims `<volume>-<resource_name>-<ordinal>`."""

    service_name: pulumi.Output[str]
    """Name of the headless Service."""

    host: str
    """In-cluster DNS name of the Service."""

    pods: PodGroup
    """The service's pods, for network policies."""

    def __init__(self, resource_name: str, args: StatefulServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, resource_name, None, opts)
        if not args.data_volumes:
            raise ValueError(f"{resource_name}: a stateful service keeps data; give it at least one data volume")
        name = resource_name
        parts = service_parts(
            name,
            args,
            parent=self,
            headless=True,
            extra_mounts=[VolumeMount(v.name, v.mount_path) for v in args.data_volumes],
        )
        self.pods, self.host, self.service_name = parts.pods, parts.host, parts.service.metadata.name
        retention = "Retain" if args.retain_volumes else "Delete"
        k8s.apps.v1.StatefulSet(
            name,
            metadata=parts.metadata,
            spec=k8s.apps.v1.StatefulSetSpecArgs(
                service_name=parts.service.metadata.name,
                replicas=args.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=parts.selector),
                template=parts.template,
                update_strategy=k8s.apps.v1.StatefulSetUpdateStrategyArgs(type="RollingUpdate"),
                persistent_volume_claim_retention_policy=k8s.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                    when_deleted=retention, when_scaled="Retain"
                ),
                volume_claim_templates=[
                    k8s.core.v1.PersistentVolumeClaimArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(name=v.name, labels=parts.selector),
                        spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                            access_modes=["ReadWriteOnce"],
                            storage_class_name=v.storage_class,
                            resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": v.size}),
                        ),
                    )
                    for v in args.data_volumes
                ],
            ),
            opts=workload_options(args, self, opts),
        )
        disruption_budget(name, args, parts, self)
        self.register_outputs({"service_name": self.service_name, "host": self.host})
