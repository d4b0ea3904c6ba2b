"""`cluster_target`: the one place that turns `kiban:cluster` into the component for its kind."""

from __future__ import annotations

import pulumi

from components.clusters.existing_gke_target import ExistingGkeTarget
from components.clusters.gke_target import GkeTarget
from components.clusters.k3s_target import K3sTarget
from components.contracts.cluster import ClusterTarget
from components.clusters.settings import ClusterConfig, ExistingGkeCluster, GkeCluster, K3sCluster
from versions import PinnedChart


def cluster_target(
    resource_name: str,
    config: ClusterConfig,
    *,
    device_plugin_chart: PinnedChart,
    helm_timeout_seconds: int = 900,
    opts: pulumi.ResourceOptions | None = None,
) -> ClusterTarget:
    """The target for `config.kind`: every target yields an explicit Kubernetes provider and the cluster contract.
    `device_plugin_chart` is NVIDIA's, for the targets that install it (K3s with GPU nodes)."""
    match config:
        case K3sCluster():
            return K3sTarget(resource_name, config, device_plugin_chart, helm_timeout_seconds, opts)
        case ExistingGkeCluster():
            return ExistingGkeTarget(resource_name, config, opts)
        case GkeCluster():
            return GkeTarget(resource_name, config, opts)
    raise TypeError(f"no cluster target for kind {config.kind!r}")
