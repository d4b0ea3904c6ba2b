"""`ScheduledBackup`: a CronJob that writes dated backups onto its own (retained) volume and prunes old ones.

The component owns the life of a backup on the volume; the caller's steps only write into a staging directory:
1. `prepare` clears `/backup/.staging` (what a failed run left) and creates it;
2. the caller's steps run in order and write their files under `$BACKUP_STAGING`;
3. `finalize` renames the staging directory to `/backup/<prefix>-<UTC timestamp>` in one atomic `mv`, then deletes
   backups older than `retentionDays`. A dated directory is therefore always complete.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.labels import selector_labels, workload_labels
from components.kube.network_access import PodGroup
from components.contracts.exemptions import ScannerExemption, scanner_annotations
from components.kube.pod_spec import (
    ContainerSpec,
    EnvLiteral,
    RunAs,
    VolumeMount,
    pod_spec,
)
from components.contracts.workloads import BackupSettings, compute

BACKUP_MOUNT = "/backup"
"""Where every step of a backup job sees the backup volume."""

BACKUP_VOLUME = "backup"
STAGING = f"{BACKUP_MOUNT}/.staging"
"""Where the steps write; `$BACKUP_STAGING` in every step's environment."""
SHELL_RESOURCES = compute("10m", "16Mi", "200m", "64Mi")
"""`prepare` and `finalize` only create, move and delete directories."""


def prepare_script(root: str = BACKUP_MOUNT) -> str:
    """Clear what a failed run left in the staging directory, and create it."""
    staging = shlex.quote(f"{root}/.staging")
    return f"set -eu\nrm -rf {staging}\nmkdir -p {staging}"


def finalize_script(prefix: str, retention_days: int, root: str = BACKUP_MOUNT) -> str:
    """Publish the staging directory as `<prefix>-<UTC timestamp>` atomically, then prune backups older than
    `retention_days` whole days (`find -mtime +N` counts whole days, so N is one less). Only busybox's `sh`,
    `date`, `mv`, `find` and `rm` are used."""
    pattern = shlex.quote(f"{prefix}-*")
    return "\n".join(
        [
            "set -eu",
            f'target={shlex.quote(root)}/{prefix}-"$(date -u +%Y%m%dT%H%M%SZ)"',
            f'mv {shlex.quote(root + "/.staging")} "$target"',
            f"find {shlex.quote(root)} -mindepth 1 -maxdepth 1 -name {pattern} -mtime +{retention_days - 1} "
            "-exec rm -rf {} +",
            'echo "backup written: $target"',
        ]
    )


@dataclass(frozen=True)
class ScheduledBackupArgs:
    """Arguments of `ScheduledBackup`."""

    namespace: str
    """Namespace (required): the one of the data store, so that its Secrets can be mounted."""

    part_of: str
    """`app.kubernetes.io/part-of` (required)."""

    settings: BackupSettings
    """Schedule, time zone, retention and volume size (required)."""

    storage_class: pulumi.Input[str]
    """StorageClass of the backup volume (required; the retained one when volumes are retained)."""

    prefix: str
    """Backups are named `<prefix>-<UTC timestamp>` (required), e.g. `postgres-20260301T030000Z/`."""

    steps: Sequence[ContainerSpec]
    """The containers that make one backup, run in order, each writing its files under `$BACKUP_STAGING`
    (required, at least one). They see the backup volume at /backup."""

    shell_image: str
    """Image with a POSIX shell, `mv`, `find` and `date` for `prepare` and `finalize` (required): a pinned busybox."""

    run_as: RunAs = field(default_factory=RunAs)
    """Identity of the backup processes. Default: uid/gid/fsGroup 10001."""

    extra_volumes: Sequence[k8s.core.v1.VolumeArgs] = ()
    """More pod volumes for the steps. Default: none."""

    protect: bool = False
    """Pulumi `protect` on the backup volume. Default: false."""

    retain_volume: bool = True
    """Leave the backup volume in the cluster when Pulumi deletes it (`retainOnDelete`). Default: true."""

    scanner_exemptions: Sequence[ScannerExemption] = ()
    """Scanner checks that do not apply, each with its reason. Default: none."""


