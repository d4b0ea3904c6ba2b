"""make bench: paired rounds, CPU and wall medians, the floor really runs, the scaling projects are real stack
files (a measurement, never an assertion on time)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tools import bench
from tools.mock_engine import ROOT, stack_config


def test_rounds_are_paired_and_the_figures_come_from_their_medians(tmp_path, monkeypatch, capsys):
    calls: list[str] = []

    def fake(argv: list[str]) -> bench.Run:
        if argv[0] == "-c" and "run_program" in argv[1]:
            calls.append("program")
            return bench.Run(cpu=1.5, wall=1.0, stdout="objects 9")
        if argv[0] == "-c":
            name = "floor" if "importlib.import_module(module)" in argv[1] and "pulumi_gcp" not in argv[1] else "sdk"
            calls.append(name)
            return bench.Run(cpu=0.5 if name == "floor" else 1.0, wall=1.0, stdout="")
        project = argv[argv.index("--project-dir") + 1] if "--project-dir" in argv else None
        count = int(re.search(r"-(\d+)-applications", project).group(1)) if project else 1
        calls.append(f"render {count}" if project else "render")
        return bench.Run(cpu=2.0 + 0.03 * count, wall=3.0, stdout=f"x: 9 resources with {400 + 67 * count} dependencies")

    monkeypatch.setattr(bench, "run", fake)
    monkeypatch.setattr(bench, "sdks_of", lambda stack: ("pulumi_gcp", "pulumi_gcp.compute"))
    out = tmp_path / "bench.json"
    assert bench.main(["--runs", "2", "--scale-runs", "1", "--out", str(out)]) == 0
    assert calls == ["floor", "sdk", "program", "render"] * 2 + [f"render {n}" for n in bench.SCALE]
    result = json.loads(out.read_text())
    assert result["floor"]["cpu_median"] == 0.5 and result["render"]["cpu_median"] == 2.03
    assert round(result["ratio_cpu"], 2) == 4.06 and result["ratio_wall"] == 3.0
    assert result["program_ratio_cpu"] == 3.0 and result["program_ratio_cpu_to_floor_with_stack_sdks"] == 1.5
    assert {span: round(ms) for span, ms in result["marginal_cpu_ms_per_application"].items()} == {
        "0-10": 30, "10-50": 30, "50-100": 30, "10-100": 30
    }
    assert result["scaling"]["100"]["dependency_edges"] == 400 + 6700
    assert [round(ms) for ms in result["marginal_cpu_ms_per_application_by_round"]] == [30]
    printed = capsys.readouterr().out
    assert "floor (pulumi + pulumi_kubernetes + pulumi_random, one Namespace" in printed
    assert "pulumi_gcp (compute)" in printed and "4.06x the floor in CPU" in printed


def test_the_floor_really_declares_its_namespace():
    assert "kubernetes:core/v1:Namespace" in bench.run(bench.floor_argv()).stdout


def test_the_program_timed_declares_the_stacks_objects():
    from tools.manifests import manifests
    from tools.mock_engine import run_program

    assert bench.run(bench.program_argv("dev")).stdout.split() == ["objects", str(len(manifests(run_program("dev"))))]


def test_a_scaling_project_is_the_stack_with_that_many_applications(tmp_path: Path):
    folder = bench.with_applications("prod", 3, tmp_path)
    config = stack_config("prod", project_dir=folder)  # read as the program reads it (aliases, duplicates refused)
    applications = config["kiban:argocd"]["applications"]
    assert [a["name"] for a in applications] == ["app000", "app001", "app002"]
    assert all(a["sharedData"] == ["postgres", "valkey"] for a in applications)
    assert {k: v for k, v in config.items() if k != "kiban:argocd"} == {
        k: v for k, v in stack_config("prod").items() if k != "kiban:argocd"
    }


def test_the_render_timed_is_the_one_make_render_runs():
    assert "python -m tools.render --stack $(STACK)" in (ROOT / "Makefile").read_text()
    assert bench.render_argv("prod", Path("out"))[:4] == ["-m", "tools.render", "--stack", "prod"]
