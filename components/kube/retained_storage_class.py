"""`RetainedStorageClass`: a StorageClass whose volumes outlive their claims."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import ClusterFacts
from components.contracts.labels import MANAGED_BY

NAME = "kiban-retain"


@dataclass(frozen=True)
class RetainedStorageClassArgs:
    """Arguments of `RetainedStorageClass`."""

    cluster: ClusterFacts
    """The cluster; its provisioner backs the class."""


class RetainedStorageClass(pulumi.ComponentResource):
    """`kiban-retain`: the cluster's provisioner with `reclaimPolicy: Retain`.

    Deleting a claim (by hand, by a StatefulSet, by `pulumi destroy`) leaves its PersistentVolume and the data on
    it; an operator rebinds or deletes it deliberately. Binding waits for the first consumer so that zonal and
    node-local volumes are created where the pod runs.
    """

    name: pulumi.Output[str]
    """Name of the StorageClass."""

    def __init__(self, resource_name: str, args: RetainedStorageClassArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:storage:RetainedStorageClass", resource_name, None, opts)
        provisioner = args.cluster.storage_provisioner
        storage_class = k8s.storage.v1.StorageClass(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, labels=MANAGED_BY),
            provisioner=provisioner.provisioner,
            parameters=dict(provisioner.parameters) or None,
            reclaim_policy="Retain",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=provisioner.allow_volume_expansion or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = storage_class.metadata.name
        self.register_outputs({"name": self.name})
