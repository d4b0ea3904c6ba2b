"""`PlatformNamespace`: a namespace with Pod Security Admission labels and a default-deny network policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import ClusterFacts
from components.contracts.labels import platform_labels
from components.contracts.stores import StoreDurability

PodSecurityLevel = Literal["restricted", "baseline", "privileged"]


@dataclass(frozen=True)
class PlatformNamespaceArgs:
    """Arguments of `PlatformNamespace`."""

    name: str
    """Namespace name."""

    cluster: ClusterFacts
    """The cluster (its Kubernetes version pins the Pod Security Standards version, its DNS pods are allowed)."""

    part_of: str
    """`app.kubernetes.io/part-of` of the namespace."""

    pod_security: PodSecurityLevel = "restricted"
    """Pod Security Standard enforced (and audited, and warned about). Default: `restricted`."""

    pod_security_reason: str | None = None
    """Why a level below `restricted` is needed; required for `baseline` and `privileged`. Default: unset."""

    protect: bool = False
    """Pulumi `protect` on the Namespace: deleting a namespace deletes every claim in it, so namespaces that hold
    data are protected along with the data. Default: false."""

    retain_on_delete: bool = False
    """Leave the Namespace in the cluster when Pulumi deletes it (`retainOnDelete`): a namespace holding retained
    claims must outlive the stack, or deleting it deletes them anyway. Default: false."""

    @classmethod
    def holding_data(
        cls, name: str, cluster: ClusterFacts, part_of: str, durability: StoreDurability
    ) -> PlatformNamespaceArgs:
        """A data store's own `restricted`, default-deny namespace, protected and kept on delete like the data it
        holds (as `durability` says)."""
        return cls(
            name=name,
            cluster=cluster,
            part_of=part_of,
            protect=durability.protect,
            retain_on_delete=durability.retain_volumes,
        )


class PlatformNamespace(pulumi.ComponentResource):
    """A namespace kiban puts pods in.

    Pods there run under the chosen Pod Security Standard (default `restricted`), and no traffic reaches or leaves
    them unless a NetworkPolicy allows it: a default-deny for ingress and egress, plus DNS to the cluster resolver.
    """

    name: pulumi.Output[str]
    """The namespace's name, known once it exists (depend on it to order children after it)."""

    def __init__(self, resource_name: str, args: PlatformNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:platform:PlatformNamespace", resource_name, None, opts)
        if args.pod_security != "restricted" and not args.pod_security_reason:
            raise ValueError(f"namespace {args.name}: pod security {args.pod_security!r} needs a stated reason")
        version = f"v{args.cluster.kubernetes_version}"
        annotations = {"kiban.dev/pod-security-reason": args.pod_security_reason} if args.pod_security_reason else None

        namespace = k8s.core.v1.Namespace(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.name,
                labels={
                    **platform_labels(args.part_of),
                    "pod-security.kubernetes.io/enforce": args.pod_security,
                    "pod-security.kubernetes.io/enforce-version": version,
                    "pod-security.kubernetes.io/audit": "restricted",
                    "pod-security.kubernetes.io/audit-version": version,
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/warn-version": version,
                },
                annotations=annotations,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete),
        )
        self.name = namespace.metadata.name
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        k8s.networking.v1.NetworkPolicy(
            f"{resource_name}-default-deny",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="default-deny", namespace=args.name, labels=platform_labels(args.part_of)
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Ingress", "Egress"],
            ),
            opts=in_namespace,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{resource_name}-allow-dns",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="allow-dns", namespace=args.name, labels=platform_labels(args.part_of)
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=args.cluster.dns_source.to_peers(),
                        ports=[
                            k8s.networking.v1.NetworkPolicyPortArgs(protocol="UDP", port=53),
                            k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=53),
                        ],
                    )
                ],
            ),
            opts=in_namespace,
        )
        self.register_outputs({"name": self.name})
