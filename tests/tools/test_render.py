"""`make render`: one YAML file per object, secrets redacted, a readable summary, clean errors."""

from __future__ import annotations

from pathlib import Path

import yaml

from tools.render import REDACTED, main


def test_render_writes_one_file_per_object_and_a_summary(tmp_path: Path, capsys):
    assert main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    files = sorted(tmp_path.rglob("*.yaml"))
    objects = [yaml.safe_load(f.read_text()) for f in files]
    assert len(files) == len(objects) > 40
    for path, obj in zip(files, objects, strict=True):
        folder = obj["metadata"].get("namespace", "_cluster")
        assert path.relative_to(tmp_path) == Path(folder) / f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
        assert list(obj)[:2] == ["apiVersion", "kind"]
    secrets = [o for o in objects if o["kind"] == "Secret"]
    assert secrets and all(set(o["stringData"].values()) == {REDACTED} for o in secrets)
    text = "".join(f.read_text() for f in files)
    assert "mock-password" not in text
    assert "runAsUser: 10001\n" in text and "10001.0" not in text, "integers stay integers"

    out = capsys.readouterr().out
    assert "face-recognition             restricted" in out
    assert "nvidia-device-plugin         privileged" in out
    assert "face-recognition/face-api" in out and "GPU x1" in out
    assert "Rollout x1, blue/green: preview face-api-preview, checked, promotes itself" in out
    assert "nvidia-device-plugin 0.20.0" in out
    assert "random:index/randomPassword:RandomPassword" in out


def test_render_reports_bad_config_without_a_traceback(tmp_path: Path, capsys, monkeypatch):
    import tools.render as render

    def bad(stack):
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
