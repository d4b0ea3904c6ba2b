"""The data capability: how hard the stack's stores are to lose, and the stores the delivered applications share.

`StoreDurability` is built here once, from `kiban:dataSafety` and `kiban:timeouts`, and every store takes it (the
face-recognition system's PostgreSQL and Milvus, the shared PostgreSQL and Valkey).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from capabilities.cloud import Cloud
from components.apps.delivered.shared_data_access import StoreAccess
from components.contracts.stores import SharedStore, StoreDurability
from components.data.shared_postgres import SharedPostgres, SharedPostgresArgs
from components.data.shared_valkey import SharedValkey, SharedValkeyArgs
from components.kube.retained_storage_class import RetainedStorageClass, RetainedStorageClassArgs
from components.platform.cloudnative_pg import CloudNativePg, CloudNativePgArgs
from stack_config.stack import StackConfig
from versions import Versions


def store_durability(stack: StackConfig, cloud: Cloud) -> StoreDurability:
    """Protected and retained as `kiban:dataSafety` says: retained volumes get a StorageClass whose reclaim policy
    is `Retain`, the others the cluster's default; stores may take `timeouts.workloadReadyMinutes` to be ready."""
    safety = stack.data_safety
    facts = cloud.cluster.facts
    return StoreDurability(
        storage_class=(
            RetainedStorageClass("retained-storage", RetainedStorageClassArgs(cluster=facts), opts=cloud.on_cluster).name
            if safety.retain_volumes
            else facts.storage_class
        ),
        protect=safety.protect,
        retain_volumes=safety.retain_volumes,
        ready_timeout_minutes=stack.timeouts.workload_ready_minutes,
    )


@dataclass(frozen=True)
class SharedData:
    """The shared stores the stack runs (each only when `kiban:sharedData` sets it)."""

    postgres: SharedPostgres | None
    valkey: SharedValkey | None

    def access(self, application: str, stores: Sequence[SharedStore]) -> dict[SharedStore, StoreAccess]:
        """`application`'s way into each of `stores` (the ones its entry names; the config guarantees each is set):
        its own login, the store's pods, and what of the store it waits for: its own login and database, not the
        whole store (every application's logins would make N² dependency edges)."""
        running: dict[SharedStore, SharedPostgres | SharedValkey | None] = {
            "postgres": self.postgres,
            "valkey": self.valkey,
        }
        return {
            name: StoreAccess(store.logins[application], store.pods, store.access_after[application])
            for name, store in running.items()
            if store is not None and name in stores
        }


def shared_data(stack: StackConfig, cloud: Cloud, durability: StoreDurability, pinned: Versions) -> SharedData:
    """The PostgreSQL (through the CloudNativePG operator) and the Valkey of `kiban:sharedData` (seed 002's homelab
    `shared/`), each with a login per application of `kiban:argocd.applications` that names it."""
    config = stack.shared_data
    facts = cloud.cluster.facts
    users_of = {
        store: [app.name for app in stack.argocd.applications if store in app.shared_data] for store in ("postgres", "valkey")
    }
    postgres: SharedPostgres | None = None
    if config.postgres is not None:
        operator = CloudNativePg(
            "cloudnative-pg",
            CloudNativePgArgs(
                cluster=facts, chart=pinned.charts.cloudnative_pg, timeout_seconds=stack.timeouts.helm_release_seconds
            ),
            opts=cloud.on_cluster,
        )
        postgres = SharedPostgres(
            "shared-postgres",
            SharedPostgresArgs(
                config=config.postgres,
                applications=users_of["postgres"],
                operator=operator.operator,
                cluster=facts,
                image=pinned.images.cnpg_postgres,
                shell_image=pinned.images.busybox,
                durability=durability,
            ),
            opts=cloud.on_cluster,
        )
    valkey: SharedValkey | None = None
    if config.valkey is not None:
        valkey = SharedValkey(
            "shared-valkey",
            SharedValkeyArgs(
                config=config.valkey,
                applications=users_of["valkey"],
                cluster=facts,
                image=pinned.images.valkey,
                durability=durability,
            ),
            opts=cloud.on_cluster,
        )
    return SharedData(postgres=postgres, valkey=valkey)
