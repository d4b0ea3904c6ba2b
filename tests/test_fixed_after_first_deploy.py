"""The settings that are fixed after the first deploy are exactly the ones the configuration reference says are.

A setting is fixed when changing it alters a field Kubernetes cannot change on a StatefulSet (its selector,
serviceName or claim templates): the change replaces the StatefulSet, which a protected stack refuses mid-`up` and
an unprotected one does with its claims' retention. The program is run once per candidate setting, changed, and the
StatefulSets compared; each stack also with `dataSafety.retainVolumes` flipped, since that decides which
StorageClass the claim templates name. PostgreSQL's owner and database are fixed for another reason (the server
creates them only when it initialises its volume; the `credentials` init container refuses a change at start).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from pydantic import BaseModel

from stack_config.loader import parse_stack_config
from stack_config.stack import SECRET_SETTINGS, StackConfig
from tools.config_reference import sections
from tools.mock_engine import Deployment, run_program, stack_config

FIXED_NOTE = "Fixed after the first deploy"
IMMUTABLE = ("selector", "serviceName", "volumeClaimTemplates", "podManagementPolicy")
"""StatefulSet spec fields the API server refuses to update."""

CHECKED_AT_START = {"faceRecognition.postgres.database", "faceRecognition.postgres.username"}


def immutable_parts(deployment: Deployment) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: {k: o["spec"].get(k) for k in IMMUTABLE}
        for o in deployment.objects("StatefulSet")
    }


_RUNS: dict[str, dict[str, dict[str, Any]]] = {}


def statefulsets(stack: str, raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The immutable parts of the StatefulSets `stack` declares with config `raw` (each distinct config run once)."""
    key = json.dumps([stack, raw], sort_keys=True)
    if key not in _RUNS:
        _RUNS[key] = immutable_parts(run_program(stack, raw))
    return _RUNS[key]


def _field(model: BaseModel, segment: str) -> str:
    return next(name for name, info in type(model).model_fields.items() if (info.alias or name) == segment)


def current_value(config: StackConfig, path: str) -> Any:
    node: Any = config
    for segment in path.split("."):
        node = getattr(node, _field(node, segment))
    return node


def probe(value: Any, index: int) -> Any:
    """A changed value no stack file holds anywhere, so it can be found again in the rendered objects."""
    size = re.fullmatch(r"(\d+)([A-Za-z]+)", str(value))
    if size:
        return f"{int(size.group(1)) + 1000 + index}{size.group(2)}"
    return f"probe-{index}-{value}"


def with_setting(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`raw` stack config with the setting at `path` (below `kiban:`) set to `value`, everything else kept."""
    top, *rest = path.split(".")
    key = f"kiban:{top}"
    section = copy.deepcopy(raw.get(key) or {}) if rest else value
    node = section
    for segment in rest[:-1]:
        node = node.setdefault(segment, {})
    if rest:
        node[rest[-1]] = value
    return {**raw, key: section}


def parsed(raw: dict[str, Any], stack: str) -> StackConfig:
    secret = {s.key for s in SECRET_SETTINGS}
    short = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("kiban:") and k.split(":", 1)[1] not in secret}
    return parse_stack_config(short, stack)


def candidates(config: StackConfig) -> list[str]:
    """Every setting of this stack's forms that can feed a claim template: sizes, StorageClasses, data safety."""
    paths = {
        entry.path
        for section in sections()
        for entry in section.entries
        if entry.type.startswith("volume size") or entry.path.endswith("storageClass") or entry.path.startswith("dataSafety.")
    }
    return sorted(p for p in paths if _has(config, p))


def _has(config: StackConfig, path: str) -> bool:
    try:
        current_value(config, path)
    except StopIteration:  # a setting of another cluster kind
        return False
    return True


def fixed_settings(stack: str) -> set[str]:
    """One run changes every size and StorageClass at once, each to a value of its own that is then looked for in the
    StatefulSets' immutable fields; each switch (`dataSafety.*`) is flipped in a run of its own."""
    raw = {k: v for k, v in stack_config(stack).items() if k.startswith("kiban:")}
    # The probe flips production's data-safety promises too, to see what they change: as a development stack.
    raw["kiban:environment"] = "development"
    fixed = set()
    for retain in (True, False):
        variant = with_setting(raw, "dataSafety.retainVolumes", retain)
        config = parsed(variant, stack)
        before = statefulsets(stack, variant)
        probes, changed = {}, variant
        for index, path in enumerate(candidates(config)):
            value = current_value(config, path)
            if isinstance(value, bool):  # a switch: flipped in a run of its own
                if statefulsets(stack, with_setting(variant, path, not value)) != before:
                    fixed.add(path)
            elif value is not None:
                probes[path] = probe(value, index)
                changed = with_setting(changed, path, probes[path])
        after = json.dumps(statefulsets(stack, changed))
        fixed |= {path for path, value in probes.items() if f'"{value}"' in after}
    return fixed


def documented_as_fixed() -> set[str]:
    return {e.path for s in sections() for e in s.entries if FIXED_NOTE in e.description}


@pytest.fixture(scope="module")
def fixed() -> dict[str, set[str]]:
    return {stack: fixed_settings(stack) for stack in ("dev", "prod")}


def test_the_candidates_reach_the_claim_templates(fixed: dict[str, set[str]]):
    assert {"faceRecognition.postgres.storageSize", "dataSafety.retainVolumes", "cluster.storageClass"} <= fixed["dev"]
    assert "faceRecognition.postgres.backup.storageSize" not in fixed["dev"], "a plain claim, not a template"


def test_the_reference_says_fixed_on_exactly_the_fixed_settings(fixed: dict[str, set[str]]):
    assert documented_as_fixed() == fixed["dev"] | fixed["prod"] | CHECKED_AT_START


def test_the_operations_guide_names_every_fixed_setting():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text()
    prose = readme[readme.index(f"- {FIXED_NOTE}") : readme.index("## When the configuration is wrong")]
    for path in documented_as_fixed():
        leaf = path.split(".")[-1]
        assert leaf.replace("StorageSize", "") in prose or leaf in prose, f"docs/operations.md's fixed settings miss {path}"
