"""`MilvusStandalone`: Milvus standalone with its etcd and MinIO (seed 004's compose section), hardened and backed up.

Differences from seed 004, on purpose:

- Seed 004 runs Milvus with `security_opt: seccomp:unconfined`. kiban keeps the runtime's default seccomp profile
  (`RuntimeDefault`, which Pod Security "restricted" requires) on every container, Milvus included.
- MinIO's credentials are generated (never `minioadmin`) and reach MinIO as files; Milvus gets them, its etcd and
  MinIO addresses, `mq.type: woodpecker` and authorization (with a generated root password) from `user.yaml`.
- Every process runs as a non-root user on a read-only root filesystem; each writable path is an emptyDir.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import pulumi
import yaml

from components.contracts.endpoint import DatabaseEndpoint
from components.kube.generated_secret import GeneratedSecret, GeneratedSecretArgs
from components.kube.network_access import AllowTraffic, AllowTrafficArgs, PodGroup
from components.contracts.exemptions import ScannerExemption
from components.kube.pod_spec import (
    SECURE_USER,
    ContainerSpec,
    EnvFromSecret,
    EnvLiteral,
    GpuRequest,
    RunAs,
    SecretFiles,
    WritablePath,
)
from components.kube.scheduled_backup import BACKUP_MOUNT, ScheduledBackup, ScheduledBackupArgs, prune_command
from components.kube.health_checks import ExecCheck, HealthChecks, HttpCheck
from components.kube.service_base import ServicePort, service_host
from components.kube.stateful_service import DataVolume, StatefulService, StatefulServiceArgs
from stack_config.face_recognition import MilvusSettings
from versions import versions

GRPC_PORT = 19530
"""Milvus's client port (gRPC and RESTful)."""

METRICS_PORT = 9091
"""Milvus's `/healthz` and `/metrics` port."""

ETCD_PORT = 2379
MINIO_PORT = 9000
MINIO_CONSOLE_PORT = 9001

BUCKET = "milvus-bucket"
"""The MinIO bucket Milvus keeps segments, indexes and its woodpecker WAL in (Milvus creates it on first start)."""

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

MINIO_DATA_DIR = "/data"
MINIO_SECRETS_DIR = "/run/secrets/minio"
MINIO_CERTS_DIR = "/etc/minio/certs"
"""MinIO creates `<certs-dir>/CAs` at start and stops if it cannot; its default lives under $HOME."""

MILVUS_DATA_DIR = "/var/lib/milvus"
MILVUS_CONFIG_DIR = "/milvus/configs"
"""Where Milvus reads `milvus.yaml`, `default.yaml`, then `user.yaml` (later files win), and `glog.conf`."""

USER_YAML = "user.yaml"

MILVUS_IMAGE_GID = 999
"""gid of the `milvus` group in Milvus images that run as `milvus:milvus` (uid/gid 999)."""

MILVUS_RUN_AS = RunAs(user=SECURE_USER, group=MILVUS_IMAGE_GID, fs_group=0)
"""Milvus images copy their files in with mode 0774 (nothing for "other"): owned `root:root` in images that run as
root (v2.6.1 is one), `milvus:milvus` in images built since upstream's Dockerfile switched to a `milvus` user. A uid
that is neither can execute `/milvus/bin/milvus`, preload `/milvus/lib/libjemalloc.so` and read `/milvus/configs`
only through the group bits. So the processes run as the usual high uid, with primary group 999 (the `milvus`
layout) and supplementary group 0 through fsGroup (the `root` layout; the OpenShift convention). Group 0 adds no
write access (the root filesystem is read-only), and the pod still meets Pod Security "restricted"."""

ROOT_USER = "root"
"""Milvus's built-in administrator, whose password kiban generates."""

MC_ALIAS = "milvus"
STAGING = f"{BACKUP_MOUNT}/.staging"
BACKUP_PATTERN = "milvus-*"


@dataclass(frozen=True)
class MilvusStandaloneArgs:
    """Arguments of `MilvusStandalone`. Every field is required (no defaults): the caller decides each."""

    namespace: str
    """Namespace of all the objects, e.g. `milvus` (required; it must exist already)."""

    part_of: str
    """`app.kubernetes.io/part-of`, e.g. `face-recognition` (required)."""

    settings: MilvusSettings
    """Database name, resources and volume sizes of Milvus, etcd and MinIO, and the backup schedule (required)."""

    storage_class: pulumi.Input[str]
    """StorageClass of the etcd, MinIO and Milvus data volumes and of the backup volume (required; the retained
    class when volumes are retained)."""

    gpu: GpuRequest | None
    """With a request: the `-gpu` Milvus image and the GPU reservation on the Milvus container only (required;
    `None` for the CPU build)."""

    protect: bool
    """Pulumi `protect` on the three StatefulSets, the generated secrets and the backup volume (required)."""

    retain_volumes: bool
    """Keep the data claims when the StatefulSets go, and the backup volume when Pulumi deletes it (required)."""


