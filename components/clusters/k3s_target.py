"""`K3sTarget`: an existing K3s cluster (the homelab), reached through its kubeconfig context, with its GPU
nodes made usable: labelled, and advertising `nvidia.com/gpu` through NVIDIA's device plugin."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.gke_facts import KUBE_DNS
from components.clusters.kubernetes_access import kubernetes_provider
from components.clusters.nvidia_device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs
from components.contracts.cluster import (
    ApiServerEndpoint,
    ClusterFacts,
    GpuScheduling,
    IngressFacts,
    StorageProvisioner,
    Toleration,
    TrafficSource,
)
from stack_config.cluster import K3sCluster
from versions import PinnedChart

TYPE = "kiban:cluster:ExistingCluster"
"""The type token every existing-cluster target has had: it is part of every URN below it, so it stays."""


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
        ingress=IngressFacts(
            class_name=config.ingress_class,
            class_as_annotation=False,
            source=TrafficSource(
                namespace_labels={"kubernetes.io/metadata.name": "kube-system"},
                pod_labels={"app.kubernetes.io/name": "traefik"},
            ),
        ),
        dns_source=KUBE_DNS,
        gpu=gpu,
        api_server=ApiServerEndpoint(cidrs=tuple(config.api_server.addresses), port=config.api_server.port),
    )


class K3sTarget(pulumi.ComponentResource):
    """A K3s cluster kiban does not create: the provider for its context and the facts about it.

    With `cluster.gpu.installDevicePlugin` (the default when the cluster has GPU nodes) it installs NVIDIA's
    device plugin as its child `<name>-nvidia-device-plugin`: without it no K3s node advertises `nvidia.com/gpu`,
    and every GPU pod stays Pending.
    """

    provider: k8s.Provider
    """Provider every Kubernetes resource of the stack uses."""

    facts: ClusterFacts
    """What components need to know about this cluster."""

    device_plugin: NvidiaDevicePlugin | None
    """The device plugin, where this target installs it."""

    def __init__(
        self,
        resource_name: str,
        config: K3sCluster,
        device_plugin_chart: PinnedChart,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(TYPE, resource_name, None, opts)
        self.facts = k3s_facts(config)
        self.provider = kubernetes_provider(
            f"{resource_name}-kubernetes", config, config.kind, pulumi.ResourceOptions(parent=self)
        )
        self.device_plugin = None
        if config.gpu is not None and config.gpu.install_device_plugin:
            self.device_plugin = NvidiaDevicePlugin(
                f"{resource_name}-nvidia-device-plugin",
                NvidiaDevicePluginArgs(
                    cluster=self.facts,
                    chart=device_plugin_chart,
                    time_slicing_replicas=config.gpu.time_slicing_replicas,
                ),
                opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
            )
        self.register_outputs({"context": config.context, "kind": config.kind})
