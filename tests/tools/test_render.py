"""`make render`: one YAML file per object, secrets redacted, a readable summary, clean errors."""

from __future__ import annotations

from pathlib import Path

import yaml

from tools.manifests import REDACTED, manifests
from tools.mock_engine import run_program
from tools.render import main


def test_render_writes_one_file_per_object_and_a_summary(tmp_path: Path, capsys):
    assert main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    files = sorted(tmp_path.rglob("*.yaml"))
    objects = [yaml.safe_load(f.read_text()) for f in files]
    assert len(files) == len(objects) > 40
    for path, obj in zip(files, objects, strict=True):
        folder = obj["metadata"].get("namespace", "_cluster")
        assert path.relative_to(tmp_path) == Path(folder) / f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
        assert list(obj)[:2] == ["apiVersion", "kind"]
    # A service account's token Secret is empty in what kiban declares: the cluster writes the token into it.
    secrets = [o for o in objects if o["kind"] == "Secret" and o.get("type") != "kubernetes.io/service-account-token"]
    assert secrets and all(set(o["stringData"].values()) == {REDACTED} for o in secrets)
    text = "".join(f.read_text() for f in files)
    assert "mock-password" not in text
    assert "runAsUser: 10001\n" in text and "10001.0" not in text, "integers stay integers"
    expected = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in manifests(run_program("dev"))}
    assert {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects} == expected, (
        "each file reads back as the object declared"
    )

    out = capsys.readouterr().out
    assert "face-recognition             restricted" in out
    assert "nvidia-device-plugin         privileged" in out
    assert "face-recognition/face-api" in out and "GPU x1" in out
    assert "Rollout x1, blue/green: preview face-api-preview, checked, promotes itself" in out
    assert "nvidia-device-plugin 0.20.0" in out
    assert "random:index/randomPassword:RandomPassword" in out
    # what matters most before an `up`
    assert "postgresql/postgres volume data         10Gi  kiban-retain, claims kept when deleted: True" in out
    assert "Protected (no delete or replace until unprotected): 0" in out, "dev protects nothing"
    assert "Namespace postgresql" in out.split("Retained in the cluster")[1]
    assert "face.homelab.internal (class traefik, no TLS (plain HTTP)): /api -> face-api:8000" in out
    assert "GPUs: each GPU time-sliced 3 ways" in out
    assert "Rollout x1, blue/green" in out and "PDB" not in out.split("face-recognition/face-api")[1].split("\n")[0]
    release_objects = out.split("nvidia-device-plugin 0.20.0")[1].splitlines()[1]
    assert "DaemonSet" in release_objects and "ConfigMap" in release_objects, "what the release creates"
    assert "Capacity (" in out and "offered: CPU 6000m" in out


def test_a_failed_render_leaves_no_earlier_render_behind(tmp_path: Path, capsys, monkeypatch):
    import tools.render as render

    assert main(["--stack", "dev", "--out", str(tmp_path / "dev")]) == 0
    assert list((tmp_path / "dev").rglob("*.yaml"))

    def bad(stack, **kwargs):
        from tools.mock_engine import run_program

        return run_program(stack, {"kiban:ingress": {"hots": "x"}})

    monkeypatch.setattr(render, "run_program", bad)
    assert main(["--stack", "dev", "--out", str(tmp_path / "dev")]) == 1
    assert not (tmp_path / "dev").exists(), "a stale render would pass for this one's result"
    assert not list(tmp_path.glob(".*partial"))


def test_render_reports_bad_config_without_a_traceback(tmp_path: Path, capsys, monkeypatch):
    import tools.render as render

    def bad(stack, **kwargs):
        from tools.mock_engine import run_program

        return run_program(stack, {"kiban:ingress": {"hots": "x"}})

    monkeypatch.setattr(render, "run_program", bad)
    assert main(["--stack", "dev", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: stack 'dev' has invalid configuration")
    assert "kiban:ingress.hots: unknown key" in err
    assert "Traceback" not in err
    assert not list(tmp_path.rglob("*.yaml"))


def test_render_names_the_stacks_it_knows(tmp_path: Path, capsys):
    assert main(["--stack", "staging", "--out", str(tmp_path)]) == 1
    assert "stacks: dev, prod" in capsys.readouterr().err
