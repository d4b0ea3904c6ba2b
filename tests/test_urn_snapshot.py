"""Every stack declares exactly the URNs of its snapshot, with the same `protect` flags.

A difference here is either a new resource (rewrite the snapshot: `uv run python -m tools.urn_snapshot`) or a
rename, which plans a replace of whatever it touches: give the renamed resource `aliases` before rewriting.
"""

from __future__ import annotations

import difflib

import pytest

from tools.mock_engine import available_stacks, run_program
from tools.urn_snapshot import snapshot_path, urn_lines


@pytest.mark.parametrize("stack", available_stacks())
def test_stack_declares_exactly_its_snapshot_urns(stack):
    expected = snapshot_path(stack).read_text().splitlines()
    actual = urn_lines(run_program(stack))
    diff = "\n".join(difflib.unified_diff(expected, actual, "snapshot", "now", lineterm="", n=0))
    assert actual == expected, f"{stack}: URNs or protect flags changed (see tools/urn_snapshot.py):\n{diff}"


def test_snapshot_lines_carry_protect_flags():
    lines = snapshot_path("prod").read_text().splitlines()
    assert any(line.startswith("protect urn:pulumi:prod::kiban::") for line in lines)
    assert any(line.startswith("-       urn:pulumi:prod::kiban::") for line in lines)
