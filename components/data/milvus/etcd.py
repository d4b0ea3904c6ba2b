"""Milvus's metadata store: a single-member etcd v3.5 (distroless: `etcdctl` but no shell)."""

from __future__ import annotations

from components.contracts.exemptions import ScannerExemption
from components.data.milvus.parts import ETCD_PORT, PartContext, seed_health, single_replica
from components.kube.health_checks import ExecCheck
from components.kube.pod_spec import ContainerSpec, EnvLiteral
from components.kube.service_base import ServicePort, service_host
from components.kube.stateful_service import DataVolume, StatefulService
from components.contracts.stores import MilvusSettings

ETCD_MOUNT = "/etcd"
ETCD_DATA_DIR = f"{ETCD_MOUNT}/data"
"""A subdirectory of the volume: etcd creates it with the 0700 it wants, away from `lost+found`."""

ETCD_TLS_EXEMPTIONS = [
    ScannerExemption(
        check,
        "Milvus's private metadata store, not the cluster's control-plane etcd: NetworkPolicies admit only Milvus and "
        f"its backup job to the client port, and no client certificate authority exists for it ({why})",
    )
    for check, why in (
        ("CKV_K8S_116", "client TLS"),
        ("CKV_K8S_117", "client certificate auth"),
        ("CKV_K8S_119", "peer TLS; a single member whose peer listener stays on localhost"),
    )
]
"""The CIS control-plane etcd checks, which do not fit an application's single-member etcd."""


def etcd(context: PartContext, name: str, settings: MilvusSettings, image: str) -> StatefulService:
    """etcd with the Compose file's flags and compaction settings; it advertises its own Service's address."""
    container = ContainerSpec(
        name="etcd",
        image=image,
        resources=settings.etcd_resources,
        command=["etcd"],
        args=[
            f"-advertise-client-urls=http://{service_host(name, context.namespace)}:{ETCD_PORT}",
            "-listen-client-urls",
            f"http://0.0.0.0:{ETCD_PORT}",
            "--data-dir",
            ETCD_DATA_DIR,
        ],
        env=[
            EnvLiteral("ETCD_AUTO_COMPACTION_MODE", "revision"),
            EnvLiteral("ETCD_AUTO_COMPACTION_RETENTION", "1000"),
            EnvLiteral("ETCD_QUOTA_BACKEND_BYTES", "4294967296"),
            EnvLiteral("ETCD_SNAPSHOT_COUNT", "50000"),
        ],
    )
    return single_replica(
        context,
        name,
        "metadata-store",
        container,
        ports=[ServicePort("client", ETCD_PORT)],
        health=seed_health(ExecCheck(("etcdctl", "endpoint", "health")), startup_budget_seconds=300),
        volume=DataVolume("data", ETCD_MOUNT, settings.etcd_storage_size, context.durability.storage_class),
        scanner_exemptions=ETCD_TLS_EXEMPTIONS,
    )
