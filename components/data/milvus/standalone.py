"""`MilvusStandalone`: Milvus standalone with its etcd and MinIO (the application's Docker Compose deployment), hardened and backed up.

Differences from the application's Compose file, on purpose:

- The Compose file runs Milvus with `security_opt: seccomp:unconfined`. kiban keeps the runtime's default seccomp profile
  (`RuntimeDefault`, which Pod Security "restricted" requires) on every container, Milvus included.
- MinIO's credentials are generated (never `minioadmin`) and reach MinIO as files; Milvus gets them, its etcd and
  MinIO addresses, `mq.type: woodpecker` and authorization (with a generated root password) from `user.yaml`.
- Every process runs as a non-root user on a read-only root filesystem; each writable path is an emptyDir.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.contracts.endpoint import DatabaseEndpoint
from components.data.milvus.backup import milvus_backup
from components.data.milvus.etcd import etcd
from components.data.milvus.minio import minio, minio_credentials
from components.data.milvus.parts import ETCD_PORT, GRPC_PORT, MINIO_PORT, PartContext
from components.data.milvus.server import ROOT_USER, milvus_config, milvus_server
from components.kube.network_access import AllowTraffic, AllowTrafficArgs, PodGroup
from components.kube.pod_spec import GpuRequest
from components.contracts.settings import memory_bytes
from components.contracts.stores import MilvusSettings, StoreDurability


@dataclass(frozen=True)
class MilvusImages:
    """The images of Milvus and its parts, pinned in versions.json and resolved by the caller."""

    milvus: str
    """Milvus itself: the `-gpu` build when the stack reserves a GPU for it."""

    etcd: str
    minio: str
    minio_client: str
    """`mc`, for the backup's bucket mirror."""

    shell: str
    """A small image with a shell (busybox), for the backup's own steps."""


@dataclass(frozen=True)
class MilvusStandaloneArgs:
    """Arguments of `MilvusStandalone`. Every field is required (no defaults): the caller decides each."""

    namespace: str
    """Namespace of all the objects, e.g. `milvus` (required; it must exist already)."""

    part_of: str
    """`app.kubernetes.io/part-of`, e.g. `face-recognition` (required)."""

    settings: MilvusSettings
    """Database name, resources and volume sizes of Milvus, etcd and MinIO, and the backup schedule (required)."""

    durability: StoreDurability
    """StorageClass, protection, retention and ready timeout (required): of the etcd, MinIO and Milvus volumes and
    StatefulSets, the generated secrets and the backup volume (the GPU image is several GB: give it time)."""

    images: MilvusImages
    """The images (required)."""

    gpu: GpuRequest | None
    """The GPU reservation of the Milvus container (required; `None` for the CPU build)."""


class MilvusStandalone(pulumi.ComponentResource):
    """Milvus standalone, its etcd (metadata) and MinIO (segments, indexes, WAL), in one namespace.

    Each is a StatefulSet with its own volume. Only Milvus reaches etcd (2379) and MinIO (9000), and only the backup
    job besides; the caller allows its clients to reach Milvus on `port`. Clients log in as `root` with
    `root_password` (authorization is on). A CronJob backs up an etcd snapshot and a mirror of the MinIO bucket.
    """

    host: str
    """In-cluster DNS name of the Milvus Service."""

    port: int
    """Milvus's client port (19530)."""

    pods: PodGroup
    """The Milvus pods (for the caller's `AllowTraffic` from its clients)."""

    root_password: pulumi.Output[str]
    """Password of Milvus's `root` user (`Output.secret`, generated); copy it into a client's own Secret."""

    database: str
    """The Milvus database clients use (`settings.database`)."""

    endpoint: DatabaseEndpoint
    """Host, port, database, `root` and its password, for clients."""

    def __init__(self, resource_name: str, args: MilvusStandaloneArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:data:MilvusStandalone", resource_name, None, opts)
        settings, images = args.settings, args.images
        context = PartContext(
            parent=self,
            namespace=args.namespace,
            part_of=args.part_of,
            durability=args.durability,
        )
        etcd_name, minio_name, backup_name = (f"{resource_name}-{part}" for part in ("etcd", "minio", "backup"))

        metadata = etcd(context, etcd_name, settings, images.etcd)
        credentials = minio_credentials(context, f"{resource_name}-minio-credentials")
        objects = minio(context, minio_name, settings, images.minio, credentials)
        config = milvus_config(
            context,
            f"{resource_name}-config",
            etcd_host=metadata.host,
            minio_host=objects.host,
            minio=credentials.values,
            gpu_memory_mb=int(memory_bytes(settings.gpu_memory_pool) // 2**20) if args.gpu else None,
        )
        server = milvus_server(context, resource_name, settings, images.milvus, config, args.gpu)
        backup = milvus_backup(
            context,
            backup_name,
            settings,
            etcd_image=images.etcd,
            minio_client_image=images.minio_client,
            shell_image=images.shell,
            etcd_host=metadata.host,
            minio_host=objects.host,
            minio=credentials.values,
        )

        connections = [
            (resource_name, server.pods, etcd_name, metadata.pods, ETCD_PORT, "Milvus keeps its metadata in etcd"),
            (resource_name, server.pods, minio_name, objects.pods, MINIO_PORT, "Milvus keeps segments and WAL in MinIO"),
            (backup_name, backup.pods, etcd_name, metadata.pods, ETCD_PORT, "the backup takes an etcd snapshot"),
            (backup_name, backup.pods, minio_name, objects.pods, MINIO_PORT, "the backup mirrors the MinIO bucket"),
        ]
        for source_name, source, destination_name, destination, port, why in connections:
            AllowTraffic(
                f"{source_name}-to-{destination_name}",
                AllowTrafficArgs(source=source, destination=destination, ports=[port], description=why),
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.host = server.host
        self.port = GRPC_PORT
        self.pods = server.pods
        self.root_password = config.values["root-password"]
        self.database = settings.database
        self.endpoint = DatabaseEndpoint(self.host, self.port, self.database, ROOT_USER, self.root_password)
        self.register_outputs({"host": self.host, "port": self.port, "database": self.database})
