"""The release flow's bookkeeping (tools/release.py): a release leaves prod's version in git, as a change to
Pulumi.prod.yaml that touches nothing else, which the stack, the scan list and the policy pack then read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from stack_config.loader import parse_stack_config
from tools.mock_engine import ROOT, stack_config
from tools.release import ReleaseError, app_pin, check_tag, record
from versions import versions

PROD = ROOT / "Pulumi.prod.yaml"


@pytest.mark.parametrize("tag", ["v1.4.2", "v2.0.0-rc.1", "v10.0.13"])
def test_version_tags_are_releases(tag):
    assert check_tag(tag) == tag


@pytest.mark.parametrize("tag", ["1.4.2", "v1.4", "v2", "latest", "v1.4.2 ", "v01.2.3", "nightly", "v1.4.2;rm"])
def test_other_tags_are_refused(tag):
    with pytest.raises(ReleaseError, match="v<major>.<minor>.<patch>"):
        check_tag(tag)


def test_a_release_changes_only_prods_image_tags(tmp_path: Path):
    before = PROD.read_text()
    after = record(before, "v1.4.2")
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert len(changed) == 2 and len(before.splitlines()) == len(after.splitlines())
    images = yaml.safe_load(after)["config"]["kiban:images"]
    assert images["faceApi"].endswith("/face-api:v1.4.2") and images["frontend"].endswith("/face-frontend:v1.4.2")
    # The stack reads the recorded version (the stack's own validation accepts it as a release).
    (tmp_path / "Pulumi.prod.yaml").write_text(after)
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    config = stack_config("prod", project_dir=tmp_path)
    stack = parse_stack_config({k.removeprefix("kiban:"): v for k, v in config.items() if k.startswith("kiban:")}, "prod")
    assert stack.images.face_api.endswith(":v1.4.2")
    assert record(after, "v1.4.3").count(":v1.4.3") == 2, "the next release moves it on"


def test_what_prod_runs_now_is_a_tag_the_release_flow_pushes():
    images = yaml.safe_load(PROD.read_text())["config"]["kiban:images"]
    for reference in (images["faceApi"], images["frontend"]):
        tag = reference.rsplit(":", 1)[1]
        assert check_tag(tag), f"{reference}: the release workflow only pushes v<major>.<minor>.<patch> tags"


def test_a_file_without_prods_images_is_refused():
    with pytest.raises(ReleaseError, match="kiban:images.faceApi, kiban:images.frontend"):
        record("config:\n  kiban:cluster:\n    kind: gke\n", "v1.4.2")
    only_api = "config:\n  kiban:images:\n    faceApi: r.example/p/face-api:v1.0.0  # keep\n"
    with pytest.raises(ReleaseError, match="frontend"):
        record(only_api, "v1.4.2")


def test_the_release_builds_the_pinned_application_commit():
    repository, commit = app_pin()
    pinned = versions().app_startup.application
    assert commit == pinned.commit and pinned.repository == f"https://github.com/{repository}.git"
    assert re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository), "owner/name, as actions/checkout takes it"
    # The backend's dependency lock was resolved at the same commit (make lock-face-api writes it in its header).
    header = (ROOT / "images" / "face-api" / "requirements.lock").read_text().splitlines()[0]
    assert header.endswith(f" at {commit[:12]}"), header
