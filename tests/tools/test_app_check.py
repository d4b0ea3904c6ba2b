"""`make app-check`: a delivered application's checkout rendered with the real tool for its type and checked against
what its namespace will enforce. The fixture application (tests/fixtures/yomu-app, in yomu's shape) passes as it
stands; each check then fails once on a copy broken in one place, naming the file and line and what to write."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tools import app_check
from tools.mock_engine import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "yomu-app"
MANIFESTS = Path("k8s/yomu")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    copy = tmp_path / "yomu"
    shutil.copytree(FIXTURE, copy)
    return copy


def run(checkout: Path, capsys, stack: str = "dev") -> tuple[int, list[str]]:
    status = app_check.main(["--app", str(checkout), "--name", "yomu", "--stack", stack])
    return status, capsys.readouterr().out.splitlines()


def edit(checkout: Path, file: str, old: str, new: str) -> None:
    path = checkout / MANIFESTS / file
    text = path.read_text()
    assert old in text, f"the fixture changed: {old!r} is not in {file}"
    path.write_text(text.replace(old, new, 1))


def test_the_fixture_application_passes_as_it_stands(checkout, capsys):
    status, out = run(checkout, capsys)
    assert status == 0, out
    assert out == ["yomu: ready for yomu (dev): kinds, Pod Security restricted, Secrets, hosts and followed images "
                   "checked"]


def test_it_runs_from_make(checkout):
    done = subprocess.run(["make", "--no-print-directory", "app-check", f"APP={checkout}", "NAME=yomu"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "yomu: ready for yomu (dev)" in done.stdout


def test_a_pod_that_would_be_rejected_is_named_at_its_line(checkout, capsys):
    # yomu's own manifests set no seccompProfile: `restricted` rejects their pods.
    edit(checkout, "migration-job.yaml", "        seccompProfile:\n          type: RuntimeDefault\n", "")
    status, out = run(checkout, capsys)
    assert status == 1
    (finding,) = out
    assert finding.startswith("k8s/yomu/migration-job.yaml:23: [pod security restricted] Job 'yomu-migration' "
                              "container 'migration': Seccomp:"), finding
    assert "must be RuntimeDefault or Localhost" in finding


def test_a_kind_the_project_refuses_is_named_with_the_reason(checkout, capsys):
    (checkout / MANIFESTS / "open.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-all\n"
        "spec:\n  podSelector: {}\n  ingress: [{}]\n")
    edit(checkout, "kustomization.yaml", "  - migration-job.yaml\n", "  - migration-job.yaml\n  - open.yaml\n")
    status, out = run(checkout, capsys)
    assert status == 1
    assert out == ["k8s/yomu/open.yaml:2: [kinds] networking.k8s.io/NetworkPolicy 'allow-all': the AppProject refuses "
                   "it (it would undo the namespace's default-deny; ask kiban for ingress or egress); remove it"]


def test_another_namespace_is_refused(checkout, capsys):
    edit(checkout, "kustomization.yaml", "namespace: yomu\n", "")
    edit(checkout, "service.yaml", "  name: yomu-api\n", "  name: yomu-api\n  namespace: face-recognition\n")
    status, out = run(checkout, capsys)
    assert status == 1
    assert out == ["k8s/yomu/service.yaml:5: [kinds] Service 'yomu-api' is in namespace 'face-recognition'; the "
                   "application may deploy only into 'yomu': write namespace: yomu or leave it out"]


def test_a_secret_kiban_does_not_write_is_named_with_the_ones_it_does(checkout, capsys):
    edit(checkout, "deployment.yaml", "                  key: GOOGLE_CLIENT_SECRET", "                  key: GOOGLE_SECRET")
    status, out = run(checkout, capsys)
    assert status == 1
    (finding,) = out
    assert finding.startswith("k8s/yomu/deployment.yaml:34: [secrets] Deployment 'yomu-api' reads the key "
                              "'GOOGLE_SECRET' of yomu-secrets, which kiban writes with DATABASE_URL, "), finding


def test_another_hosts_ingress_is_refused_with_its_owner(checkout, capsys):
    edit(checkout, "ingress.yaml", "yomu.homelab.internal", "face.homelab.internal")
    status, out = run(checkout, capsys)
    assert status == 1
    assert out == ["k8s/yomu/ingress.yaml:7: [hosts] Ingress 'yomu' claims face.homelab.internal (it belongs to the "
                   "face-recognition system (kiban:ingress.host)); the admission policy refuses it: use "
                   "yomu.homelab.internal"]


def test_a_followed_image_the_application_does_not_run_is_named(checkout, capsys):
    for file in ("deployment.yaml", "migration-job.yaml"):
        edit(checkout, file, "ghcr.io/takashiaihara/yomu-api:latest", "registry.homelab.internal:5000/yomu:latest")
    status, out = run(checkout, capsys)
    assert status == 1
    (finding,) = out
    assert "[images] Image Updater follows ghcr.io/takashiaihara/yomu-api:latest (alias yomu-api), but no container " \
           "here runs ghcr.io/takashiaihara/yomu-api" in finding


def test_plain_yaml_where_the_config_says_kustomize_is_named(checkout, capsys):
    # yomu's own k8s/yomu is plain YAML: Argo CD builds a Directory application, which Image Updater skips.
    (checkout / MANIFESTS / "kustomization.yaml").unlink()
    status, out = run(checkout, capsys)
    assert status == 1
    assert out[0] == ("k8s/yomu: [source type] the config says sourceType: kustomize, but k8s/yomu holds plain YAML: "
                      "add a kustomization.yaml listing the manifests (`kustomize create --autodetect` in k8s/yomu)")


def test_an_application_that_cannot_be_checked_says_why(tmp_path, capsys):
    assert app_check.main(["--app", str(tmp_path), "--name", "yomu"]) == 2
    assert "k8s/yomu is not a directory" in capsys.readouterr().err
    assert app_check.main(["--app", str(tmp_path), "--name", "notes"]) == 2
    assert "kiban:argocd.applications has: yomu" in capsys.readouterr().err


def test_a_pod_port_the_ingress_controller_may_not_reach_is_named(checkout, capsys):
    edit(checkout, "service.yaml", "targetPort: 3000", "targetPort: http")
    edit(checkout, "deployment.yaml", "- containerPort: 3000", "- containerPort: 8080")
    status, out = run(checkout, capsys)
    assert status == 1
    assert out == ["k8s/yomu/ingress.yaml:12: [ingress ports] Ingress 'yomu' sends yomu.homelab.internal to Service "
                   "'yomu-api', whose pods listen on 8080, which the ingress controller may not reach (ingress.ports: "
                   "[3000]); add 8080 to argocd.applications[].ingress.ports"]
