"""`kiban:sharedData`: the data stores shared by the applications Argo CD delivers (the homelab's shared PostgreSQL
and Valkey). An application asks for them with `sharedData` in its `kiban:argocd.applications` entry; kiban then
creates its database and login, or its Valkey user, and writes the connection into a Secret of its namespace."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from stack_config.base import ConfigModel, MemoryQuantity, StorageQuantity, memory_bytes
from stack_config.workloads import BackupSettings, ComputeResources, compute

SharedStore = Literal["postgres", "valkey"]
"""A shared store an application may use."""

VALKEY_PROBE_USER = "kiban-probe"
"""The Valkey user kiban's health checks log in as (PING only)."""

RESERVED_LOGINS: dict[str, set[str]] = {
    "postgres": {"postgres", "app", "streaming_replica"},
    "valkey": {"default", VALKEY_PROBE_USER},
}
"""Logins a shared store keeps for itself: CloudNativePG's superuser, bootstrap owner and replication role;
Valkey's default user and kiban's health-check user. An application whose login would be one is refused."""


class SharedPostgresConfig(ConfigModel):
    """PostgreSQL for the delivered applications, run by the CloudNativePG operator (its official chart): one
    cluster, and per application that asks for it a database it owns and a login with a generated password."""

    instances: int = Field(default=1, ge=1, le=5)
    """PostgreSQL instances: one primary and the rest streaming replicas the operator fails over to. Default: `1`;
    `3` survives the loss of a node."""

    storage_size: StorageQuantity = "10Gi"
    """Each instance's volume. Default: `10Gi`. After the first deploy it may only grow, and only where the
    StorageClass allows expansion (the operator resizes the claims)."""

    resources: ComputeResources = Field(default_factory=lambda: compute("100m", "256Mi", "1", "1Gi"))
    """Each instance's `postgres` container. Default: requests 100m / 256Mi, limits 1 CPU / 1Gi."""

    backup: BackupSettings = Field(default_factory=BackupSettings)
    """Nightly `pg_dumpall` of every application's database onto its own volume. Default: daily at 03:00 UTC, kept
    7 days, on a 20Gi volume."""


class SharedValkeyConfig(ConfigModel):
    """Valkey for the delivered applications: one server with its data on a volume (append-only file), the default
    user disabled, and per application that asks for it an ACL user confined to keys and channels named
    `<application>:*`."""

    max_memory: MemoryQuantity = "256Mi"
    """`maxmemory`: the data set's ceiling. Default: `256Mi`."""

    eviction_policy: Literal["noeviction", "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu"] = "noeviction"
    """`maxmemory-policy`. Default: `noeviction`: writes fail when full rather than losing sessions or queued jobs."""

    storage_size: StorageQuantity = "2Gi"
    """The data volume. Default: `2Gi`. Fixed after the first deploy (a StatefulSet's claim template)."""

    resources: ComputeResources = Field(default_factory=lambda: compute("50m", "128Mi", "500m", "512Mi"))
    """The `valkey` container. Default: requests 50m / 128Mi, limits 500m / 512Mi."""

    @model_validator(mode="after")
    def _max_memory_fits_the_container(self) -> "SharedValkeyConfig":
        # Valkey needs room beyond its data set (buffers, the append-only file's rewrite): half the limit at most.
        if memory_bytes(self.max_memory) * 2 > memory_bytes(self.resources.limits.memory):
            raise ValueError(
                f"maxMemory {self.max_memory} is more than half of resources.limits.memory "
                f"{self.resources.limits.memory}: Valkey needs room beyond its data set; lower maxMemory or raise "
                "the limit"
            )
        return self


class SharedDataConfig(ConfigModel):
    """The shared stores; each is created only when it is configured."""

    postgres: SharedPostgresConfig | None = None
    """The shared PostgreSQL. Default: unset, none."""

    valkey: SharedValkeyConfig | None = None
    """The shared Valkey. Default: unset, none."""

    def enabled(self) -> set[SharedStore]:
        """The stores this stack runs."""
        return {store for store in ("postgres", "valkey") if getattr(self, store) is not None}
