"""tools/build_args.py gives outside builds (the release workflow, a developer's buildx) exactly the build arguments
`pulumi up` passes, and refuses an image it pins nothing for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools.build_args import build_args
from versions import versions

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("image", ["face-api", "face-frontend", "registry"])
def test_the_options_are_the_pinned_build_arguments(image):
    options = build_args(image)
    assert all(option.startswith("--build-arg=") for option in options)
    assert dict(option.removeprefix("--build-arg=").split("=", 1) for option in options) == versions().image_builds.of(image)


def test_it_runs_with_the_bare_interpreter_and_refuses_an_unknown_image():
    script = [sys.executable, "-I", str(ROOT / "tools" / "build_args.py")]
    done = subprocess.run([*script, "face-api"], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == build_args("face-api")
    refused = subprocess.run([*script, "yomu"], capture_output=True, text=True)
    assert refused.returncode != 0 and "images/yomu" in refused.stderr and "face-api" in refused.stderr


def test_the_release_workflow_builds_with_them():
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert 'python3 tools/build_args.py "$IMAGE"' in release and '"${PINNED[@]}"' in release
