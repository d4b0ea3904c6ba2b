"""ScheduledBackup: ordered steps on a retained volume, safe CronJob settings, and pruning."""

from __future__ import annotations

import pytest

from components.kube.pod_spec import ContainerSpec
from components.kube.scheduled_backup import ScheduledBackup, ScheduledBackupArgs, prune_command
from stack_config.workloads import BackupSettings, compute

R = compute("50m", "64Mi", "100m", "128Mi")


def test_steps_run_in_order_on_the_backup_volume(declare):
    steps = [
        ContainerSpec(name="snapshot", image="r/a:1", resources=R, command=["snap"]),
        ContainerSpec(name="copy", image="r/b:1", resources=R, command=["copy"]),
        ContainerSpec(name="finish", image="r/c:1", resources=R, command=["finish"]),
    ]
    deployment = declare(
        lambda opts: ScheduledBackup(
            "store-backup",
            ScheduledBackupArgs(
                namespace="data",
                part_of="t",
                settings=BackupSettings(schedule="@daily", time_zone="Asia/Tokyo", storage_size="5Gi"),
                storage_class="kiban-retain",
                steps=steps,
                protect=True,
            ),
            opts,
        )
    )
    cron = deployment.object("CronJob", "store-backup")["spec"]
    assert cron["schedule"] == "@daily" and cron["timeZone"] == "Asia/Tokyo"
    assert cron["concurrencyPolicy"] == "Forbid"
    job = cron["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 2
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert [c["name"] for c in pod["initContainers"]] == ["snapshot", "copy"]
    assert [c["name"] for c in pod["containers"]] == ["finish"]
    for c in pod["initContainers"] + pod["containers"]:
        assert {"name": "backup", "mountPath": "/backup"} in c["volumeMounts"]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
    claim = deployment.object("PersistentVolumeClaim", "store-backup")
    assert claim["spec"]["storageClassName"] == "kiban-retain"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    registration = deployment.registration("PersistentVolumeClaim", "store-backup")
    assert registration.protect and registration.retain_on_delete


def test_prune_command_keeps_exactly_the_retention_window():
    assert prune_command("*.dump", 7) == "find /backup -mindepth 1 -maxdepth 1 -name '*.dump' -mtime +6 -exec rm -rf {} +"


def test_a_backup_without_steps_is_refused(declare):
    with pytest.raises(ValueError, match="at least one step"):
        declare(
            lambda opts: ScheduledBackup(
                "b", ScheduledBackupArgs(namespace="d", part_of="t", settings=BackupSettings(), storage_class="s", steps=[]), opts
            )
        )
