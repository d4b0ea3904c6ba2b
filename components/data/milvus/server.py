"""Milvus standalone itself, and its `user.yaml`: the etcd and MinIO it uses, woodpecker, authorization."""

from __future__ import annotations

from typing import Mapping

import pulumi
import yaml

from components.data.milvus.parts import BUCKET, ETCD_PORT, GRPC_PORT, METRICS_PORT, MINIO_PORT, PartContext, seed_health, single_replica
from components.kube.generated_secret import GeneratedSecret, GeneratedSecretArgs
from components.kube.health_checks import HttpCheck
from components.kube.pod_spec import SECURE_USER, ContainerSpec, GpuRequest, RunAs, SecretFiles, WritablePath
from components.kube.service_base import ServicePort
from components.kube.stateful_service import DataVolume, StatefulService
from components.contracts.stores import MilvusSettings

MILVUS_DATA_DIR = "/var/lib/milvus"
MILVUS_CONFIG_DIR = "/milvus/configs"
"""Where Milvus reads `milvus.yaml`, `default.yaml`, then `user.yaml` (later files win), and `glog.conf`."""

USER_YAML = "user.yaml"

ROOT_USER = "root"
"""Milvus's built-in administrator, whose password kiban generates."""

MILVUS_IMAGE_GID = 999
"""gid of the `milvus` group in Milvus images that run as `milvus:milvus` (uid/gid 999)."""

MILVUS_RUN_AS = RunAs(user=SECURE_USER, group=MILVUS_IMAGE_GID, fs_group=0)
"""Milvus images copy their files in with mode 0774 (nothing for "other"): owned `root:root` in images that run as
root (v2.6.1 is one), `milvus:milvus` in images built since upstream's Dockerfile switched to a `milvus` user. A uid
that is neither can execute `/milvus/bin/milvus`, preload `/milvus/lib/libjemalloc.so` and read `/milvus/configs`
only through the group bits. So the processes run as the usual high uid, with primary group 999 (the `milvus`
layout) and supplementary group 0 through fsGroup (the `root` layout; the OpenShift convention). Group 0 adds no
write access (the root filesystem is read-only), and the pod still meets Pod Security "restricted"."""


def render_user_yaml(
    *,
    etcd_endpoint: str,
    minio_host: str,
    access_key: str,
    secret_key: str,
    root_password: str,
    gpu_memory_mb: int | None = None,
) -> str:
    """Milvus's `user.yaml`: only what differs from the image's `milvus.yaml`; with `gpu_memory_mb`, the GPU memory
    pool (it starts at half and grows to the whole)."""
    config: dict = {
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
    if gpu_memory_mb is not None:
        config["gpu"] = {"initMemSize": gpu_memory_mb // 2, "maxMemSize": gpu_memory_mb}
    return yaml.safe_dump(config, sort_keys=False)


def milvus_config(
    context: PartContext,
    name: str,
    *,
    etcd_host: str,
    minio_host: str,
    minio: Mapping[str, pulumi.Output[str]],
    gpu_memory_mb: int | None = None,
) -> GeneratedSecret:
    """Milvus's root password and its `user.yaml`, built from the generated values (nothing else in apply). The
    root password is applied when Milvus first initialises etcd: protected with the data."""

    def user_yaml(values: Mapping[str, pulumi.Output[str]]) -> pulumi.Output[str]:
        return pulumi.Output.all(minio["root-user"], minio["root-password"], values["root-password"]).apply(
            lambda v: render_user_yaml(
                etcd_endpoint=f"{etcd_host}:{ETCD_PORT}",
                minio_host=minio_host,
                access_key=v[0],
                secret_key=v[1],
                root_password=v[2],
                gpu_memory_mb=gpu_memory_mb,
            )
        )

    return GeneratedSecret(
        name,
        GeneratedSecretArgs(
            namespace=context.namespace,
            part_of=context.part_of,
            generated=["root-password"],
            derived={USER_YAML: user_yaml},
            protect=context.durability.protect,
        ),
        opts=pulumi.ResourceOptions(parent=context.parent),
    )


def milvus_server(
    context: PartContext,
    name: str,
    settings: MilvusSettings,
    image: str,
    config: GeneratedSecret,
    gpu: GpuRequest | None,
) -> StatefulService:
    """Milvus standalone, with `user.yaml` laid over the image's configuration directory.

    Milvus reads every file from one directory (`MILVUSCONF`, else `/milvus/configs`): `milvus.yaml` and
    `glog.conf` from the image, and `user.yaml`. Mounting the Secret over that directory, or pointing
    `MILVUSCONF` at the Secret, would hide the image's files (segcore loads `glog.conf` from there), so, as the
    upstream chart does, only `user.yaml` is mounted into it (a subPath mount of the Secret, read-only).
    """
    container = ContainerSpec(
        name="milvus",
        image=image,
        resources=settings.resources,
        args=["milvus", "run", "standalone"],
        writable_paths=[WritablePath("/tmp"), WritablePath("/milvus/logs")],
        secret_files=[SecretFiles(config.secret_name, f"{MILVUS_CONFIG_DIR}/{USER_YAML}", single_file=USER_YAML)],
    )
    return single_replica(
        context,
        name,
        "vector-database",
        container,
        ports=[ServicePort("grpc", GRPC_PORT), ServicePort("metrics", METRICS_PORT)],
        # The Compose file gives Milvus a 90s start period; first starts (bucket creation, WAL recovery) take longer.
        health=seed_health(HttpCheck("/healthz", "metrics"), startup_budget_seconds=600),
        volume=DataVolume("data", MILVUS_DATA_DIR, settings.storage_size, context.durability.storage_class),
        run_as=MILVUS_RUN_AS,
        gpu=gpu,
        # Time to flush growing segments to MinIO on the way down.
        termination_grace_period_seconds=120,
        restart_on=[config.checksum],
    )
