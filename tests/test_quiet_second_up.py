"""A second `up` with nothing changed is quiet: the program run from two different checkouts (another machine, CI's
workspace, a second clone) declares exactly the same inputs, so no provider sees a diff. Image builds in
particular (pulumi-docker-build's `Image.Diff`, provider/internal/image.go) update when `context.location` or the
Dockerfile's path differ as strings, and always when `pull` is set together with `push`; a build argument that
carries a time would make every build a new digest, hence a new Rollout revision and setup Job."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.mock_engine import ROOT

STACKS = ("dev", "prod")
DUMP = """
import json, sys
from tools.mock_engine import run_program

def plain(value):  # inputs as JSON, whatever the mock engine kept in them (unknowns, secrets)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return "<" + type(value).__name__ + ">"

json.dump({stack: {r.urn: plain(r.inputs) for r in run_program(stack).registrations} for stack in sys.argv[1:]},
          sys.stdout)
"""


def _checkout(into: Path) -> Path:
    """The tracked files of this checkout, copied to `into` (a second clone, without .git or the environments)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return into


def _start(checkout: Path) -> subprocess.Popen:
    """Both stacks under the mock engine, in a fresh interpreter whose working directory and imports are `checkout`."""
    environment = {**os.environ, "PYTHONPATH": str(checkout)}
    return subprocess.Popen(
        [sys.executable, "-c", DUMP, *STACKS], cwd=checkout, env=environment, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )


def _result(run: subprocess.Popen) -> dict:
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err[-3000:]
    return json.loads(out)


@pytest.fixture(scope="module")
def two_checkouts(tmp_path_factory) -> tuple[Path, dict, Path, dict]:
    first = _checkout(tmp_path_factory.mktemp("laptop") / "kiban")
    second = _checkout(tmp_path_factory.mktemp("ci-runner") / "work" / "kiban")
    runs = _start(first), _start(second)  # at once: the two machines
    return first, _result(runs[0]), second, _result(runs[1])


@pytest.mark.parametrize("stack", STACKS)
def test_two_checkouts_declare_the_same_inputs(two_checkouts, stack):
    _, first, _, second = two_checkouts
    assert first[stack].keys() == second[stack].keys()
    differing = [urn for urn in first[stack] if first[stack][urn] != second[stack][urn]]
    assert differing == [], f"{stack}: inputs that differ between two checkouts: {differing}"


@pytest.mark.parametrize("stack", STACKS)
def test_no_input_names_the_checkout_or_always_pulls(two_checkouts, stack):
    first_root, first, _, _ = two_checkouts
    text = json.dumps(first[stack])
    assert str(first_root) not in text, f"{stack}: an input carries the checkout's absolute path"
    builds = {urn: inputs for urn, inputs in first[stack].items() if "docker-build:index:Image" in urn}
    if stack == "dev":
        assert builds, "dev builds its images and the registry's"
    for urn, inputs in builds.items():
        assert not inputs.get("pull"), f"{urn}: pull with push or load rebuilds on every up"
        assert "SOURCE_DATE_EPOCH" in inputs.get("buildArgs", {}), f"{urn}: the image's timestamps would be the build's"
