"""`make test-startup` is slow and runs after `make test`: the cheap half of it, that its modules still import what
they name from the project (a helper moved between tools' modules broke its conftest once), is checked here."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

STARTUP_MODULES = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "tests_startup").glob("*.py"))


@pytest.mark.parametrize("module", STARTUP_MODULES)
def test_the_startup_suite_imports(module):
    name = "tests_startup" if module == "__init__" else f"tests_startup.{module}"
    importlib.import_module(name)
