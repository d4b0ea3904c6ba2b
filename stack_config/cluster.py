"""Which cluster a stack deploys to, and the facts about it that workloads depend on.

`kiban:cluster` is one of the kinds below, chosen by its `kind` key.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, Field

from pydantic import model_validator

from stack_config.base import (
    ConfigModel,
    CpuQuantity,
    KubernetesName,
    LabelKey,
    LabelValue,
    MemoryQuantity,
    worded,
)

SUPPORTED_VERSIONS = tuple(f"1.{minor}" for minor in range(28, 38))


def _check_version(value: str) -> str:
    if value not in SUPPORTED_VERSIONS:
        raise ValueError(
            f"{value!r} is not a supported Kubernetes version: write major.minor from {SUPPORTED_VERSIONS[0]} to "
            f"{SUPPORTED_VERSIONS[-1]}, quoted (\"1.30\": unquoted, YAML reads 1.30 as the number 1.3)"
        )
    return value


KubernetesVersion = Annotated[str, AfterValidator(_check_version)]
"""`major.minor` of the cluster's Kubernetes, e.g. `1.35`; manifests are validated against it."""


def _check_cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a CIDR block; write an address with its prefix length, e.g. 192.168.0.41/32"
        ) from None
    return str(network)


Cidr = Annotated[str, AfterValidator(_check_cidr)]
"""An IP network in CIDR notation, e.g. `192.168.0.41/32`."""


class ApiServer(ConfigModel):
    """Where pods reach the Kubernetes API server, as NetworkPolicies see it. Pods connect to the `kubernetes`
    Service, but the CNI translates that to the control plane's own address and port before policies apply, so an
    egress allow must name those (the device plugin's config manager and the Argo Rollouts controller need it)."""

    addresses: list[Cidr] = Field(min_length=1)
    """The control plane's addresses, as CIDR blocks (a single node: `<ip>/32`). Required."""


class K3sApiServer(ApiServer):
    port: int = Field(default=6443, ge=1, le=65535)
    """Port the K3s server listens on. Default: `6443`."""


class GkeApiServer(ApiServer):
    port: int = Field(default=443, ge=1, le=65535)
    """Port of the control plane endpoint. Default: `443`."""


class ExistingClusterAccess(ConfigModel):
    """How the program reaches a cluster that already exists."""

    kubeconfig: str | None = None
    """Path to the kubeconfig file (`~` is expanded). Default: unset, which means the Kubernetes provider's own
    default (`$KUBECONFIG`, then `~/.kube/config`)."""

    context: str = Field(min_length=1)
    """The kubeconfig context to use. Required: kiban never deploys to whatever context happens to be current."""

    kubernetes_version: KubernetesVersion = "1.35"
    """The cluster's Kubernetes minor version. Default: `1.35`."""


class K3sGpuNodes(ConfigModel):
    """GPU nodes of a K3s cluster: nodes with the NVIDIA driver and container toolkit, where K3s registers the
    `nvidia` RuntimeClass."""

    node_selector: dict[LabelKey, LabelValue] = Field(
        default_factory=lambda: {"nvidia.com/gpu.present": "true"}, min_length=1
    )
    """Labels that pick the GPU nodes. Default: `{nvidia.com/gpu.present: "true"}`, which the device plugin's own
    affinity also accepts."""

    runtime_class: KubernetesName = "nvidia"
    """The RuntimeClass K3s registered for the NVIDIA container runtime. Default: `nvidia`."""

    install_device_plugin: bool = True
    """Install the NVIDIA device plugin (official Helm chart) so that nodes advertise `nvidia.com/gpu`.
    Default: `true`; turn off only when the cluster already runs it (e.g. through the GPU operator)."""

    time_slicing_replicas: int = Field(default=1, ge=1, le=16)
    """How many pods may share each physical GPU through CUDA time-slicing (the device plugin then advertises that
    many `nvidia.com/gpu` per GPU; there is no memory isolation between the sharers). Default: `1`, a whole GPU
    per pod. A homelab with one GPU needs 3 for the backend, Milvus and a rolling update's extra pod."""


