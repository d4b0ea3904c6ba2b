"""Hardened pod and container building blocks, shared by long-running workloads and scheduled jobs.

The secure defaults live here, so every caller gets them without asking: a numeric non-root user, no privilege
escalation, every capability dropped, the runtime's default seccomp profile, a read-only root filesystem with
emptyDirs for the paths that must be writable, no service account token, requests and limits on every container.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence, Union

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import GPU_RESOURCE, GpuScheduling
from components.contracts.images import Image, image_reference, is_pinned
from components.contracts.workloads import ComputeResources

SECURE_USER = 10001
"""Default uid and gid: numeric, non-root and above 10000, clear of users baked into base images."""


@dataclass(frozen=True)
class RunAs:
    """The identity a pod's processes run as."""

    user: int = SECURE_USER
    """uid of every container. Default: 10001."""

    group: int = SECURE_USER
    """Primary gid. Default: 10001."""

    fs_group: int | None = SECURE_USER
    """Group that owns mounted volumes, so the non-root user can write them. Default: 10001."""

    def __post_init__(self) -> None:
        if self.user == 0 or self.group == 0:
            raise ValueError("kiban does not run containers as root (uid/gid 0)")


@dataclass(frozen=True)
class EnvLiteral:
    """A plain environment variable; never for secrets (use `EnvFromSecret`)."""

    name: str
    value: str


@dataclass(frozen=True)
class EnvFromSecret:
    """An environment variable read from a Secret key when the container starts."""

    name: str
    secret_name: pulumi.Input[str]
    key: str


EnvVar = Union[EnvLiteral, EnvFromSecret]


@dataclass(frozen=True)
class SecretFiles:
    """Keys of a Secret mounted read-only as files (preferred over env for secrets)."""

    secret_name: pulumi.Input[str]
    mount_path: str
    """A directory holding one file per key, or with `single_file`, the path of that one file."""
    keys: tuple[str, ...] = ()
    """Only these keys; default: every key of the Secret."""
    single_file: str | None = None
    """Mount only this key, as the file `mount_path` (a subPath mount), beside what the image has in that directory.
    Default: unset, `mount_path` is a directory of its own."""

    def mounted_keys(self) -> tuple[str, ...]:
        """The keys projected into the volume (none listed: all of them)."""
        return (self.single_file,) if self.single_file is not None else self.keys

    def __post_init__(self) -> None:
        if self.single_file is not None and self.keys not in ((), (self.single_file,)):
            raise ValueError(f"{self.mount_path}: a single-file mount takes exactly the key {self.single_file!r}")


@dataclass(frozen=True)
class WritablePath:
    """A path that must be writable despite the read-only root filesystem: backed by an emptyDir."""

    path: str
    size_limit: str = "256Mi"
    in_memory: bool = False


@dataclass(frozen=True)
class VolumeMount:
    """A volume the caller defines (e.g. a PersistentVolumeClaim), mounted at a path."""

    volume_name: str
    mount_path: str
    read_only: bool = False


@dataclass(frozen=True)
class GpuRequest:
    """A reservation of GPUs (whole ones, or time-sliced shares where the cluster shares them) for a pod's main
    container, placed the way the cluster target says. The one way kiban represents a GPU reservation."""

    count: int
    scheduling: GpuScheduling

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("a GPU request reserves at least one GPU")
        if self.scheduling is None:
            raise ValueError("a GPU request needs a cluster with GPU nodes (its cluster facts have no `gpu`)")


@dataclass(frozen=True)
class ContainerSpec:
    """One hardened container."""

    name: str
    image: Image
    """A pinned reference (text) or one of kiban's own images, resolved once from the stack's registry."""
    resources: ComputeResources
    command: Sequence[str] | None = None
    args: Sequence[str] | None = None
    env: Sequence[EnvVar] = ()
    secret_files: Sequence[SecretFiles] = ()
    writable_paths: Sequence[WritablePath] = (WritablePath("/tmp"),)
    """Default: `/tmp` only."""
    mounts: Sequence[VolumeMount] = ()
    ports: Sequence[k8s.core.v1.ContainerPortArgs] = ()
    probes: Mapping[str, k8s.core.v1.ProbeArgs] = field(default_factory=dict)
    """`readiness_probe`, `liveness_probe`, `startup_probe` keyword arguments."""


def volume_name(prefix: str, path: str) -> str:
    """A DNS-label volume name derived from a mount path."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"
    return f"{prefix}-{slug}"[:63].rstrip("-")


def _env(var: EnvVar) -> k8s.core.v1.EnvVarArgs:
    if isinstance(var, EnvLiteral):
        return k8s.core.v1.EnvVarArgs(name=var.name, value=var.value)
    return k8s.core.v1.EnvVarArgs(
        name=var.name,
        value_from=k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=var.secret_name, key=var.key)
        ),
    )


def container_volumes(spec: ContainerSpec) -> list[k8s.core.v1.VolumeArgs]:
    """The emptyDir and Secret volumes a container's own settings need."""
    volumes = [
        k8s.core.v1.VolumeArgs(
            name=volume_name(f"{spec.name}-w", w.path),
            empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                size_limit=w.size_limit, medium="Memory" if w.in_memory else None
            ),
        )
        for w in spec.writable_paths
    ]
    volumes += [
        k8s.core.v1.VolumeArgs(
            name=volume_name(f"{spec.name}-s", s.mount_path),
            secret=k8s.core.v1.SecretVolumeSourceArgs(
                secret_name=s.secret_name,
                default_mode=0o440,
                items=[k8s.core.v1.KeyToPathArgs(key=k, path=k) for k in s.mounted_keys()] or None,
            ),
        )
        for s in spec.secret_files
    ]
    return volumes


