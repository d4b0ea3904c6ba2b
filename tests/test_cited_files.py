"""Every file of this repository that a Markdown page cites by path exists (a renamed test or module leaves no
dangling reference behind)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CITED = re.compile(
    r"`((?:tests|components|tools|policy|stack_config|capabilities|images|charts|docs|schemas|\.github)/"
    r"[A-Za-z0-9_./-]+\.(?:py|md|json|ya?ml|tgz|toml))`"
)
"""A backticked repository path of a file (folders and upstream paths such as argo-helm's `charts/argo-cd` have no
suffix and are not checked)."""

PAGES = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


def cited(text: str) -> list[str]:
    return [m.group(1) for m in CITED.finditer(text)]


@pytest.mark.parametrize("page", PAGES)
def test_every_cited_file_exists(page):
    missing = [path for path in cited((ROOT / page).read_text()) if not (ROOT / path).exists()]
    assert missing == [], f"{page} cites files that do not exist"


def test_the_check_sees_a_missing_test_and_ignores_folders():
    text = "run `tests/policy/test_helm_charts.py`; from argo-helm `charts/argo-cd`; see `docs/architecture.md`"
    assert cited(text) == ["tests/policy/test_helm_charts.py", "docs/architecture.md"]
    assert not (ROOT / "tests/policy/test_helm_charts.py").exists()