def render_user_yaml(
    *, etcd_endpoint: str, minio_host: str, access_key: str, secret_key: str, root_password: str
) -> str:
    """Milvus's `user.yaml`: only what differs from the image's `milvus.yaml`."""
    config = {
        "etcd": {"endpoints": etcd_endpoint},
        "minio": {
            "address": minio_host,
            "port": MINIO_PORT,
            "accessKeyID": access_key,
            "secretAccessKey": secret_key,
            "useSSL": False,
            "bucketName": BUCKET,
        },
        "mq": {"type": "woodpecker"},
        "common": {"security": {"authorizationEnabled": True, "defaultRootPassword": root_password}},
    }
    return yaml.safe_dump(config, sort_keys=False)


def mc_host_url(access_key: str, secret_key: str, minio_host: str) -> str:
    """The `MC_HOST_<alias>` value: the MinIO endpoint with the credentials in it (letters and digits only)."""
    return f"http://{access_key}:{secret_key}@{minio_host}:{MINIO_PORT}"


def _seed_health(check: HttpCheck | ExecCheck, startup_budget_seconds: int) -> HealthChecks:
    """Seed 004's healthcheck cadence (every 30s, 20s timeout, 3 retries), plus a startup budget."""
    return HealthChecks(
        readiness=check,
        liveness=check,
        startup=check,
        period_seconds=30,
        timeout_seconds=20,
        failure_threshold=3,
        startup_budget_seconds=startup_budget_seconds,
    )


