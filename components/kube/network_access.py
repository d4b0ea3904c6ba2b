"""`AllowTraffic`: one permitted connection through the default-deny, as the pair of NetworkPolicies it needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence, Union

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import ApiServerEndpoint, TrafficSource
from components.contracts.labels import MANAGED_BY


@dataclass(frozen=True)
class PodGroup:
    """The pods of one workload: their namespace and selector labels."""

    namespace: str
    labels: Mapping[str, str]

    def peer(self) -> k8s.networking.v1.NetworkPolicyPeerArgs:
        return k8s.networking.v1.NetworkPolicyPeerArgs(
            namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                match_labels={"kubernetes.io/metadata.name": self.namespace}
            ),
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(self.labels)),
        )


@dataclass(frozen=True)
class AllowTrafficArgs:
    """Arguments of `AllowTraffic`."""

    source: Union[PodGroup, TrafficSource]
    """Who connects: kiban pods (an egress policy is added for them) or an outside source such as the ingress
    controller (only the receiving side needs a policy); `TrafficSource(any_source=True)` admits every source on
    `ports`, as a rule without `from`."""

    destination: PodGroup
    """The pods that accept the connection."""

    ports: Sequence[int]
    """TCP ports allowed."""

    description: str
    """What this connection is for (written as an annotation on both policies)."""


class AllowTraffic(pulumi.ComponentResource):
    """Allows `source` to open TCP connections to `destination` on `ports`, and nothing else.

    Every kiban namespace denies all ingress and egress by default, so a connection needs an egress rule on the
    client's side and an ingress rule on the server's side; this component writes both.
    """

    def __init__(self, resource_name: str, args: AllowTrafficArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:network:AllowTraffic", resource_name, None, opts)
        if not args.ports:
            raise ValueError(f"{resource_name}: allow at least one port")
        child = pulumi.ResourceOptions(parent=self)
        ports = [k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p) for p in args.ports]
        annotations = {"kiban.dev/allows": args.description}

        everyone = isinstance(args.source, TrafficSource) and args.source.any_source
        sources = [] if everyone else [args.source.peer()] if isinstance(args.source, PodGroup) else args.source.to_peers()
        if not sources and not everyone:  # an empty `from` admits every source: never write one by accident
            raise ValueError(f"{resource_name}: the traffic source selects nothing")
        k8s.networking.v1.NetworkPolicy(
            f"{resource_name}-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"allow-{resource_name}-in",
                namespace=args.destination.namespace,
                labels=MANAGED_BY,
                annotations=annotations,
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(args.destination.labels)),
                policy_types=["Ingress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=sources or None, ports=ports)],
            ),
            opts=child,
        )
        if isinstance(args.source, PodGroup):
            k8s.networking.v1.NetworkPolicy(
                f"{resource_name}-egress",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"allow-{resource_name}-out",
                    namespace=args.source.namespace,
                    labels=MANAGED_BY,
                    annotations=annotations,
                ),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(args.source.labels)),
                    policy_types=["Egress"],
                    egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[args.destination.peer()], ports=ports)],
                ),
                opts=child,
            )
        self.register_outputs({})


@dataclass(frozen=True)
class AllowApiServerArgs:
    """Arguments of `AllowApiServer`."""

    pods: PodGroup
    """The pods that call the Kubernetes API (controllers, operators' sidecars)."""

    api_server: ApiServerEndpoint
    """Where the cluster's API server is (from the cluster contract)."""

    description: str
    """Why these pods call the API (written as an annotation on the policy)."""


class AllowApiServer(pulumi.ComponentResource):
    """Lets `pods` call the Kubernetes API server, and nothing else, through their namespace's default-deny.

    Without it a controller in a default-deny namespace cannot list or watch anything: on K3s (kube-router) and on
    GKE Dataplane V2 NetworkPolicies apply to API server traffic like to any other.
    """

    def __init__(self, resource_name: str, args: AllowApiServerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:network:AllowApiServer", resource_name, None, opts)
        k8s.networking.v1.NetworkPolicy(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"allow-{resource_name}",
                namespace=args.pods.namespace,
                labels=MANAGED_BY,
                annotations={"kiban.dev/allows": args.description},
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(args.pods.labels)),
                policy_types=["Egress"],
                egress=[args.api_server.egress_rule()],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
