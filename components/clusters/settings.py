"""Which cluster a stack deploys to, and the facts about it that workloads depend on.

`kiban:cluster` is one of the kinds below, chosen by its `kind` key.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from pydantic import model_validator

from components.contracts.ci import GithubIdentity
from components.contracts.settings import (
    ConfigModel,
    CpuQuantity,
    KubernetesName,
    LabelKey,
    LabelValue,
    MemoryQuantity,
    worded,
)
from components.clusters.gpu_availability import gpu_availability

SUPPORTED_VERSIONS = tuple(f"1.{minor}" for minor in range(28, 38))


def _check_version(value: str) -> str:
    if value not in SUPPORTED_VERSIONS:
        raise ValueError(
            f"{value!r} is not a supported Kubernetes version: write major.minor from {SUPPORTED_VERSIONS[0]} to "
            f"{SUPPORTED_VERSIONS[-1]}, quoted (\"1.30\": unquoted, YAML reads 1.30 as the number 1.3)"
        )
    return value


def _not_a_number(value: object) -> object:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(
            f"{value!r} is a number: YAML read the version unquoted (1.30 would even become 1.3); quote it, e.g. "
            '"1.35"'
        )
    return value


KubernetesVersion = Annotated[str, BeforeValidator(_not_a_number), AfterValidator(_check_version)]
"""`major.minor` of the cluster's Kubernetes, e.g. `1.35`; manifests are validated against it."""


def _check_cidr(value: str) -> str:
    if "/" not in value:
        raise ValueError(
            f"{value!r} has no prefix length; write it, e.g. {value}/32 for one address or {value}/24 for a range"
        )
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a CIDR block; write an address with its prefix length, e.g. 192.168.0.41/32"
            ) from None
        raise ValueError(
            f"{value!r} has bits set past its /{loose.prefixlen} prefix: the block it names is {loose}; write that"
        ) from None
    return str(network)


Cidr = Annotated[str, AfterValidator(_check_cidr)]
"""An IP network in CIDR notation, e.g. `192.168.0.41/32`."""


def _check_host_address(value: str) -> str:
    network = ipaddress.ip_network(value)
    if network.num_addresses != 1:
        raise ValueError(
            f"{value!r} is a range of {network.num_addresses} addresses; the API server's address is one host: "
            f"write {network.network_address}/{network.max_prefixlen} for each server"
        )
    return value


HostAddress = Annotated[str, AfterValidator(_check_cidr), AfterValidator(_check_host_address)]
"""One address in CIDR notation, e.g. `192.168.0.41/32`."""


def _check_private_range(value: str) -> str:
    network = ipaddress.ip_network(value)
    if not network.is_private or network.num_addresses < 256 or network.prefixlen < 8:
        raise ValueError(
            f"{value!r} is not a private range for pods: write a block of RFC 1918 space between /8 and /24, "
            "e.g. 10.42.0.0/16"
        )
    return value


PrivateRange = Annotated[str, AfterValidator(_check_cidr), AfterValidator(_check_private_range)]
"""A private IP range between /8 and /24 in CIDR notation, e.g. `10.42.0.0/16`."""


def _not_everywhere(value: str) -> str:
    if ipaddress.ip_network(value).prefixlen == 0:
        raise ValueError(
            f"{value!r} opens the control plane's IP endpoint to the whole internet; list the ranges that need it "
            "(the DNS-based endpoint with IAM already serves every other caller)"
        )
    return value


class ApiServer(ConfigModel):
    """Where pods reach the Kubernetes API server, as NetworkPolicies see it. Pods connect to the `kubernetes`
    Service, but the CNI translates that to the control plane's own address and port before policies apply, so an
    egress allow must name those (the device plugin's config manager and the Argo Rollouts controller need it)."""

    addresses: list[HostAddress] = Field(min_length=1)
    """The control plane's addresses, one `/32` (or `/128`) per server, e.g. `192.168.0.41/32`. Required."""


class K3sApiServer(ApiServer):
    port: int = Field(default=6443, ge=1, le=65535)
    """Port the K3s server listens on. Default: `6443`."""

    pod_cidr: PrivateRange = "10.42.0.0/16"
    """K3s's `--cluster-cidr`. The API server's calls to a webhook on another node arrive from the server's flannel
    address, inside this range, so an operator's webhook admits it. It is the pods' range, never the LAN's: it may
    not hold an API server address. Default: `10.42.0.0/16`, K3s's own."""

    @model_validator(mode="after")
    def _pods_are_not_the_lan(self) -> "K3sApiServer":
        pods = ipaddress.ip_network(self.pod_cidr)
        inside = [a for a in self.addresses if ipaddress.ip_network(a).subnet_of(pods)]  # type: ignore[arg-type]
        if inside:
            raise ValueError(
                f"podCidr {self.pod_cidr} holds the API server's address {inside[0]}: podCidr is K3s's "
                "--cluster-cidr (the pods' range, default 10.42.0.0/16), not the nodes' network"
            )
        return self