class ScheduledBackup(pulumi.ComponentResource):
    """Backups on a schedule: never two at once, a failed run retried twice, the last three runs kept for logs."""

    claim_name: pulumi.Output[str]
    """The PersistentVolumeClaim holding the backups (restore from it)."""

    pods: PodGroup
    """The backup job's pods, for the network policies that let them reach the data store."""

    def __init__(self, resource_name: str, args: ScheduledBackupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:backup:ScheduledBackup", resource_name, None, opts)
        if not args.steps:
            raise ValueError(f"{resource_name}: a backup needs at least one step")
        labels = workload_labels(resource_name, args.part_of, "backup")
        self.pods = PodGroup(namespace=args.namespace, labels=selector_labels(resource_name, args.part_of))
        claim = self._volume(resource_name, args, labels)
        self.claim_name = claim.metadata.name
        self._cron_job(resource_name, args, labels, claim)
        self.register_outputs({"claim_name": self.claim_name})

    def _volume(
        self, resource_name: str, args: ScheduledBackupArgs, labels: dict[str, str]
    ) -> k8s.core.v1.PersistentVolumeClaim:
        """The backups' own volume, protected and left in the cluster on delete as the args say: the backups must
        outlive the data store they save."""
        return k8s.core.v1.PersistentVolumeClaim(
            f"{resource_name}-volume",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=resource_name, namespace=args.namespace, labels=labels),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                storage_class_name=args.storage_class,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": args.settings.storage_size}),
            ),
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, retain_on_delete=args.retain_volume
            ),
        )

    @staticmethod
    def _containers(args: ScheduledBackupArgs) -> list[ContainerSpec]:
        """One run's containers in order: `prepare`, the caller's steps (each seeing the volume and
        `$BACKUP_STAGING`), then `finalize`, which publishes the backup and prunes old ones."""
        mount = VolumeMount(BACKUP_VOLUME, BACKUP_MOUNT)
        shell = dict(image=args.shell_image, resources=SHELL_RESOURCES, writable_paths=())
        prepare = ContainerSpec(name="prepare", command=["/bin/sh", "-c", prepare_script()], **shell)
        finalize = ContainerSpec(
            name="finalize",
            command=["/bin/sh", "-c", finalize_script(args.prefix, args.settings.retention_days)],
            **shell,
        )
        staging = EnvLiteral("BACKUP_STAGING", STAGING)
        return [
            replace(prepare, mounts=[mount]),
            *(replace(s, mounts=[*s.mounts, mount], env=[*s.env, staging]) for s in args.steps),
            replace(finalize, mounts=[mount]),
        ]

    def _cron_job(
        self,
        resource_name: str,
        args: ScheduledBackupArgs,
        labels: dict[str, str],
        claim: k8s.core.v1.PersistentVolumeClaim,
    ) -> None:
        """The CronJob: on the schedule, never two runs at once, a failed run retried twice and stopped after six
        hours, the last three runs of each outcome kept for their logs."""
        steps = self._containers(args)
        k8s.batch.v1.CronJob(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=resource_name,
                namespace=args.namespace,
                labels=labels,
                annotations=scanner_annotations([s.image for s in steps], args.scanner_exemptions),
            ),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule=args.settings.schedule,
                time_zone=args.settings.time_zone,
                concurrency_policy="Forbid",
                starting_deadline_seconds=3600,
                successful_jobs_history_limit=3,
                failed_jobs_history_limit=3,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.batch.v1.JobSpecArgs(
                        backoff_limit=2,
                        active_deadline_seconds=6 * 3600,
                        ttl_seconds_after_finished=7 * 24 * 3600,
                        template=self._pod(args, labels, steps, claim),
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _pod(
        args: ScheduledBackupArgs,
        labels: dict[str, str],
        steps: list[ContainerSpec],
        claim: k8s.core.v1.PersistentVolumeClaim,
    ) -> k8s.core.v1.PodTemplateSpecArgs:
        """A run's pod: every step but the last as an init container (so they run in order, each after the one
        before succeeded), the last as its container, never restarted, with the backup volume and the extra ones."""
        return k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
            spec=pod_spec(
                init_containers=steps[:-1],
                containers=steps[-1:],
                run_as=args.run_as,
                restart_policy="Never",
                volumes=[
                    k8s.core.v1.VolumeArgs(
                        name=BACKUP_VOLUME,
                        persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(
                            claim_name=claim.metadata.name
                        ),
                    ),
                    *args.extra_volumes,
                ],
            ),
        )
