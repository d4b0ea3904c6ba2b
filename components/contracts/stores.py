"""What kiban's data stores take: their settings (sizes, resources, backups; the stack file's `faceRecognition.postgres`,
`faceRecognition.milvus` and `sharedData` sections are written in them), how hard they are to lose
(`StoreDurability`), and the rule that turns an application's name into its login on a shared store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import pulumi
from pydantic import Field, model_validator

from components.contracts.settings import ConfigModel, MemoryQuantity, StorageQuantity, memory_bytes, worded
from components.contracts.workloads import BackupSettings, ComputeResources, compute


@dataclass(frozen=True)
class StoreDurability:
    """How hard a stack makes it to lose a data store: built once from the stack's `dataSafety` and `timeouts`, and
    handed to every store (the face-recognition system's PostgreSQL and Milvus, the shared PostgreSQL and Valkey)."""

    storage_class: pulumi.Input[str]
    """StorageClass of every data and backup volume: the retained one when volumes are retained, else the
    cluster's default."""

    protect: bool
    """Pulumi `protect` on what holds data (StatefulSets, their Secrets, backup volumes, their namespaces)."""

    retain_volumes: bool
    """Keep claims when their StatefulSet goes or scales down, and Pulumi's `retainOnDelete` on what holds data."""

    ready_timeout_minutes: int | None = None
    """How long `pulumi up` waits for a store to become ready, on create and on update. Default: Pulumi's 10
    minutes."""


PostgresIdentifier = Annotated[
    str,
    worded(r"[a-z_][a-z0-9_]{0,62}", "a PostgreSQL name: 1 to 63 lower-case letters, digits and '_', not starting "
           "with a digit"),
]


class PostgresSettings(ConfigModel):
    """The PostgreSQL 15 database of the face-recognition backend."""

    database: PostgresIdentifier = "faceapi"
    """Database name (`SQL_DATABASE`). Default: `faceapi`. Fixed after the first deploy (the server creates it when
    it initialises its volume; a new name is refused at start)."""

    username: PostgresIdentifier = "faceuser"
    """Owner of the database (`SQL_USERNAME`). Default: `faceuser`. The password is generated. Fixed after the first
    deploy (the server creates it when it initialises its volume; a new name is refused at start)."""

    storage_size: StorageQuantity = "10Gi"
    """Size of the data volume. Default: `10Gi`. Fixed after the first deploy (a StatefulSet's claim template)."""

    resources: ComputeResources = Field(default_factory=lambda: compute("250m", "256Mi", "1", "1Gi"))
    """Default: requests 250m / 256Mi, limits 1 CPU / 1Gi."""

    shared_memory: MemoryQuantity = "128Mi"
    """Size of /dev/shm (the Compose file's `shm_size`). Default: `128Mi`."""

    backup: BackupSettings = Field(default_factory=BackupSettings)
    """Nightly `pg_dump`. Default: daily at 03:00 UTC, kept 7 days, on a 20Gi volume."""


class MilvusSettings(ConfigModel):
    """Milvus standalone (vector database) with its etcd and MinIO."""

    database: Annotated[
        str, worded(r"[A-Za-z_][A-Za-z0-9_]*", "a Milvus database name: letters, digits and '_', not starting "
                    "with a digit", 255)
    ] = "default"
    """Milvus database the backend uses (`MILVUS_DB_DB_NAME`). Default: `default`."""

    resources: ComputeResources = Field(default_factory=lambda: compute("500m", "2Gi", "2", "8Gi"))
    """Milvus container. Default: requests 500m / 2Gi, limits 2 CPU / 8Gi."""

    storage_size: StorageQuantity = "20Gi"
    """Milvus local volume (/var/lib/milvus). Default: `20Gi`. Fixed after the first deploy (a StatefulSet's claim
    template)."""

    etcd_resources: ComputeResources = Field(default_factory=lambda: compute("100m", "256Mi", "500m", "1Gi"))
    """etcd container. Default: requests 100m / 256Mi, limits 500m / 1Gi."""

    etcd_storage_size: StorageQuantity = "5Gi"
    """etcd data volume. Default: `5Gi` (etcd's backend quota is 4GiB). Fixed after the first deploy (a
    StatefulSet's claim template)."""

    minio_resources: ComputeResources = Field(default_factory=lambda: compute("100m", "256Mi", "1", "2Gi"))
    """MinIO container. Default: requests 100m / 256Mi, limits 1 CPU / 2Gi."""

    gpu_memory_pool: MemoryQuantity = "2Gi"
    """Milvus's GPU memory pool (`gpu.maxMemSize`; it starts at half) on a GPU stack. Size it for the share of the
    GPU Milvus gets: under time-slicing the GPU's memory is shared, unisolated, with the other pods on it.
    Default: `2Gi`."""

    minio_storage_size: StorageQuantity = "50Gi"
    """MinIO data volume (the vectors and indexes). Default: `50Gi`. Fixed after the first deploy (a StatefulSet's
    claim template)."""

    backup: BackupSettings = Field(default_factory=lambda: BackupSettings(schedule="30 3 * * *", storage_size="50Gi"))
    """etcd snapshot plus a copy of the MinIO bucket. Default: daily at 03:30 UTC, kept 7 days, on a 50Gi volume."""


SharedStore = Literal["postgres", "valkey"]
"""A shared store an application may use."""

VALKEY_PROBE_USER = "kiban-probe"
"""The Valkey user kiban's health checks log in as (PING only)."""

RESERVED_LOGINS: dict[str, set[str]] = {
    "postgres": {"postgres", "app", "streaming_replica", "template0", "template1"},
    "valkey": {"default", VALKEY_PROBE_USER},
}
"""Logins a shared store keeps for itself: CloudNativePG's superuser, bootstrap owner (and its database `app`) and
replication role, and PostgreSQL's template databases (an application's PostgreSQL login is also its database's
name); Valkey's default user and kiban's health-check user. An application whose login would be one is refused."""


class SharedPostgresSettings(ConfigModel):
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


class SharedValkeySettings(ConfigModel):
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
    def _max_memory_fits_the_container(self) -> "SharedValkeySettings":
        # Valkey needs room beyond its data set (buffers, the append-only file's rewrite): half the limit at most.
        if memory_bytes(self.max_memory) * 2 > memory_bytes(self.resources.limits.memory):
            raise ValueError(
                f"maxMemory {self.max_memory} is more than half of resources.limits.memory "
                f"{self.resources.limits.memory}: Valkey needs room beyond its data set; lower maxMemory or raise "
                "the limit"
            )
        return self


def store_login(store: SharedStore, application: str) -> str:
    """The login an application gets on a shared store: on PostgreSQL its name with `-` as `_` (an identifier that
    needs no quoting, also the name of its database), on Valkey its name as it is."""
    return application.replace("-", "_") if store == "postgres" else application

