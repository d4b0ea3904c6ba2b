"""`components/` is in layers: a module imports only from its own folder or from a lower layer.

0 contracts, 1 kube, 2 clusters/data/platform, 3 apps. Siblings on one layer meet through contract values that
`__main__.py` passes between them, never by importing each other. Parsed, not imported: a module that is never
imported by a test is still checked.

Above the components sit the stack config (`stack_config/`: the whole `kiban:` namespace, written in the settings
models the components declare, such as `components/contracts/stores.py` or `components/clusters/settings.py`) and
the composition (`capabilities/`), which reads the config and composes components from it. A component imports
neither; only `capabilities/` and `__main__.py` read the config.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = ROOT / "components"
LAYERS = {"contracts": 0, "kube": 1, "clusters": 2, "data": 2, "platform": 2, "apps": 3}
ABOVE_COMPONENTS = {"stack_config": "config", "capabilities": "composition"}
"""What a component never imports: the stack config and the composition that reads it."""
READS_CONFIG = ("capabilities/", "__main__.py")
"""The only program code that imports `stack_config`."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `path`, relative imports resolved."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return found


def room(module: str) -> tuple[str, ...] | None:
    """The folder a `components` module lives in (`("apps", "face_recognition")`), or None outside `components`."""
    parts = module.split(".")
    if parts[0] != "components" or len(parts) < 2 or parts[1] not in LAYERS:
        return None
    return tuple(parts[1:-1]) or (parts[1],)


def violations(path: Path) -> list[str]:
    own = room(module_name(path))
    assert own is not None, f"{path.relative_to(ROOT)} is not in one of the layers {sorted(LAYERS)}"
    found = []
    for line, target in imported_modules(path):
        if target.split(".")[0] in ABOVE_COMPONENTS:
            found.append(f"{path.relative_to(ROOT)}:{line} imports {target} ({ABOVE_COMPONENTS[target.split('.')[0]]})")
            continue
        other = room(target)
        if other is None or other[: len(own)] == own or own[: len(other)] == other:
            continue  # outside the layers, in the module's own folder, or the folder's own package
        if LAYERS[other[0]] >= LAYERS[own[0]]:
            direction = "sideways" if LAYERS[other[0]] == LAYERS[own[0]] else "upward"
            found.append(f"{path.relative_to(ROOT)}:{line} imports {target} ({direction})")
    return found


MODULES = sorted(p for p in COMPONENTS.rglob("*.py") if p.parent != COMPONENTS)


def test_components_has_no_module_at_its_top_level_and_exactly_the_layer_folders():
    assert sorted(p.name for p in COMPONENTS.glob("*.py")) == ["__init__.py"]
    assert sorted(p.name for p in COMPONENTS.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(COMPONENTS)))
def test_module_imports_only_its_own_folder_or_lower_layers(path):
    assert violations(path) == []


def test_the_check_catches_upward_and_sideways_imports(tmp_path, monkeypatch):
    fake = tmp_path / "components"
    for folder, text in {
        "kube": "from components.apps.face_recognition.face_api import FaceApi\nimport stack_config.stack\n",
        "data": "import components.platform.registry\nfrom ..clusters import existing_cluster\nimport capabilities.data\n",
        "apps/face_recognition": "from components.data.postgres_database import PostgresDatabase\nfrom . import frontend\n",
    }.items():
        (fake / folder).mkdir(parents=True)
        (fake / folder / "mod.py").write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert [v.split(" imports ")[1] for v in violations(fake / "kube" / "mod.py")] == [
        "components.apps.face_recognition.face_api (upward)",
        "components.apps.face_recognition.face_api.FaceApi (upward)",
        "stack_config.stack (config)",
    ]
    assert [v.split(" imports ")[1] for v in violations(fake / "data" / "mod.py")] == [
        "components.platform.registry (sideways)",
        "components.clusters (sideways)",
        "components.clusters.existing_cluster (sideways)",
        "capabilities.data (composition)",
    ]
    assert violations(fake / "apps" / "face_recognition" / "mod.py") == []


def config_readers(root: Path) -> list[str]:
    """The program's modules (not its tests, tools or the config itself) that import `stack_config`."""
    program = [p for folder in ("components", "capabilities", "policy", "images") for p in (root / folder).rglob("*.py")]
    program.append(root / "__main__.py")
    return sorted(
        str(p.relative_to(root))
        for p in program
        if p.is_file() and any(target.split(".")[0] == "stack_config" for _, target in imported_modules(p))
    )


def test_only_the_composition_and_main_read_the_config():
    readers = config_readers(ROOT)
    assert "__main__.py" in readers
    assert [r for r in readers if not r.startswith(READS_CONFIG)] == []


def test_the_config_check_sees_a_policy_reading_the_config(tmp_path, monkeypatch):
    for folder, text in {"policy": "from stack_config.stack import VERSION_TAG\n", "capabilities": "import stack_config\n"}.items():
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "mod.py").write_text(text)
    (tmp_path / "__main__.py").write_text("from stack_config import load_stack_config\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    readers = config_readers(tmp_path)
    assert readers == ["__main__.py", "capabilities/mod.py", "policy/mod.py"]
    assert [r for r in readers if not r.startswith(READS_CONFIG)] == ["policy/mod.py"]
