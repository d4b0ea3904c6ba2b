"""`ExistingCluster`: a cluster that already exists (K3s or GKE), reached through a kubeconfig context."""

from __future__ import annotations

import os

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import (
    ApiServerEndpoint,
    ClusterFacts,
    GpuScheduling,
    StorageProvisioner,
    Toleration,
    TrafficSource,
)
from components.clusters.nvidia_device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs
from stack_config.cluster import ExistingGkeCluster, K3sCluster

_KUBE_DNS = TrafficSource(
    namespace_labels={"kubernetes.io/metadata.name": "kube-system"}, pod_labels={"k8s-app": "kube-dns"}
)
"""CoreDNS on K3s and kube-dns on GKE both carry `k8s-app: kube-dns`."""

GKE_LOAD_BALANCER_RANGES = ("130.211.0.0/22", "35.191.0.0/16")
"""Google Front Ends and health checkers, which reach pods directly with container-native load balancing."""


def k3s_facts(config: K3sCluster) -> ClusterFacts:
    """K3s: local-path volumes, Traefik in kube-system, GPUs through the `nvidia` RuntimeClass."""
    gpu = (
        GpuScheduling(
            node_selector=dict(config.gpu.node_selector),
            tolerations=(Toleration("nvidia.com/gpu"),),
            runtime_class_name=config.gpu.runtime_class,
        )
        if config.gpu
        else None
    )
    return ClusterFacts(
        kind=config.kind,
        kubernetes_version=config.kubernetes_version,
        storage_class=config.storage_class,
        storage_provisioner=StorageProvisioner(provisioner="rancher.io/local-path"),
        ingress_class=config.ingress_class,
        ingress_class_as_annotation=False,
        ingress_source=TrafficSource(
            namespace_labels={"kubernetes.io/metadata.name": "kube-system"},
            pod_labels={"app.kubernetes.io/name": "traefik"},
        ),
        dns_source=_KUBE_DNS,
        ingress_service_annotations={},
        gpu=gpu,
        api_server=ApiServerEndpoint(cidrs=tuple(config.api_server.addresses), port=config.api_server.port),
    )


def gke_facts(config: ExistingGkeCluster) -> ClusterFacts:
    """GKE: Persistent Disk CSI volumes, the GCE load balancer, GPUs through accelerator node pools."""
    gpu = (
        GpuScheduling(
            node_selector={"cloud.google.com/gke-accelerator": config.gpu.accelerator},
            tolerations=(Toleration("nvidia.com/gpu"),),
            runtime_class_name=None,
        )
        if config.gpu
        else None
    )
    return ClusterFacts(
        kind=config.kind,
        kubernetes_version=config.kubernetes_version,
        storage_class=config.storage_class,
        storage_provisioner=StorageProvisioner(
            provisioner="pd.csi.storage.gke.io", parameters={"type": "pd-balanced"}, allow_volume_expansion=True
        ),
        ingress_class=config.ingress_class,
        ingress_class_as_annotation=True,
        ingress_source=TrafficSource(cidrs=GKE_LOAD_BALANCER_RANGES),
        dns_source=_KUBE_DNS,
        ingress_service_annotations={"cloud.google.com/neg": '{"ingress": true}'},
        gpu=gpu,
        api_server=ApiServerEndpoint(cidrs=tuple(config.api_server.addresses), port=config.api_server.port),
    )


class ExistingCluster(pulumi.ComponentResource):
    """A cluster kiban does not create: the Kubernetes provider for its context, and the facts about it.

    On K3s with GPU nodes it also installs the NVIDIA device plugin, so that those nodes advertise `nvidia.com/gpu`.
    """

    provider: k8s.Provider
    """Provider every Kubernetes resource of the stack uses."""

    facts: ClusterFacts
    """What components need to know about this cluster."""

    def __init__(
        self, resource_name: str, config: K3sCluster | ExistingGkeCluster, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("kiban:cluster:ExistingCluster", resource_name, None, opts)
        self.facts = k3s_facts(config) if isinstance(config, K3sCluster) else gke_facts(config)
        self.provider = k8s.Provider(
            f"{resource_name}-kubernetes",
            kubeconfig=os.path.expanduser(config.kubeconfig) if config.kubeconfig else None,
            context=config.context,
            opts=pulumi.ResourceOptions(parent=self),
        )
        if isinstance(config, K3sCluster) and config.gpu is not None and config.gpu.install_device_plugin:
            NvidiaDevicePlugin(
                f"{resource_name}-nvidia-device-plugin",
                NvidiaDevicePluginArgs(cluster=self.facts, time_slicing_replicas=config.gpu.time_slicing_replicas),
                opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
            )
        self.register_outputs({"context": config.context, "kind": config.kind})
