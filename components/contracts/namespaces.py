"""The namespaces kiban itself deploys into, named once here: the components that create them read their names from
this module, and the configuration refuses a delivered application that would land in one of them (or in one the
cluster keeps for itself)."""

from __future__ import annotations

ARGOCD = "argocd"
ARGO_ROLLOUTS = "argo-rollouts"
CNPG_SYSTEM = "cnpg-system"
NVIDIA_DEVICE_PLUGIN = "nvidia-device-plugin"
SHARED_POSTGRES = "shared-postgres"
SHARED_VALKEY = "shared-valkey"
FACE_RECOGNITION = "face-recognition"
MILVUS = "milvus"
POSTGRESQL = "postgresql"

PLATFORM: frozenset[str] = frozenset(
    {ARGOCD, ARGO_ROLLOUTS, CNPG_SYSTEM, NVIDIA_DEVICE_PLUGIN, SHARED_POSTGRES, SHARED_VALKEY, FACE_RECOGNITION,
     MILVUS, POSTGRESQL}
)
"""Every namespace a kiban component creates and owns."""

CLUSTER_RESERVED: frozenset[str] = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
"""Namespaces every Kubernetes cluster keeps for itself."""

CLUSTER_RESERVED_PREFIXES: tuple[str, ...] = ("kube-", "gke-", "gmp-")
"""Prefixes the cluster's own namespaces use (Kubernetes' `kube-`; GKE's `gke-managed-*`, `gmp-system`)."""


def owner_of(namespace: str) -> str | None:
    """Who already owns `namespace` (kiban or the cluster), in words, or None when it is free for an application."""
    if namespace in PLATFORM:
        return "kiban itself"
    if namespace in CLUSTER_RESERVED or namespace.startswith(CLUSTER_RESERVED_PREFIXES):
        return "the cluster"
    return None
