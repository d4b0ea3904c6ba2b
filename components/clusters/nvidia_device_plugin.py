"""`NvidiaDevicePlugin`: NVIDIA's device plugin from its official Helm chart, for K3s GPU nodes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import yaml

from components.contracts.cluster import GPU_RESOURCE, ClusterFacts
from components.kube.chart_operator import ApiServerAccess, ChartOperator, ChartOperatorArgs, OwnNamespace
from components.contracts import namespaces
from versions import PinnedChart

NAMESPACE = namespaces.NVIDIA_DEVICE_PLUGIN
PLUGIN_LABELS = {"app.kubernetes.io/name": "nvidia-device-plugin"}
"""The chart's selector label on the plugin's pods."""


def time_slicing_config(replicas: int) -> str:
    """The plugin's config file (`config.map.default` of the chart) that shares each GPU among `replicas` pods."""
    return yaml.safe_dump(
        {
            "version": "v1",
            "flags": {"migStrategy": "none"},
            "sharing": {"timeSlicing": {"resources": [{"name": GPU_RESOURCE, "replicas": replicas}]}},
        },
        sort_keys=False,
    )


@dataclass(frozen=True)
class NvidiaDevicePluginArgs:
    """Arguments of `NvidiaDevicePlugin`."""

    cluster: ClusterFacts
    """The cluster; its `gpu` facts say which nodes and which RuntimeClass (required)."""

    chart: PinnedChart
    """The pinned `nvidia-device-plugin` chart (required), from versions.json."""

    timeout_seconds: int = 900
    """How long the Helm release may take (Helm's own default, 300 s, is short for a cold GPU node). Default: 900."""

    time_slicing_replicas: int = 1
    """Pods that may share each GPU through CUDA time-slicing. Default: 1 (no sharing)."""


class NvidiaDevicePlugin(pulumi.ComponentResource):
    """Makes GPU nodes advertise `nvidia.com/gpu`.

    The plugin pod runs with the `nvidia` RuntimeClass (without it, it cannot load NVML on K3s), only on the GPU
    nodes, and in its own namespace: it mounts the kubelet's device-plugin socket directory from the host, which
    no Pod Security level below `privileged` allows.
    """

    release_name: pulumi.Output[str]
    """Name of the Helm release."""

    def __init__(self, resource_name: str, args: NvidiaDevicePluginArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:gpu:NvidiaDevicePlugin", resource_name, None, opts)
        gpu = args.cluster.gpu
        if gpu is None:
            raise ValueError("the NVIDIA device plugin needs a cluster with GPU nodes")
        shared = args.time_slicing_replicas > 1

        operator = ChartOperator(
            resource_name,
            ChartOperatorArgs(
                chart=args.chart,
                release_name="nvidia-device-plugin",
                namespace=NAMESPACE,
                cluster=args.cluster,
                pod_labels=PLUGIN_LABELS,
                own_namespace=OwnNamespace(
                    part_of="gpu",
                    pod_security="privileged",
                    pod_security_reason="the device plugin mounts /var/lib/kubelet/device-plugins and CDI paths from "
                    "the host",
                ),
                api_server=ApiServerAccess(
                    "config-manager-to-api-server",
                    "with a sharing config, the config-manager init container and sidecar read the node's labels to "
                    "pick the plugin's config",
                )
                if shared
                else None,
                timeout_seconds=args.timeout_seconds,
            ),
            parent=self,
        )
        release = operator.install(
            {
                "runtimeClassName": gpu.runtime_class_name,
                "nodeSelector": dict(gpu.node_selector),
                "tolerations": [
                    {"key": "CriticalAddonsOnly", "operator": "Exists"},
                    *({"key": t.key, "operator": t.operator, "effect": t.effect} for t in gpu.tolerations),
                ],
                "priorityClassName": "system-node-critical",
                **({"config": {"map": {"default": time_slicing_config(args.time_slicing_replicas)}}} if shared else {}),
            }
        )
        self.release_name = release.name
        self.register_outputs({"release_name": self.release_name})
