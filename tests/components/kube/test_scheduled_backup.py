"""ScheduledBackup: the component owns staging, the atomic publish and pruning; the caller's steps only write into
`$BACKUP_STAGING`. The scripts are run for real (sh, find, mv, date) on a temporary directory."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from components.kube.pod_spec import ContainerSpec
from components.kube.scheduled_backup import (
    STAGING,
    ScheduledBackup,
    ScheduledBackupArgs,
    finalize_script,
    prepare_script,
)
from components.contracts.workloads import BackupSettings, compute

R = compute("50m", "64Mi", "100m", "128Mi")
SHELL = "docker.io/library/busybox:1.37.0"


def backup_args(**overrides) -> ScheduledBackupArgs:
    fields = dict(
        namespace="data",
        part_of="t",
        settings=BackupSettings(schedule="@daily", time_zone="Asia/Tokyo", storage_size="5Gi", retention_days=3),
        storage_class="kiban-retain",
        prefix="store",
        steps=[
            ContainerSpec(name="snapshot", image="r/a:1", resources=R, command=["snap"]),
            ContainerSpec(name="copy", image="r/b:1", resources=R, command=["copy"]),
        ],
        shell_image=SHELL,
        protect=True,
    )
    fields.update(overrides)
    return ScheduledBackupArgs(**fields)


def test_prepare_then_the_steps_then_finalize_on_the_backup_volume(declare):
    deployment = declare(lambda opts: ScheduledBackup("store-backup", backup_args(), opts))
    cron = deployment.object("CronJob", "store-backup")["spec"]
    assert cron["schedule"] == "@daily" and cron["timeZone"] == "Asia/Tokyo"
    assert cron["concurrencyPolicy"] == "Forbid"
    job = cron["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 2
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert [c["name"] for c in pod["initContainers"]] == ["prepare", "snapshot", "copy"]
    assert [c["name"] for c in pod["containers"]] == ["finalize"]
    every = pod["initContainers"] + pod["containers"]
    for c in every:
        assert {"name": "backup", "mountPath": "/backup"} in c["volumeMounts"]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
    staged = {c["name"] for c in every if {"name": "BACKUP_STAGING", "value": STAGING} in c.get("env", [])}
    assert staged == {"snapshot", "copy"}, "the caller's steps are told where to write"
    shells = {c["name"]: c for c in every if c["image"] == SHELL}
    assert shells["prepare"]["command"] == ["/bin/sh", "-c", prepare_script()]
    assert shells["finalize"]["command"] == ["/bin/sh", "-c", finalize_script("store", 3)]
    claim = deployment.object("PersistentVolumeClaim", "store-backup")
    assert claim["spec"]["storageClassName"] == "kiban-retain"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    registration = deployment.registration("PersistentVolumeClaim", "store-backup")
    assert registration.protect and registration.retain_on_delete


def run(script: str) -> str:
    return subprocess.run(["/bin/sh", "-c", script], check=True, capture_output=True, text=True).stdout


def age(path: Path, days: float) -> None:
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def test_a_run_clears_what_a_failed_run_left_and_publishes_atomically(tmp_path: Path):
    (tmp_path / ".staging" / "half").mkdir(parents=True)  # a run that died midway
    run(prepare_script(str(tmp_path)))
    assert list((tmp_path / ".staging").iterdir()) == []
    (tmp_path / ".staging" / "store.dump").write_text("data")
    out = run(finalize_script("store", 3, str(tmp_path)))
    (published,) = tmp_path.glob("store-*")
    assert (published / "store.dump").read_text() == "data"
    assert not (tmp_path / ".staging").exists()
    assert out.strip() == f"backup written: {published}"


def test_pruning_keeps_exactly_the_retention_window_and_only_its_own_backups(tmp_path: Path):
    for name, days in (("store-old", 3.5), ("store-edge", 2.5), ("store-new", 0.2), ("other-old", 10)):
        (tmp_path / name).mkdir()
        age(tmp_path / name, days)
    run(prepare_script(str(tmp_path)))
    run(finalize_script("store", 3, str(tmp_path)))
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("store-2"))
    assert left == ["other-old", "store-edge", "store-new"], "older than 3 whole days goes; others' files stay"


def test_a_backup_without_steps_is_refused(declare):
    with pytest.raises(ValueError, match="at least one step"):
        declare(lambda opts: ScheduledBackup("b", backup_args(steps=[]), opts))
