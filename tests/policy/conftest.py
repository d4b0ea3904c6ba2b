"""Each stack rendered once per session, and checkov run at most once per stack, for the policy suite."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from components.clusters.settings import ClusterConfig
from tools.mock_engine import ROOT, Deployment, available_stacks, run_program, stack_config
from tools.custom_workloads import with_stand_ins
from tools.manifests import manifests
from tools.render import write

STACKS = available_stacks()
CHECKOV = ROOT / "tools" / "scanners" / ".venv" / "bin" / "checkov"
CHECKOV_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class RenderedStack:
    """What one stack declares, as `make render` writes it (secrets redacted)."""

    stack: str
    kubernetes_version: str
    """The cluster's `major.minor` from `kiban:cluster.kubernetesVersion` (its default when unset)."""
    deployment: Deployment
    objects: list[dict[str, Any]]

    @property
    def kubernetes_patch_version(self) -> str:
        """The version string kubernetes-validate takes, e.g. `1.35.0`."""
        return f"{self.kubernetes_version}.0"


@dataclass(frozen=True)
class CheckovScan:
    """checkov's JSON report on one stack's rendered manifests."""

    directory: Path
    summary: dict[str, Any]
    results: dict[str, list[dict[str, Any]]]


def kubernetes_version(stack: str) -> str:
    cluster = TypeAdapter(ClusterConfig).validate_python(stack_config(stack)["kiban:cluster"])
    return cluster.kubernetes_version


class _Renders:
    """Runs the program for a stack the first time it is asked for, then hands out the same render."""

    def __init__(self) -> None:
        self._cache: dict[str, RenderedStack] = {}

    def __call__(self, stack: str) -> RenderedStack:
        if stack not in self._cache:
            deployment = run_program(stack)
            self._cache[stack] = RenderedStack(stack, kubernetes_version(stack), deployment, manifests(deployment))
        return self._cache[stack]


class _CheckovScans:
    """Writes a stack's manifests to a temporary directory and runs checkov on them, once per stack.

    Called from the tests themselves (not at fixture setup), so that a missing scanner is a test failure.
    """

    def __init__(self, renders: _Renders, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._renders = renders
        self._tmp = tmp_path_factory
        self._cache: dict[str, CheckovScan] = {}

    def __call__(self, stack: str) -> CheckovScan:
        if stack not in self._cache:
            self._cache[stack] = self._scan(stack)
        return self._cache[stack]

    def _scan(self, stack: str) -> CheckovScan:
        if not CHECKOV.exists():
            pytest.fail(f"checkov is not installed at {CHECKOV.relative_to(ROOT)}: run `make scanners` to create it")
        directory = self._tmp.mktemp(f"rendered-{stack}")
        # checkov knows only built-in kinds: Rollouts and analysis Jobs are scanned through their stand-ins.
        write(with_stand_ins(self._renders(stack).objects), directory)
        # Without --quiet: it would drop the skipped checks from the JSON, and with them the reasons to check.
        command = [str(CHECKOV), "-d", str(directory), "--framework", "kubernetes", "-o", "json", "--skip-download"]
        environment = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}  # offline: no check-id mapping download
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=CHECKOV_TIMEOUT_SECONDS, env=environment, check=False
        )
        # checkov exits 0 when every check passes and 1 when some fail; anything else is checkov itself failing.
        if completed.returncode not in (0, 1):
            pytest.fail(
                f"checkov failed (exit {completed.returncode}) on {stack}'s manifests in {directory}:\n"
                f"{completed.stderr[-4000:]}"
            )
        try:
            report = json.loads(completed.stdout)
        except json.JSONDecodeError as error:
            pytest.fail(f"checkov printed no JSON report for {stack} ({error}):\n{completed.stdout[-2000:]}")
        return _parse_report(report, directory)


def _parse_report(report: Any, directory: Path) -> CheckovScan:
    """One framework gives one report object; a scan that found nothing to check gives only the summary."""
    if isinstance(report, list):
        kubernetes = [r for r in report if r.get("check_type") == "kubernetes"]
        if len(kubernetes) != 1:
            pytest.fail(f"expected one kubernetes report from checkov, got: {[r.get('check_type') for r in report]}")
        report = kubernetes[0]
    if "summary" in report:
        return CheckovScan(directory, report["summary"], report.get("results") or {})
    if "resource_count" in report:
        return CheckovScan(directory, report, {})
    pytest.fail(f"unrecognised checkov report: {sorted(report)}")


@pytest.fixture(scope="session")
def renders() -> _Renders:
    return _Renders()


@pytest.fixture(scope="session")
def checkov_scans(renders: _Renders, tmp_path_factory: pytest.TempPathFactory) -> _CheckovScans:
    return _CheckovScans(renders, tmp_path_factory)


@pytest.fixture(params=STACKS)
def rendered(request: pytest.FixtureRequest, renders: _Renders) -> RenderedStack:
    """One stack's render (parametrised over every stack; each is rendered once per session)."""
    return renders(request.param)