class GkeApiServer(ApiServer):
    port: int = Field(default=443, ge=1, le=65535)
    """Port of the control plane endpoint. Default: `443`."""


class ExistingClusterAccess(ConfigModel):
    """How the program reaches a cluster that already exists."""

    kubeconfig: Annotated[str, worded(r"[A-Za-z0-9_~./-]+", "a file path (letters, digits, '_', '~', '.', '/', '-')")] | None = None
    """Path to the kubeconfig file on the machine that runs the program (`~` is expanded; the file must exist there:
    kiban passes its contents, never its path). Default: unset, which means the Kubernetes provider's own default
    (`$KUBECONFIG`, then `~/.kube/config`)."""

    context: Annotated[str, worded(r"[A-Za-z0-9_.:@/-]{1,253}", "a kubeconfig context name (letters, digits, _ . : @ / -)")]
    """The kubeconfig context to use. Required: kiban never deploys to whatever context happens to be current."""

    kubernetes_version: KubernetesVersion = "1.35"
    """The cluster's Kubernetes minor version. Default: `1.35`."""

    @field_validator("kubeconfig")
    @classmethod
    def _kubeconfig_exists(cls, value: str | None) -> str | None:
        if value is not None and not Path(os.path.expanduser(value)).is_file():
            raise ValueError(
                f"no file at {value} on this machine; point it at the cluster's kubeconfig, or leave it unset and "
                "export KUBECONFIG"
            )
        return value


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
    """StorageClass for volumes that need no retention. Default: `local-path` (K3s's bundled provisioner).
    Fixed after the first deploy while `dataSafety.retainVolumes` is false (the stores' claim templates name it)."""

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
    """StorageClass for volumes that need no retention. Default: `standard-rwo` (pd-balanced, GKE's default).
    Fixed after the first deploy while `dataSafety.retainVolumes` is false (the stores' claim templates name it)."""

    ingress_class: KubernetesName = "gce"
    """IngressClass of GKE's external Application Load Balancer. Default: `gce`."""

    gpu: GkeGpuNodes | None = None
    """The cluster's GPU node pools. Default: unset, the cluster has none."""

    def gpu_slots(self) -> int:
        """The most GPUs the GPU pool can have."""
        return self.gpu.max_nodes * self.gpu.gpus_per_node if self.gpu else 0


class GkeNetwork(ConfigModel):
    """The VPC kiban creates for the cluster (VPC-native: pods and Services get secondary ranges)."""

    nodes: Cidr = "10.10.0.0/20"
    """The subnet of the nodes. Default: `10.10.0.0/20`."""

    pods: Cidr = "10.20.0.0/14"
    """Secondary range of the pods. Default: `10.20.0.0/14`."""

    services: Cidr = "10.30.0.0/20"
    """Secondary range of the Services. Default: `10.30.0.0/20`."""

    control_plane: Cidr = "172.16.0.0/28"
    """The control plane's private range (a /28). Default: `172.16.0.0/28`."""

    @model_validator(mode="after")
    def _private_and_apart(self) -> "GkeNetwork":
        ranges = {name: ipaddress.ip_network(getattr(self, name)) for name in ("nodes", "pods", "services", "control_plane")}
        keys = {"nodes": "nodes", "pods": "pods", "services": "services", "control_plane": "controlPlane"}
        for name, network in ranges.items():
            if not network.is_private:
                raise ValueError(f"{keys[name]}: {network} is not private address space (RFC 1918 or 100.64.0.0/10)")
        if ranges["control_plane"].prefixlen != 28:
            raise ValueError(f"controlPlane: {ranges['control_plane']} is not a /28, the only size GKE takes for it")
        names = list(ranges)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                if ranges[first].overlaps(ranges[second]):
                    raise ValueError(
                        f"{keys[first]} {ranges[first]} and {keys[second]} {ranges[second]} overlap; each range "
                        "needs its own addresses"
                    )
        return self


class GkePool(ConfigModel):
    """A node pool that autoscales."""

    machine_type: Annotated[str, worded(r"[a-z0-9]+-[a-z0-9-]+", "a machine type such as e2-standard-4")] = "e2-standard-4"
    """Machine type. Default: `e2-standard-4`."""

    min_nodes: int = Field(default=1, ge=0, le=100)
    """Fewest nodes per zone. Default: `1`."""

    max_nodes: int = Field(default=3, ge=1, le=100)
    """Most nodes per zone. Default: `3`."""

    @model_validator(mode="after")
    def _min_below_max(self) -> "GkePool":
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"minNodes {self.min_nodes} is above maxNodes {self.max_nodes}")
        return self


