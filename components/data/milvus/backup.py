"""Milvus's backup: an etcd snapshot, then a mirror of the MinIO bucket, into one dated directory.

Milvus never rewrites an object and garbage-collects dropped ones only after a tolerance period, so every object
the snapshot refers to is still in the bucket when the mirror runs.
"""

from __future__ import annotations

from typing import Mapping

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.exemptions import ScannerExemption
from components.contracts.labels import platform_labels
from components.data.milvus.parts import BUCKET, ETCD_PORT, MINIO_PORT, PartContext
from components.kube.pod_spec import ContainerSpec, EnvFromSecret
from components.kube.scheduled_backup import ScheduledBackup, ScheduledBackupArgs
from components.contracts.stores import MilvusSettings

MC_ALIAS = "milvus"


def mc_host_url(access_key: str, secret_key: str, minio_host: str) -> str:
    """The `MC_HOST_<alias>` value: the MinIO endpoint with the credentials in it (letters and digits only)."""
    return f"http://{access_key}:{secret_key}@{minio_host}:{MINIO_PORT}"


def milvus_backup(
    context: PartContext,
    name: str,
    settings: MilvusSettings,
    *,
    etcd_image: str,
    minio_client_image: str,
    shell_image: str,
    etcd_host: str,
    minio_host: str,
    minio: Mapping[str, pulumi.Output[str]],
) -> ScheduledBackup:
    """The backup job and the Secret its MinIO client logs in with (`<name>-minio-client`: the `MC_HOST_` URL of
    the MinIO the composer hands over)."""
    client = k8s.core.v1.Secret(
        f"{name}-minio-client",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=f"{name}-minio-client", namespace=context.namespace, labels=platform_labels(context.part_of)
        ),
        type="Opaque",
        string_data={
            "mc-host": pulumi.Output.secret(
                pulumi.Output.all(minio["root-user"], minio["root-password"]).apply(
                    lambda creds: mc_host_url(creds[0], creds[1], minio_host)
                )
            )
        },
        opts=pulumi.ResourceOptions(parent=context.parent),
    )
    mc = ["mc", "--config-dir", "/tmp/mc"]
    mc_host = [EnvFromSecret(f"MC_HOST_{MC_ALIAS}", client.metadata.name, "mc-host")]
    snapshot = ContainerSpec(
        name="etcd-snapshot",
        image=etcd_image,
        resources=settings.etcd_resources,
        command=["etcdctl", f"--endpoints=http://{etcd_host}:{ETCD_PORT}", "--command-timeout=30m", "snapshot", "save",
                 "$(BACKUP_STAGING)/etcd.db"],
    )
    # Milvus creates its bucket on first start; until then there is nothing to mirror, and mirroring a bucket that
    # does not exist fails: make sure it exists (an empty bucket mirrors to an empty directory).
    bucket = ContainerSpec(
        name="minio-bucket",
        image=minio_client_image,
        resources=settings.minio_resources,
        command=[*mc, "mb", "--ignore-existing", f"{MC_ALIAS}/{BUCKET}"],
        env=mc_host,
    )
    mirror = ContainerSpec(
        name="minio-mirror",
        image=minio_client_image,
        resources=settings.minio_resources,
        command=[*mc, "mirror", "--quiet", f"{MC_ALIAS}/{BUCKET}", "$(BACKUP_STAGING)/minio"],
        env=mc_host,
    )
    return ScheduledBackup(
        name,
        ScheduledBackupArgs(
            namespace=context.namespace,
            part_of=context.part_of,
            settings=settings.backup,
            storage_class=context.durability.storage_class,
            prefix="milvus",
            steps=[snapshot, bucket, mirror],
            shell_image=shell_image,
            protect=context.durability.protect,
            retain_volume=context.durability.retain_volumes,
            scanner_exemptions=[
                ScannerExemption(
                    "CKV_K8S_35",
                    "the MinIO client takes an alias's credentials only from MC_HOST_<alias> or from a config "
                    "file it writes itself; the variable comes from a Secret key and lives only for the mirror step",
                )
            ],
        ),
        opts=pulumi.ResourceOptions(parent=context.parent),
    )
