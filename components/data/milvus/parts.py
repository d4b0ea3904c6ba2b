"""What the Milvus parts share: their ports, how one single-replica stateful part is declared, the Compose file's
healthcheck cadence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi

from components.contracts.exemptions import ScannerExemption
from components.contracts.stores import StoreDurability
from components.kube.health_checks import ExecCheck, HealthChecks, HttpCheck
from components.kube.pod_spec import ContainerSpec, GpuRequest, RunAs
from components.kube.service_base import ServicePort
from components.kube.stateful_service import DataVolume, StatefulService, StatefulServiceArgs

GRPC_PORT = 19530
"""Milvus's client port (gRPC and RESTful)."""

METRICS_PORT = 9091
"""Milvus's `/healthz` and `/metrics` port."""

ETCD_PORT = 2379
MINIO_PORT = 9000
MINIO_CONSOLE_PORT = 9001

BUCKET = "milvus-bucket"
"""The MinIO bucket Milvus keeps segments, indexes and its woodpecker WAL in (Milvus creates it on first start)."""


@dataclass(frozen=True)
class PartContext:
    """What every part is declared with: where, by whom, and how safely (the store's one `StoreDurability`)."""

    parent: pulumi.Resource
    namespace: str
    part_of: str
    durability: StoreDurability


def seed_health(check: HttpCheck | ExecCheck, startup_budget_seconds: int) -> HealthChecks:
    """The Compose file's healthcheck cadence (every 30s, 20s timeout, 3 retries), plus a startup budget."""
    return HealthChecks(
        readiness=check,
        liveness=check,
        startup=check,
        period_seconds=30,
        timeout_seconds=20,
        failure_threshold=3,
        startup_budget_seconds=startup_budget_seconds,
    )


def single_replica(
    context: PartContext,
    name: str,
    component: str,
    container: ContainerSpec,
    *,
    ports: Sequence[ServicePort],
    health: HealthChecks,
    volume: DataVolume,
    run_as: RunAs | None = None,
    gpu: GpuRequest | None = None,
    termination_grace_period_seconds: int | None = None,
    scanner_exemptions: Sequence[ScannerExemption] = (),
    restart_on: Sequence[pulumi.Input[str]] = (),
) -> StatefulService:
    """One single-replica StatefulSet with a data volume, protected and retained as the context says."""
    return StatefulService(
        name,
        StatefulServiceArgs(
            namespace=context.namespace,
            part_of=context.part_of,
            component=component,
            container=container,
            ports=ports,
            health=health,
            data_volumes=[volume],
            retain_volumes=context.durability.retain_volumes,
            protect=context.durability.protect,
            gpu=gpu,
            run_as=run_as or RunAs(),
            termination_grace_period_seconds=termination_grace_period_seconds,
            scanner_exemptions=scanner_exemptions,
            ready_timeout_minutes=context.durability.ready_timeout_minutes,
            restart_on=restart_on,
        ),
        opts=pulumi.ResourceOptions(parent=context.parent),
    )
