"""`cluster_target`: the one place that turns `kiban:cluster` into the component for its kind."""

from __future__ import annotations

import pulumi

from components.clusters.existing_gke_target import ExistingGkeTarget
from components.clusters.k3s_target import K3sTarget
from components.contracts.cluster import ClusterTarget
from stack_config.cluster import ClusterConfig, ExistingGkeCluster, K3sCluster


def cluster_target(resource_name: str, config: ClusterConfig, opts: pulumi.ResourceOptions | None = None) -> ClusterTarget:
    """The target for `config.kind`: every target yields an explicit Kubernetes provider and the cluster contract."""
    match config:
        case K3sCluster():
            return K3sTarget(resource_name, config, opts)
        case ExistingGkeCluster():
            return ExistingGkeTarget(resource_name, config, opts)
    raise TypeError(f"no cluster target for kind {config.kind!r}")
