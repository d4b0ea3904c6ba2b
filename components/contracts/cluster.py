"""What a cluster target tells the components that deploy onto it.

Every target (K3s through a kubeconfig, an existing GKE cluster, later a GKE cluster kiban creates) yields a
Kubernetes provider and these facts; no component asks which kind of cluster it is on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal, Mapping, Protocol

import pulumi
import pulumi_kubernetes as k8s

GPU_RESOURCE = "nvidia.com/gpu"
"""The extended resource NVIDIA's device plugin advertises (also on GKE)."""


@dataclass(frozen=True)
class Toleration:
    """A taint a pod tolerates."""

    key: str
    effect: str = "NoSchedule"
    operator: str = "Exists"

    def to_args(self) -> k8s.core.v1.TolerationArgs:
        return k8s.core.v1.TolerationArgs(key=self.key, operator=self.operator, effect=self.effect)


@dataclass(frozen=True)
class GpuScheduling:
    """How a pod that reserves GPUs reaches a GPU node on this cluster."""

    node_selector: Mapping[str, str]
    """Labels of the GPU nodes."""

    tolerations: tuple[Toleration, ...]
    """Taints GPU nodes carry."""

    runtime_class_name: str | None
    """RuntimeClass the pod must run with (K3s: `nvidia`), or `None` where the default runtime handles GPUs."""


@dataclass(frozen=True)
class TrafficSource:
    """Where traffic from outside kiban's namespaces comes from, as NetworkPolicy peers."""

    namespace_labels: Mapping[str, str] | None = None
    pod_labels: Mapping[str, str] | None = None
    cidrs: tuple[str, ...] = ()

    any_source: bool = False
    """Every source: an ingress rule without `from`, the only rule that admits a connection a node forwards from
    a NodePort on GKE Dataplane V2 (source-NATed to the forwarding node, whose address Cilium gives its
    host/remote-node identity, which no `ipBlock` matches). Exclusive with the other fields. Default: no."""

    def __post_init__(self) -> None:
        if self.any_source and (self.namespace_labels is not None or self.pod_labels is not None or self.cidrs):
            raise ValueError("a traffic source of every address names no peers: drop the labels and cidrs")

    def to_peers(self) -> list[k8s.networking.v1.NetworkPolicyPeerArgs]:
        if self.any_source:
            raise ValueError("every source is a rule without `from`, not a list of peers")
        peers = [k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=c)) for c in self.cidrs]
        if self.namespace_labels is not None or self.pod_labels is not None:
            peers.append(
                k8s.networking.v1.NetworkPolicyPeerArgs(
                    namespace_selector=(
                        k8s.meta.v1.LabelSelectorArgs(match_labels=dict(self.namespace_labels))
                        if self.namespace_labels is not None
                        else None
                    ),
                    pod_selector=(
                        k8s.meta.v1.LabelSelectorArgs(match_labels=dict(self.pod_labels))
                        if self.pod_labels is not None
                        else None
                    ),
                )
            )
        return peers


class IngressBackends(enum.Enum):
    """How the cluster's ingress reaches the pods behind the Services an Ingress routes to."""

    ENDPOINTS = "endpoints"
    """Straight to the pods the Service selects (Traefik; GKE's container-native load balancing through NEGs):
    the Service stays a ClusterIP."""

    NODE_PORTS = "node-ports"
    """Through the nodes: the load balancer's backends are the nodes (GKE: instance groups), each Service it routes
    to is a NodePort with `externalTrafficPolicy: Cluster`, and the node's dataplane picks a pod the Service selects.
    The load balancer's health check then asks a node, not a pod, so a Service whose selector moves from one set
    of ready pods to another (a blue/green switch) never leaves the backend without a healthy member."""