class GkeGpuPool(GkePool):
    """The GPU node pool: GKE installs the driver and its device plugin, taints the nodes `nvidia.com/gpu`, and
    scales the pool to zero when no GPU pod waits."""

    machine_type: Annotated[str, worded(r"[a-z0-9]+-[a-z0-9-]+", "a machine type such as g2-standard-8")] = "g2-standard-8"
    """Machine type. Default: `g2-standard-8` (one L4)."""

    min_nodes: int = Field(default=0, ge=0, le=100)
    """Fewest nodes, in total over the pool's zones. Default: `0`: an idle prod costs no GPU."""

    max_nodes: int = Field(default=9, ge=1, le=100)
    """Most nodes, in total over the pool's zones (GKE's `totalMaxNodeCount`; the autoscaler adds a node in any zone
    that has a GPU to give). Default: `9`: the backend's largest blue/green switch (twice 4) and Milvus."""

    accelerator: Annotated[str, worded(r"nvidia-[a-z0-9-]+", "a GKE accelerator type such as nvidia-l4")] = "nvidia-l4"
    """Accelerator type. Default: `nvidia-l4`."""

    gpus_per_node: int = Field(default=1, ge=1, le=8)
    """GPUs per node. Default: `1`."""

    spot: bool = False
    """Spot VMs (cheaper, may be reclaimed). Default: `false`."""

    driver_version: Literal["DEFAULT", "LATEST"] = "DEFAULT"
    """The NVIDIA driver GKE installs. Changing it later replaces the pool (its nodes are recreated). Default:
    `DEFAULT`."""


class GkeCluster(ConfigModel):
    """A GKE Standard cluster kiban creates, with its network, node pools and CI identity (prod)."""

    kind: Literal["gke"]
    project: Annotated[str, worded(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", "a GCP project id")]
    """The GCP project. Required."""

    region: Annotated[str, worded(r"[a-z]+-[a-z]+[0-9]", "a GCP region such as asia-northeast1")] = "asia-northeast1"
    """Region of the regional cluster. With `gpu`, a region with zones that offer the GPU pool's machine type
    (components/clusters/gpu_availability.json says which; Osaka, asia-northeast2, offers no L4). Default:
    `asia-northeast1` (Tokyo: g2-standard-*/L4 in all three zones)."""

    name: KubernetesName = "kiban"
    """Cluster name. Default: `kiban`."""

    kubernetes_version: KubernetesVersion = "1.35"
    """The minor version the cluster is created at (GKE's `minMasterVersion`). After that the release channel
    upgrades the control plane and the nodes, so a later change here upgrades nothing (kiban ignores GKE's version
    fields); set it to the cluster's current minor after an upgrade, since the policy checks validate manifests
    against it. Default: `1.35`."""

    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    """Release channel. Default: `REGULAR`."""

    network: GkeNetwork = Field(default_factory=GkeNetwork)
    """The VPC's ranges. Default: see above."""

    authorized_networks: list[Annotated[str, AfterValidator(_check_cidr), AfterValidator(_not_everywhere)]] = Field(
        default_factory=list
    )
    """Ranges allowed to the control plane's IP endpoint. Default: none: the DNS-based endpoint with IAM is the way
    in (GitHub-hosted runners use it)."""

    general_pool: GkePool = Field(default_factory=GkePool)
    """The pool everything without a GPU runs on. Default: `e2-standard-4`, 1 to 3 nodes per zone."""

    gpu: GkeGpuPool | None = None
    """The GPU pool. Default: unset, no GPUs."""

    maintenance_window: Annotated[str, worded(r"([01]\d|2[0-3]):[0-5]\d", "a time of day, HH:MM in UTC")] = "18:00"
    """Start of the daily 4-hour maintenance window, UTC (18:00 UTC is 03:00 in Japan). Default: `18:00`."""

    github: GithubIdentity | None = None
    """Keyless identity for GitHub Actions. Default: unset, none created."""

    storage_class: KubernetesName = "standard-rwo"
    """StorageClass for volumes that need no retention. Default: `standard-rwo`. Fixed after the first deploy while
    `dataSafety.retainVolumes` is false (the stores' claim templates name it)."""

    @model_validator(mode="after")
    def _gpu_pool_can_exist_in_the_region(self) -> "GkeCluster":
        if self.gpu is not None:
            problem = gpu_availability().problem(
                self.gpu.accelerator, self.gpu.machine_type, self.gpu.gpus_per_node, self.region
            )
            if problem:
                raise ValueError(f"gpu: {problem}")
        return self

    def gpu_slots(self) -> int:
        """The most GPUs the GPU pool can have."""
        return self.gpu.max_nodes * self.gpu.gpus_per_node if self.gpu else 0

    def gpu_zones(self) -> list[str]:
        """The zones of the region that offer the GPU pool's machine type (its `node_locations`)."""
        return gpu_availability().zones(self.gpu.accelerator, self.region) if self.gpu else []


ClusterConfig = Annotated[Union[K3sCluster, ExistingGkeCluster, GkeCluster], Field(discriminator="kind")]
"""`kiban:cluster`: `kind: k3s`, `kind: existing-gke`, or `kind: gke` (kiban creates it)."""