class HomelabNode(ConfigModel):
    """One node of the K3s cluster, as the capacity summary and the GPU labels need it."""

    name: Annotated[
        str, worded(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", "a node name (lower-case letters, digits, '-' and '.')", 253)
    ]
    """The node's name in Kubernetes (`kubectl get nodes`). Required."""

    cpu: CpuQuantity
    """CPU cores of the node (`2`). Required."""

    memory: MemoryQuantity
    """Memory of the node (`6Gi`). Required."""

    gpus: int = Field(default=0, ge=0, le=16)
    """NVIDIA GPUs in the node. Default: `0`. kiban labels nodes with GPUs `nvidia.com/gpu.present=true`, which the
    device plugin and GPU pods select."""


GPU_NODE_LABEL = {"nvidia.com/gpu.present": "true"}


class K3sCluster(ExistingClusterAccess):
    """An existing K3s cluster (the homelab: three Proxmox VMs, k1 to k3), reached through a kubeconfig."""

    kind: Literal["k3s"]
    api_server: K3sApiServer
    """The K3s server node(s) (the homelab's control plane `k1`, 192.168.0.41). Required."""

    storage_class: KubernetesName = "local-path"
    """StorageClass for volumes that need no retention. Default: `local-path` (K3s's bundled provisioner)."""

    ingress_class: KubernetesName = "traefik"
    """IngressClass of the cluster's ingress controller. Default: `traefik` (bundled with K3s)."""

    nodes: list[HomelabNode] = Field(default_factory=list)
    """The cluster's nodes (the homelab's k1, k2, k3). Default: none listed: the capacity summary cannot compare,
    and GPU nodes must be labelled by hand (or select them with `gpu.nodeSelector`)."""

    gpu: K3sGpuNodes | None = None
    """The cluster's GPU nodes. Default: unset, the cluster has none."""

    @model_validator(mode="after")
    def _gpu_nodes_are_named(self) -> "K3sCluster":
        if self.gpu is not None and self.gpu.time_slicing_replicas > 1 and not self.gpu.install_device_plugin:
            raise ValueError(
                "gpu.timeSlicingReplicas is set but gpu.installDevicePlugin is false: time-slicing is configured "
                "through the device plugin kiban installs; configure it in the plugin you run, and set "
                "timeSlicingReplicas to 1 (or let kiban install the plugin)"
            )
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ValueError(f"nodes: a node is listed twice: {sorted(n for n in names if names.count(n) > 1)}")
        if self.gpu is not None and dict(self.gpu.node_selector) == GPU_NODE_LABEL and not self.gpu_nodes():
            raise ValueError(
                "gpu: no node in `nodes` has `gpus`, and nothing else sets nvidia.com/gpu.present=true on a K3s node; "
                "list the GPU node under `nodes` with `gpus: 1`, or select your own labels with `gpu.nodeSelector`"
            )
        return self

    def gpu_nodes(self) -> list[HomelabNode]:
        """The listed nodes that have GPUs."""
        return [n for n in self.nodes if n.gpus]

    def gpu_slots(self) -> int | None:
        """`nvidia.com/gpu` the cluster advertises (GPUs times time-slicing replicas), or None when not listed."""
        if self.gpu is None:
            return 0
        gpus = sum(n.gpus for n in self.nodes)
        return gpus * self.gpu.time_slicing_replicas if gpus else None


class GkeGpuNodes(ConfigModel):
    """GPU node pools of a GKE cluster (GKE installs the driver and the device plugin itself)."""

    accelerator: Annotated[str, worded(r"nvidia-[a-z0-9-]+", "a GKE accelerator type such as nvidia-l4")] = "nvidia-l4"
    """The accelerator type of the GPU node pool, as in `cloud.google.com/gke-accelerator`. Default: `nvidia-l4`."""

    max_nodes: int = Field(default=9, ge=1, le=100)
    """The GPU pool's autoscaling maximum. Default: `9`: the backend's largest blue/green switch (twice its 4
    replicas) and Milvus."""

    gpus_per_node: int = Field(default=1, ge=1, le=8)
    """GPUs per node of the pool. Default: `1` (`g2-standard-8`)."""


class ExistingGkeCluster(ExistingClusterAccess):
    """An existing GKE cluster reached through a kubeconfig (its context uses `gke-gcloud-auth-plugin`)."""

    kind: Literal["existing-gke"]
    api_server: GkeApiServer
    """The control plane endpoint's address (`gcloud container clusters describe ... --format='value(endpoint)'`,
    or the private endpoint for a private cluster). Required."""

    storage_class: KubernetesName = "standard-rwo"
    """StorageClass for volumes that need no retention. Default: `standard-rwo` (pd-balanced, GKE's default)."""

    ingress_class: KubernetesName = "gce"
    """IngressClass of GKE's external Application Load Balancer. Default: `gce`."""

    gpu: GkeGpuNodes | None = None
    """The cluster's GPU node pools. Default: unset, the cluster has none."""

    def gpu_slots(self) -> int:
        """The most GPUs the GPU pool can have."""
        return self.gpu.max_nodes * self.gpu.gpus_per_node if self.gpu else 0


ClusterConfig = Annotated[Union[K3sCluster, ExistingGkeCluster], Field(discriminator="kind")]
"""`kiban:cluster`: `kind: k3s` or `kind: existing-gke`."""