@dataclass(frozen=True)
class BackendHealthCheck:
    """How often and how strictly the load balancer checks each backend of a routed Service, where the cluster lets
    a Service set it (GKE: a `BackendConfig`'s `spec.healthCheck`, written beside the Service, of type HTTP on the
    path of the pods' readiness probe; the port stays the one the load balancer reaches the Service on)."""

    check_interval_seconds: int
    timeout_seconds: int
    """At most `check_interval_seconds` (Compute Engine refuses a health check whose timeout is longer)."""
    healthy_threshold: int
    unhealthy_threshold: int

    def __post_init__(self) -> None:
        if min(self.check_interval_seconds, self.timeout_seconds, self.healthy_threshold, self.unhealthy_threshold) < 1:
            raise ValueError(f"{self}: every interval, timeout and threshold is at least 1")
        if self.timeout_seconds > self.check_interval_seconds:
            raise ValueError(f"{self}: the timeout must not exceed the check interval")

    @property
    def detection_seconds(self) -> int:
        """Longest time from a backend's last good answer until the load balancer stops sending to it: the failures
        it needs, one interval apart, the last one waiting out its timeout."""
        return self.unhealthy_threshold * self.check_interval_seconds + self.timeout_seconds


@dataclass(frozen=True)
class ServiceExposure:
    """How a Service an Ingress routes to is written on this cluster (`IngressFacts.exposure()`)."""

    type: Literal["ClusterIP", "NodePort"] = "ClusterIP"
    external_traffic_policy: Literal["Cluster"] | None = None
    """`Cluster` on a NodePort: every node forwards to a ready pod wherever it runs (with `Local`, a node without
    one of the Service's pods fails the health check, and a switch to pods on other nodes waits for it again)."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    health_check: BackendHealthCheck | None = None
    """The load balancer's health check of this Service's backends, where the cluster's default is not good enough
    (GKE's instance-group default; see `gke_facts.GKE_NODE_PORT_HEALTH_CHECK`). Default: the cluster's own."""


@dataclass(frozen=True)
class IngressFacts:
    """Everything that differs between ingress controllers, answered once by the cluster target."""

    class_name: str
    """IngressClass of the cluster's ingress controller."""

    class_as_annotation: bool
    """Name the class with the `kubernetes.io/ingress.class` annotation instead of `spec.ingressClassName`
    (GKE's built-in controller ignores Ingresses that use the field)."""

    source: TrafficSource
    """Where the controller's (or load balancer's) traffic comes from when it reaches pods directly: a delivered
    application's own Services, and kiban's where `backends` is `ENDPOINTS` (see `backend_source()`)."""

    backends: IngressBackends = IngressBackends.ENDPOINTS
    """How the ingress reaches the pods behind a routed Service. Default: straight to the endpoints."""

    service_annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations a Service behind an Ingress needs (GKE: `cloud.google.com/neg` says NEGs or instance groups)."""

    https_only_annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations that switch plain HTTP off on an Ingress that has TLS (GKE: `kubernetes.io/ingress.allow-http`).
    Default: none (Traefik serves both unless told otherwise)."""

    backend_health_check: BackendHealthCheck | None = None
    """The health check every Service the Ingress routes to sets for its backends (`ServiceExposure.health_check`).
    Default: none, the controller's own."""

    static_ip_name: str | None = None
    """A reserved global address the load balancer keeps (GKE). Default: none, an ephemeral one."""

    managed_certificates: bool = False
    """The cluster can issue certificates for an Ingress's host itself (GKE's ManagedCertificate). Default: no."""

    def exposure(self) -> ServiceExposure:
        """How a Service an Ingress routes to is written here."""
        if self.backends is IngressBackends.NODE_PORTS:
            return ServiceExposure("NodePort", "Cluster", dict(self.service_annotations), self.backend_health_check)
        return ServiceExposure(annotations=dict(self.service_annotations), health_check=self.backend_health_check)

    def backend_source(self) -> TrafficSource:
        """Where connections to the pods behind a routed Service come from. Through node ports a connection comes
        from the load balancer (the node forwarded it to one of its own pods, source kept) or from any node
        (it forwarded it to a pod elsewhere, source-NATed to itself): no NetworkPolicy peer names the nodes on
        every dataplane, so every source is admitted, on the served ports only."""
        if self.backends is IngressBackends.NODE_PORTS:
            return TrafficSource(any_source=True)
        return self.source

    def ingress_class_name(self) -> str | None:
        """`spec.ingressClassName`, or `None` where the class goes into an annotation."""
        return None if self.class_as_annotation else self.class_name

    def annotations(self, *, tls: bool) -> dict[str, str]:
        """The annotations an Ingress needs on this cluster."""
        found = {"kubernetes.io/ingress.class": self.class_name} if self.class_as_annotation else {}
        if self.static_ip_name:
            found["kubernetes.io/ingress.global-static-ip-name"] = self.static_ip_name
        return {**found, **(self.https_only_annotations if tls else {})}


@dataclass(frozen=True)
class ApiServerEndpoint:
    """Where pods reach the Kubernetes API server, as NetworkPolicies see it: the control plane's addresses and port
    after the CNI has translated the `kubernetes` Service's ClusterIP."""

    cidrs: tuple[pulumi.Input[str], ...]
    """The control plane's address blocks (may be known only once a cluster kiban creates exists)."""

    port: int
    """TCP port of the API server (K3s: 6443; GKE: 443)."""

    caller_cidrs: tuple[pulumi.Input[str], ...] = ()
    """Where the API server's own calls to pods (admission webhooks) come from, as the receiving node's policies see
    them, beside `cidrs`. On K3s a call to a pod on another node leaves the server through flannel and arrives from
    its flannel address, inside the cluster's pod CIDR; GKE's control plane calls from its own range (`cidrs`).
    Default: none beyond `cidrs`."""

    proxy: TrafficSource | None = None
    """Pods that carry the API server's calls into the cluster, where it reaches pods through a proxy: GKE's
    control plane calls in-cluster webhooks through its Konnectivity agents, so a call arrives from an agent pod's
    address. Default: none (the API server calls pods itself)."""

    def callers(self) -> TrafficSource:
        """The API server as the source of a connection to a pod (an operator's webhook): its own addresses, its
        caller addresses, and its proxy's pods."""
        proxy = self.proxy or TrafficSource()
        return TrafficSource(
            namespace_labels=proxy.namespace_labels,
            pod_labels=proxy.pod_labels,
            cidrs=tuple(dict.fromkeys([*self.cidrs, *self.caller_cidrs, *proxy.cidrs])),
        )

    def egress_rule(self) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
        """The egress rule that lets a pod call the API server and nothing else."""
        if not self.cidrs:
            raise ValueError("the API server has no address: an empty `to` would allow every destination")
        return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=c)) for c in self.cidrs],
            ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=self.port)],
        )


@dataclass(frozen=True)
class StorageProvisioner:
    """The CSI driver (or provisioner) behind the cluster's volumes, for kiban's own StorageClasses."""

    provisioner: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    allow_volume_expansion: bool = False


@dataclass(frozen=True)
class ClusterFacts:
    """Everything components need to know about the cluster they deploy onto."""

    kind: str
    """The target kind, as in `kiban:cluster.kind`."""

    kubernetes_version: str
    """`major.minor` the manifests must be valid for."""

    storage_class: str
    """StorageClass for volumes that need no retention."""

    storage_provisioner: StorageProvisioner
    """Provisioner for kiban's retained StorageClass."""

    ingress: IngressFacts
    """How an Ingress is written on this cluster, and where its traffic comes from."""

    dns_source: TrafficSource
    """The cluster DNS pods, which every pod may reach on port 53."""

    gpu: GpuScheduling | None
    """How to reach GPU nodes, or `None` when the cluster has none."""

    api_server: ApiServerEndpoint
    """Where pods that call the Kubernetes API reach it, for their egress NetworkPolicy."""


class ClusterTarget(Protocol):
    """What every cluster target component offers."""

    provider: k8s.Provider
    facts: ClusterFacts
