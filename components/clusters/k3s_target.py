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
    IngressBackends,
    IngressFacts,
    StorageProvisioner,
    Toleration,
    TrafficSource,
)
from components.clusters.settings import GPU_NODE_LABEL, K3sCluster
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
            # K3s's Traefik routes an Ingress on its `web` (HTTP) and `websecure` (HTTPS) entry points alike; one
            # with TLS is routed on `websecure` only (Traefik's router.entrypoints annotation).
            https_only_annotations={"traefik.ingress.kubernetes.io/router.entrypoints": "websecure"},
            # Traefik routes to the Service's endpoints as soon as they change: a blue/green switch needs no
            # health check of its own in between.
            backends=IngressBackends.ENDPOINTS,
        ),
        dns_source=KUBE_DNS,
        gpu=gpu,
        api_server=ApiServerEndpoint(
            cidrs=tuple(config.api_server.addresses),
            port=config.api_server.port,
            caller_cidrs=(config.api_server.pod_cidr,),
        ),
    )


class K3sTarget(pulumi.ComponentResource):
    """A K3s cluster kiban does not create: the provider for its context and the facts about it.

    With GPU nodes it labels the listed ones (`nodes[].gpus`) `nvidia.com/gpu.present=true`, and with
    `cluster.gpu.installDevicePlugin` (the default) installs NVIDIA's device plugin as its child
    `<name>-nvidia-device-plugin`: without both, no K3s node advertises `nvidia.com/gpu` and every GPU pod stays
    Pending.
    """

    provider: k8s.Provider
    """Provider every Kubernetes resource of the stack uses."""

    facts: ClusterFacts
    """What components need to know about this cluster."""

    device_plugin: NvidiaDevicePlugin | None
    """The device plugin, where this target installs it."""

    gpu_node_labels: list[k8s.core.v1.NodePatch]
    """The `nvidia.com/gpu.present=true` labels on the listed GPU nodes."""

    def __init__(
        self,
        resource_name: str,
        config: K3sCluster,
        device_plugin_chart: PinnedChart,
        helm_timeout_seconds: int = 900,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(TYPE, resource_name, None, opts)
        self.facts = k3s_facts(config)
        self.provider = kubernetes_provider(
            f"{resource_name}-kubernetes", config, config.kind, pulumi.ResourceOptions(parent=self)
        )
        on_cluster = pulumi.ResourceOptions(parent=self, provider=self.provider)
        # Nothing on a plain K3s node says it has a GPU: label the listed GPU nodes, as the plugin and GPU pods
        # select them (a patch of the existing Node, removed again when the stack lets go of it).
        self.gpu_node_labels = [
            k8s.core.v1.NodePatch(
                f"{resource_name}-gpu-node-{node.name}",
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(name=node.name, labels=GPU_NODE_LABEL),
                opts=on_cluster,
            )
            for node in (config.gpu_nodes() if config.gpu is not None else [])
        ]
        self.device_plugin = None
        if config.gpu is not None and config.gpu.install_device_plugin:
            self.device_plugin = NvidiaDevicePlugin(
                f"{resource_name}-nvidia-device-plugin",
                NvidiaDevicePluginArgs(
                    cluster=self.facts,
                    chart=device_plugin_chart,
                    timeout_seconds=helm_timeout_seconds,
                    time_slicing_replicas=config.gpu.time_slicing_replicas,
                ),
                opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=self.gpu_node_labels)),
            )
        self.register_outputs({"context": config.context, "kind": config.kind})
