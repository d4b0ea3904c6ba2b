"""make bench: both programs run and the ratio is written (a measurement, never an assertion on time)."""

from __future__ import annotations

import json

from tools import bench


def test_bench_writes_medians_and_their_ratio(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    (tmp_path / "rendered").mkdir()
    monkeypatch.setattr(bench, "timed", lambda code: 2.0 if "run_program" in code else 0.5)
    assert bench.main(["--runs", "3"]) == 0
    result = json.loads((tmp_path / "rendered" / "bench.json").read_text())
    assert result["full_median"] == 2.0 and result["floor_median"] == 0.5 and result["ratio"] == 4.0
    assert "ratio 4.00" in capsys.readouterr().out


def test_both_programs_really_run():
    assert bench.timed(bench.FLOOR) > 0