def container(spec: ContainerSpec, run_as: RunAs, gpus: int = 0) -> k8s.core.v1.ContainerArgs:
    """A container with kiban's secure defaults; `gpus` reserves that many `nvidia.com/gpu` (limits only: the
    scheduler takes requests to equal them)."""
    limits = {"cpu": spec.resources.limits.cpu, "memory": spec.resources.limits.memory}
    if gpus:
        limits[GPU_RESOURCE] = str(gpus)
    mounts = [
        k8s.core.v1.VolumeMountArgs(name=volume_name(f"{spec.name}-w", w.path), mount_path=w.path)
        for w in spec.writable_paths
    ]
    mounts += [
        k8s.core.v1.VolumeMountArgs(
            name=volume_name(f"{spec.name}-s", s.mount_path),
            mount_path=s.mount_path,
            sub_path=s.single_file,
            read_only=True,
        )
        for s in spec.secret_files
    ]
    mounts += [
        k8s.core.v1.VolumeMountArgs(name=m.volume_name, mount_path=m.mount_path, read_only=m.read_only or None)
        for m in spec.mounts
    ]
    return k8s.core.v1.ContainerArgs(
        name=spec.name,
        image=image_reference(spec.image),
        # Tags such as dev's `latest` move; pull on every start so a restart runs what the registry holds.
        image_pull_policy="IfNotPresent" if is_pinned(spec.image) else "Always",
        command=list(spec.command) if spec.command else None,
        args=list(spec.args) if spec.args else None,
        env=[_env(v) for v in spec.env] or None,
        ports=list(spec.ports) or None,
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": spec.resources.requests.cpu, "memory": spec.resources.requests.memory},
            limits=limits,
        ),
        security_context=k8s.core.v1.SecurityContextArgs(
            allow_privilege_escalation=False,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
            privileged=False,
            read_only_root_filesystem=True,
            run_as_non_root=True,
            run_as_user=run_as.user,
            run_as_group=run_as.group,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        volume_mounts=mounts or None,
        termination_message_policy="FallbackToLogsOnError",
        **spec.probes,
    )


def pod_spec(
    *,
    containers: Sequence[ContainerSpec],
    run_as: RunAs,
    service_account_name: pulumi.Input[str] | None = None,
    init_containers: Sequence[ContainerSpec] = (),
    volumes: Sequence[k8s.core.v1.VolumeArgs] = (),
    gpu: GpuRequest | None = None,
    restart_policy: str | None = None,
    topology_spread: Mapping[str, str] | None = None,
    termination_grace_period_seconds: int | None = None,
    image_pull_secrets: Sequence[pulumi.Input[str]] = (),
) -> k8s.core.v1.PodSpecArgs:
    """A pod spec with kiban's secure defaults. `gpu` reserves GPUs for the main container (the first of
    `containers`) and places the pod on GPU nodes as the cluster requires. `image_pull_secrets` names the
    `kubernetes.io/dockerconfigjson` Secrets of a private registry (default: none)."""
    every = [*init_containers, *containers]
    names = [c.name for c in every]
    if len(set(names)) != len(names):
        raise ValueError(f"container names repeat: {names}")
    return k8s.core.v1.PodSpecArgs(
        service_account_name=service_account_name,
        automount_service_account_token=False,
        enable_service_links=False,
        restart_policy=restart_policy,
        image_pull_secrets=[k8s.core.v1.LocalObjectReferenceArgs(name=n) for n in image_pull_secrets] or None,
        termination_grace_period_seconds=termination_grace_period_seconds,
        security_context=k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True,
            run_as_user=run_as.user,
            run_as_group=run_as.group,
            fs_group=run_as.fs_group,
            fs_group_change_policy="OnRootMismatch" if run_as.fs_group is not None else None,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        runtime_class_name=gpu.scheduling.runtime_class_name if gpu else None,
        node_selector=dict(gpu.scheduling.node_selector) if gpu else None,
        tolerations=[t.to_args() for t in gpu.scheduling.tolerations] if gpu else None,
        topology_spread_constraints=(
            [
                k8s.core.v1.TopologySpreadConstraintArgs(
                    max_skew=1,
                    topology_key="kubernetes.io/hostname",
                    when_unsatisfiable="ScheduleAnyway",
                    label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(topology_spread)),
                )
            ]
            if topology_spread
            else None
        ),
        init_containers=[container(c, run_as) for c in init_containers] or None,
        containers=[container(c, run_as, gpu.count if gpu and i == 0 else 0) for i, c in enumerate(containers)],
        volumes=[v for c in every for v in container_volumes(c)] + list(volumes) or None,
    )
