"""The real `helm` (pinned in versions.json, installed by `tools/install_tools.py`) on the vendored chart archives.

Used by the tests to render every Helm release a stack declares exactly as `helm install` would, and to find the
values keys kiban passes that the chart does not define (Helm ignores those silently, so a typo or a key from
another chart version quietly does nothing).
"""

from __future__ import annotations

import json
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import yaml

from tools.install_tools import tool_path

FREE_FORM = ({}, [], None)
"""A chart default that admits keys of the caller's choosing: an empty map (`nodeSelector: {}`), an empty list, or
an unset value. Keys below it are not checked."""


class HelmError(RuntimeError):
    """`helm` refused the chart or the values (its own message is included)."""


def helm(*args: str) -> str:
    binary = tool_path("helm")
    if not binary.exists():
        raise HelmError(f"{binary} is missing: run `make test` (or `python tools/install_tools.py helm`)")
    result = subprocess.run([str(binary), *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise HelmError(f"helm {' '.join(args[:2])} failed:\n{result.stderr.strip()}")
    return result.stdout


@lru_cache(maxsize=None)
def _chart_defaults(archive: str) -> str:
    return helm("show", "values", archive)


def chart_defaults(archive: Path) -> dict[str, Any]:
    """The chart's own `values.yaml` (the top chart's; subcharts' values sit under their alias)."""
    return yaml.safe_load(_chart_defaults(str(archive))) or {}


def template(
    archive: Path,
    *,
    release: str,
    namespace: str,
    values: dict[str, Any],
    kube_version: str,
    api_versions: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """`helm template` of `archive` with `values`: the objects an install would create (hooks and CRDs included)."""
    args = [
        "template", release, str(archive),
        "--namespace", namespace,
        "--kube-version", kube_version,
        "--include-crds",
        "--values", "-",
    ]
    for api in api_versions:
        args += ["--api-versions", api]
    binary = tool_path("helm")
    if not binary.exists():
        raise HelmError(f"{binary} is missing: run `make test` (or `python tools/install_tools.py helm`)")
    result = subprocess.run(
        [str(binary), *args], input=json.dumps(values), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise HelmError(f"helm template {archive.name} failed:\n{result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _paths(values: Any, defaults: Any, prefix: str) -> Iterator[str]:
    if not isinstance(values, dict):
        return
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if not isinstance(defaults, dict) or key not in defaults:
            yield path
            continue
        default = defaults[key]
        if any(default == free and type(default) is type(free) for free in FREE_FORM):
            continue
        yield from _paths(value, default, path)


def unknown_value_keys(archive: Path, values: dict[str, Any]) -> list[str]:
    """Dotted paths of the keys in `values` that the chart's `values.yaml` does not define (keys under a free-form
    default such as `nodeSelector: {}` are the caller's to choose)."""
    return list(_paths(values, chart_defaults(archive), ""))