class MilvusStandalone(pulumi.ComponentResource):
    """Milvus standalone, its etcd (metadata) and MinIO (segments, indexes, WAL), in one namespace.

    Each is a StatefulSet with its own volume. Only Milvus reaches etcd (2379) and MinIO (9000), and only the backup
    job besides; the caller allows its clients to reach Milvus on `port`. Clients log in as `root` with
    `root_password` (authorization is on). The root password is applied when Milvus first initialises etcd;
    regenerating it later would not change the password Milvus holds, so it is protected with the data.

    A CronJob backs up a consistent-enough copy of the state: an etcd snapshot first, then a mirror of the MinIO
    bucket. Milvus never rewrites an object and garbage-collects dropped ones only after a tolerance period, so every
    object the snapshot refers to is still in the bucket when the mirror runs.
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
        self._args = args
        self._name = resource_name
        self._child = pulumi.ResourceOptions(parent=self)
        etcd_name, minio_name, backup_name = (f"{resource_name}-{part}" for part in ("etcd", "minio", "backup"))
        self._etcd_host = service_host(etcd_name, args.namespace)
        self._minio_host = service_host(minio_name, args.namespace)

        minio_credentials = self._minio_credentials()
        config = self._milvus_config(minio_credentials.values)
        etcd = self._etcd(etcd_name)
        minio = self._minio(minio_name, minio_credentials.secret_name)
        milvus = self._milvus(config.secret_name)
        backup = self._backup(backup_name, minio_credentials.secret_name)

        connections = [
            (resource_name, milvus.pods, etcd_name, etcd.pods, ETCD_PORT, "Milvus keeps its metadata in etcd"),
            (resource_name, milvus.pods, minio_name, minio.pods, MINIO_PORT, "Milvus keeps segments and WAL in MinIO"),
            (backup_name, backup.pods, etcd_name, etcd.pods, ETCD_PORT, "the backup takes an etcd snapshot"),
            (backup_name, backup.pods, minio_name, minio.pods, MINIO_PORT, "the backup mirrors the MinIO bucket"),
        ]
        for source_name, source, destination_name, destination, port, why in connections:
            AllowTraffic(
                f"{source_name}-to-{destination_name}",
                AllowTrafficArgs(source=source, destination=destination, ports=[port], description=why),
                opts=self._child,
            )

        self.host = milvus.host
        self.port = GRPC_PORT
        self.pods = milvus.pods
        self.root_password = config.values["root-password"]
        self.database = args.settings.database
        self.endpoint = DatabaseEndpoint(self.host, self.port, self.database, ROOT_USER, self.root_password)
        self.register_outputs({"host": self.host, "port": self.port, "database": self.database})

    def _minio_credentials(self) -> GeneratedSecret:
        """MinIO's root user and password, and the `MC_HOST_` URL the backup's MinIO client logs in with."""
        return GeneratedSecret(
            f"{self._name}-minio-credentials",
            GeneratedSecretArgs(
                namespace=self._args.namespace,
                part_of=self._args.part_of,
                generated=["root-user", "root-password"],
                derived={
                    "mc-host": lambda v: pulumi.Output.all(v["root-user"], v["root-password"]).apply(
                        lambda creds: mc_host_url(creds[0], creds[1], self._minio_host)
                    )
                },
                protect=self._args.protect,
            ),
            opts=self._child,
        )

    def _milvus_config(self, minio: Mapping[str, pulumi.Output[str]]) -> GeneratedSecret:
        """Milvus's root password and its `user.yaml`, built from the generated values (nothing else in apply)."""

        def user_yaml(values: Mapping[str, pulumi.Output[str]]) -> pulumi.Output[str]:
            return pulumi.Output.all(minio["root-user"], minio["root-password"], values["root-password"]).apply(
                lambda v: render_user_yaml(
                    etcd_endpoint=f"{self._etcd_host}:{ETCD_PORT}",
                    minio_host=self._minio_host,
                    access_key=v[0],
                    secret_key=v[1],
                    root_password=v[2],
                )
            )

        return GeneratedSecret(
            f"{self._name}-config",
            GeneratedSecretArgs(
                namespace=self._args.namespace,
                part_of=self._args.part_of,
                generated=["root-password"],
                derived={USER_YAML: user_yaml},
                protect=self._args.protect,
            ),
            opts=self._child,
        )

    def _etcd(self, name: str) -> StatefulService:
        """etcd v3.5 (distroless: `etcdctl` but no shell), with seed 004's flags and compaction settings."""
        settings = self._args.settings
        healthy = ExecCheck(("etcdctl", "endpoint", "health"))
        container = ContainerSpec(
            name="etcd",
            image=versions().images.etcd,
            resources=settings.etcd_resources,
            command=["etcd"],
            args=[
                f"-advertise-client-urls=http://{self._etcd_host}:{ETCD_PORT}",
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
        return self._stateful(
            name,
            "metadata-store",
            container,
            ports=[ServicePort("client", ETCD_PORT)],
            health=_seed_health(healthy, startup_budget_seconds=300),
            volume=DataVolume("data", ETCD_MOUNT, settings.etcd_storage_size, self._args.storage_class),
            scanner_exemptions=ETCD_TLS_EXEMPTIONS,
        )

    def _minio(self, name: str, credentials: pulumi.Input[str]) -> StatefulService:
        """MinIO with generated root credentials read from files (`MINIO_ROOT_*_FILE`)."""
        settings = self._args.settings
        container = ContainerSpec(
            name="minio",
            image=versions().images.minio,
            resources=settings.minio_resources,
            args=[
                "minio",
                "server",
                MINIO_DATA_DIR,
                "--console-address",
                f":{MINIO_CONSOLE_PORT}",
                "--certs-dir",
                MINIO_CERTS_DIR,
            ],
            env=[
                EnvLiteral("MINIO_ROOT_USER_FILE", f"{MINIO_SECRETS_DIR}/root-user"),
                EnvLiteral("MINIO_ROOT_PASSWORD_FILE", f"{MINIO_SECRETS_DIR}/root-password"),
            ],
            secret_files=[SecretFiles(credentials, MINIO_SECRETS_DIR, keys=("root-user", "root-password"))],
            writable_paths=[WritablePath("/tmp"), WritablePath(MINIO_CERTS_DIR, size_limit="1Mi")],
        )
        return self._stateful(
            name,
            "object-store",
            container,
            ports=[ServicePort("api", MINIO_PORT)],
            health=_seed_health(HttpCheck("/minio/health/live", "api"), startup_budget_seconds=300),
            volume=DataVolume("data", MINIO_DATA_DIR, settings.minio_storage_size, self._args.storage_class),
        )

    def _milvus(self, config_secret: pulumi.Input[str]) -> StatefulService:
        """Milvus standalone, with `user.yaml` laid over the image's configuration directory.

        Milvus reads every file from one directory (`MILVUSCONF`, else `/milvus/configs`): `milvus.yaml` and
        `glog.conf` from the image, and `user.yaml`. Mounting the Secret over that directory, or pointing
        `MILVUSCONF` at the Secret, would hide the image's files (segcore loads `glog.conf` from there), so, as the
        upstream chart does, only `user.yaml` is mounted into it (a subPath mount of the Secret, read-only).
        """
        settings, gpu = self._args.settings, self._args.gpu
        image = versions().images.milvus_gpu if gpu else versions().images.milvus
        container = ContainerSpec(
            name="milvus",
            image=image,
            resources=settings.resources,
            args=["milvus", "run", "standalone"],
            writable_paths=[WritablePath("/tmp"), WritablePath("/milvus/logs")],
            secret_files=[SecretFiles(config_secret, f"{MILVUS_CONFIG_DIR}/{USER_YAML}", single_file=USER_YAML)],
        )
        return self._stateful(
            self._name,
            "vector-database",
            container,
            ports=[ServicePort("grpc", GRPC_PORT), ServicePort("metrics", METRICS_PORT)],
            # Seed 004 gives Milvus a 90s start period; first starts (bucket creation, WAL recovery) take longer.
            health=_seed_health(HttpCheck("/healthz", "metrics"), startup_budget_seconds=600),
            volume=DataVolume("data", MILVUS_DATA_DIR, settings.storage_size, self._args.storage_class),
            run_as=MILVUS_RUN_AS,
            gpu=gpu,
            # Time to flush growing segments to MinIO on the way down.
            termination_grace_period_seconds=120,
        )

    def _stateful(
        self,
        name: str,
        component: str,
        container: ContainerSpec,
        *,
        ports: list[ServicePort],
        health: HealthChecks,
        volume: DataVolume,
        run_as: RunAs | None = None,
        gpu: GpuRequest | None = None,
        termination_grace_period_seconds: int | None = None,
        scanner_exemptions: list[ScannerExemption] | None = None,
    ) -> StatefulService:
        """One single-replica StatefulSet with a data volume, protected and retained as the caller says."""
        return StatefulService(
            name,
            StatefulServiceArgs(
                namespace=self._args.namespace,
                part_of=self._args.part_of,
                component=component,
                container=container,
                ports=ports,
                health=health,
                data_volumes=[volume],
                retain_volumes=self._args.retain_volumes,
                protect=self._args.protect,
                gpu=gpu,
                run_as=run_as or RunAs(),
                termination_grace_period_seconds=termination_grace_period_seconds,
                scanner_exemptions=scanner_exemptions or (),
            ),
            opts=self._child,
        )

    def _backup(self, name: str, minio_credentials: pulumi.Input[str]) -> ScheduledBackup:
        """Four steps on the backup volume: clear the staging directory, snapshot etcd into it, mirror the bucket into
        it, then rename it to a dated directory and prune old ones. A failed run leaves only `.staging`, which the
        next run clears; a dated directory is always complete."""
        settings = self._args.settings
        images = versions().images
        shell = settings.etcd_resources  # the smallest container of the set: enough for mkdir, mv and find
        prepare = ContainerSpec(
            name="prepare",
            image=images.busybox,
            resources=shell,
            command=["/bin/sh", "-c", f"set -eu\nrm -rf {STAGING}\nmkdir -p {STAGING}/minio"],
        )
        snapshot = ContainerSpec(
            name="etcd-snapshot",
            image=images.etcd,
            resources=settings.etcd_resources,
            command=[
                "etcdctl",
                f"--endpoints=http://{self._etcd_host}:{ETCD_PORT}",
                "--command-timeout=30m",
                "snapshot",
                "save",
                f"{STAGING}/etcd.db",
            ],
        )
        mirror = ContainerSpec(
            name="minio-mirror",
            image=images.minio_client,
            resources=settings.minio_resources,
            command=["mc", "--config-dir", "/tmp/mc", "mirror", "--quiet", f"{MC_ALIAS}/{BUCKET}", f"{STAGING}/minio"],
            env=[EnvFromSecret(f"MC_HOST_{MC_ALIAS}", minio_credentials, "mc-host")],
        )
        finalize = ContainerSpec(
            name="finalize",
            image=images.busybox,
            resources=shell,
            command=[
                "/bin/sh",
                "-c",
                "\n".join(
                    [
                        "set -eu",
                        'target="' + BACKUP_MOUNT + '/milvus-$(date -u +%Y%m%dT%H%M%SZ)"',
                        f'mv {STAGING} "$target"',
                        prune_command(BACKUP_PATTERN, settings.backup.retention_days),
                        'echo "backup written: $target"',
                    ]
                ),
            ],
        )
        return ScheduledBackup(
            name,
            ScheduledBackupArgs(
                namespace=self._args.namespace,
                part_of=self._args.part_of,
                settings=settings.backup,
                storage_class=self._args.storage_class,
                steps=[prepare, snapshot, mirror, finalize],
                protect=self._args.protect,
                retain_volume=self._args.retain_volumes,
                scanner_exemptions=[
                    ScannerExemption(
                        "CKV_K8S_35",
                        "the MinIO client takes an alias's credentials only from MC_HOST_<alias> or from a config "
                        "file it writes itself; the variable comes from a Secret key and lives only for the mirror step",
                    )
                ],
            ),
            opts=self._child,
        )
