"""Milvus's object store: Silo (the maintained fork of the MinIO server), with generated root credentials read from
files (`MINIO_ROOT_*_FILE`).

MinIO stopped publishing images in 2025-10 and its Docker Hub repositories were deleted in 2026-09 (versions.json
`withdrawnImages`). Silo keeps MinIO's S3 API, its `MINIO_*` variables, its `/minio/health/*` routes and its on-disk
format (`.minio.sys`, the erasure layout), so an existing volume opens in place; only the executable is renamed
(silo.pgsty.com `compatibility/migration.md`). The part keeps MinIO's name in its resources, Service and volume,
which Milvus's configuration and the data already carry.
"""

from __future__ import annotations

import pulumi

from components.data.milvus.parts import MINIO_CONSOLE_PORT, MINIO_PORT, PartContext, seed_health, single_replica
from components.kube.generated_secret import GeneratedSecret, GeneratedSecretArgs
from components.kube.health_checks import HttpCheck
from components.kube.pod_spec import ContainerSpec, EnvLiteral, SecretFiles, WritablePath
from components.kube.service_base import ServicePort
from components.kube.stateful_service import DataVolume, StatefulService
from components.contracts.stores import MilvusSettings

MINIO_DATA_DIR = "/data"
MINIO_SECRETS_DIR = "/run/secrets/minio"
MINIO_CERTS_DIR = "/etc/minio/certs"
"""MinIO creates `<certs-dir>/CAs` at start and stops if it cannot; its default lives under $HOME."""
SERVER_BINARY = "silo"
"""The server's executable in the pinned image (`/usr/bin/silo`, pgsty/silo `Dockerfile.goreleaser`). The image's
entrypoint would also translate a first argument `minio`, but the container names what really runs."""


def minio_credentials(context: PartContext, name: str) -> GeneratedSecret:
    """MinIO's root user and password (fixed when MinIO first initialises its volume: protected with the data)."""
    return GeneratedSecret(
        name,
        GeneratedSecretArgs(
            namespace=context.namespace,
            part_of=context.part_of,
            generated=["root-user", "root-password"],
            protect=context.durability.protect,
        ),
        opts=pulumi.ResourceOptions(parent=context.parent),
    )


def minio(context: PartContext, name: str, settings: MilvusSettings, image: str, credentials: GeneratedSecret) -> StatefulService:
    """The object store's server on `/data`, its console on 9001 (not exposed), credentials from the Secret
    `credentials`."""
    container = ContainerSpec(
        name="minio",
        image=image,
        resources=settings.minio_resources,
        args=[SERVER_BINARY, "server", MINIO_DATA_DIR, "--console-address", f":{MINIO_CONSOLE_PORT}", "--certs-dir", MINIO_CERTS_DIR],
        env=[
            EnvLiteral("MINIO_ROOT_USER_FILE", f"{MINIO_SECRETS_DIR}/root-user"),
            EnvLiteral("MINIO_ROOT_PASSWORD_FILE", f"{MINIO_SECRETS_DIR}/root-password"),
        ],
        secret_files=[SecretFiles(credentials.secret_name, MINIO_SECRETS_DIR, keys=("root-user", "root-password"))],
        writable_paths=[WritablePath("/tmp"), WritablePath(MINIO_CERTS_DIR, size_limit="1Mi")],
    )
    return single_replica(
        context,
        name,
        "object-store",
        container,
        ports=[ServicePort("api", MINIO_PORT)],
        health=seed_health(HttpCheck("/minio/health/live", "api"), startup_budget_seconds=300),
        volume=DataVolume("data", MINIO_DATA_DIR, settings.minio_storage_size, context.durability.storage_class),
        restart_on=[credentials.checksum],
    )
