"""The cloud capability: the cluster the stack deploys to, its explicit providers, and what only a cloud has.

The only code that asks which kind of cluster it is (`GkeTarget` or not): everything else reads the cluster
contract (`ClusterFacts`) and the `GcpProject` below, which is absent off Google Cloud.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_gcp
import pulumi_random

from components.clusters.gke_target import NODE_ROLES, GkeTarget
from components.clusters.targets import cluster_target
from components.contracts.cluster import ClusterTarget
from components.platform.ci_identity import CiIdentity, CiIdentityArgs
from components.platform.preview_access import PreviewAccess
from stack_config.stack import StackConfig
from versions import Versions


@dataclass(frozen=True)
class GcpProject:
    """The Google Cloud project a GKE cluster kiban creates lives in."""

    provider: pulumi_gcp.Provider
    """The project's explicit provider."""

    project: str
    """The project id."""

    image_pullers: Mapping[str, pulumi.Input[str]]
    """IAM members that pull kiban's images, by label: the node pools' service accounts (`<pool>-nodes`) and, where
    CI has an identity, its daily scan (`ci-scan`), which pulls the releases."""

    image_pushers: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """IAM members that push kiban's images: CI's `images` account (`ci-images`), where CI has an identity."""

    apis: Sequence[pulumi.Resource] = ()
    """The project's enabled APIs, which whatever uses them waits for."""


@dataclass(frozen=True)
class Cloud:
    """Where the stack runs."""

    cluster: ClusterTarget
    """The cluster target: its Kubernetes provider and its facts."""

    generator: pulumi_random.Provider
    """The explicit `random` provider every generated secret uses (every stack disables all default providers)."""

    gcp: GcpProject | None
    """The GCP project of a cluster kiban creates on GKE; None elsewhere."""

    exports: Mapping[str, pulumi.Input[object]]
    """What only this kind of cluster has to say (GKE's ingress address and DNS record, the CI identity; the homelab
    preview's token Secret)."""

    @property
    def on_cluster(self) -> pulumi.ResourceOptions:
        """Options of everything deployed onto the cluster: its Kubernetes provider and the `random` provider."""
        return pulumi.ResourceOptions(providers=[self.cluster.provider, self.generator])


def cloud(stack: StackConfig, pinned: Versions) -> Cloud:
    """The cluster target of `kiban:cluster`; on K3s the read-only account pull requests preview the homelab with;
    on a GKE cluster kiban creates, CI's keyless identity (`cluster.github`) and what the project's other users
    need of it."""
    cluster = cluster_target(
        "cluster",
        stack.cluster,
        device_plugin_chart=pinned.charts.nvidia_device_plugin,
        helm_timeout_seconds=stack.timeouts.helm_release_seconds,
    )
    generator = pulumi_random.Provider("random")
    if not isinstance(cluster, GkeTarget):
        exports: dict[str, pulumi.Input[object]] = {}
        if stack.cluster.kind == "k3s":
            # The homelab is previewed from pull requests (after a maintainer's approval) with a read-only account;
            # prod only by the job that applies it (docs/ci-and-delivery.md).
            preview = PreviewAccess(
                "preview-access", opts=pulumi.ResourceOptions(providers=[cluster.provider, generator])
            )
            exports["previewTokenSecret"] = preview.token_secret  # HOMELAB_PREVIEW_KUBECONFIG's token and CA
        return Cloud(cluster=cluster, generator=generator, gcp=None, exports=exports)

    config = stack.cluster
    identity = (
        CiIdentity(
            "ci-identity",
            CiIdentityArgs(
                project=config.project,
                github=config.github,
                node_service_accounts={pool: account.name for pool, account in cluster.node_service_accounts.items()},
                node_roles=NODE_ROLES,
                after=cluster.apis,
            ),
            opts=pulumi.ResourceOptions(provider=cluster.gcp_provider),
        )
        if config.github is not None
        else None
    )
    gcp = GcpProject(
        provider=cluster.gcp_provider,
        project=config.project,
        image_pullers={
            f"{pool}-nodes": account.email.apply(lambda e: f"serviceAccount:{e}")
            for pool, account in cluster.node_service_accounts.items()
        }
        | ({"ci-scan": identity.members["scan"]} if identity else {}),
        image_pushers={"ci-images": identity.members["images"]} if identity else {},
        apis=cluster.apis,
    )
    address = cluster.ingress_address.address
    exports = {
        "ingressAddress": address,
        "dnsRecord": address.apply(lambda a: f"{stack.ingress.host}. A {a}"),
        "gkeCluster": cluster.cluster.name,
    }
    if identity is not None:
        exports["ciWorkloadIdentityProvider"] = identity.provider_name
        exports["ciServiceAccounts"] = identity.emails
    return Cloud(cluster=cluster, generator=generator, gcp=gcp, exports=exports)
