"""The real `helm` (pinned in versions.json, installed by `tools/install_tools.py`) on the vendored chart archives.

Used by the tests to render every Helm release a stack declares exactly as `helm install` would, and to find the
values keys kiban passes that the chart does not define (Helm ignores those silently, so a typo or a key from
another chart version quietly does nothing).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import tarfile
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import yaml

from tools.install_tools import tool_path

FREE_FORM = ({}, [], None)
"""A chart default that admits keys of the caller's choosing: an empty map (`nodeSelector: {}`), an empty list, or
an unset value. Keys below it are not checked."""

_WHOLE = re.compile(
    r"toYaml\s+\(?\s*\.Values\.([A-Za-z0-9_.]+)"
    r"|\{\{-?\s*with\s+\.Values\.([A-Za-z0-9_.]+)\s*-?\}\}[^{]{0,200}\{\{-?\s*toYaml\s+\.\s"
    r"|range\s+\$[A-Za-z0-9_]+\s*,\s*\$[A-Za-z0-9_]+\s*:=\s*\(?\s*\.Values\.([A-Za-z0-9_.]+)"
    r"|omit\s+\.Values\.([A-Za-z0-9_.]+)"
)
"""`toYaml .Values.a.b` (or `with .Values.a.b` around `toYaml .`, `range $k, $v := .Values.a.b`, `omit .Values.a.b`):
the template writes that value out whole, or every key of it, so any key under it reaches the manifest (a
`podSecurityContext` map is a Kubernetes object, not a list of chart options)."""


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
    """The chart's own `values.yaml`, with each subchart's `values.yaml` under its alias beneath the top chart's
    settings for it (a key only the subchart defines, such as redis-ha's `networkPolicy`, is still the chart's)."""
    return _merge(_subchart_defaults(str(archive)), yaml.safe_load(_chart_defaults(str(archive))) or {})


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in over.items()}}
    return over


@lru_cache(maxsize=None)
def _subchart_defaults(archive: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    with tarfile.open(archive) as chart:
        for member in chart.getmembers():
            parts = member.name.split("/")
            if not member.isfile() or len(parts) < 4 or parts[-1] != "values.yaml" or parts[-3] != "charts":
                continue
            prefix = _values_prefix(chart, parts[0], parts[1:-1][1::2])
            handle = chart.extractfile(member)
            assert handle is not None
            nested: Any = yaml.safe_load(handle.read()) or {}
            for key in reversed(prefix.split(".")):
                nested = {key: nested}
            merged = _merge(merged, nested)
    return merged


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader where PyYAML has it: charts' CRDs are large, and the pure-Python loader takes seconds."""


def template(
    archive: Path,
    *,
    release: str,
    namespace: str,
    values: dict[str, Any],
    kube_version: str,
    api_versions: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """`helm template` of `archive` with `values`: the objects an install would create (hooks and CRDs included).
    Each distinct call runs helm once per process; callers get their own copy of the objects."""
    rendered = _template(str(archive), release, namespace, json.dumps(values, sort_keys=True), kube_version, api_versions)
    return copy.deepcopy(rendered)


def template_kinds(
    archive: Path,
    *,
    release: str,
    namespace: str,
    values: dict[str, Any],
    kube_version: str,
    api_versions: tuple[str, ...] = (),
) -> Counter[str]:
    """How many objects of each kind `template` would return, read off helm's output without parsing it as YAML (a
    chart's CRDs make that parse cost a second): each document's top-level `kind:` line is the only line of it that
    starts with `kind:` (anything nested, block scalars included, is indented)."""
    text = _template_text(str(archive), release, namespace, json.dumps(values, sort_keys=True), kube_version, api_versions)
    return Counter(
        kind.strip().strip("'\"")
        for document in _DOCUMENT.split(text)
        for kind in _KIND.findall(document)[:1]
    )


_DOCUMENT = re.compile(r"^---(?:[ \t].*)?$", re.MULTILINE)
_KIND = re.compile(r"^kind:[ \t]*([^#\n]+?)[ \t]*(?:#.*)?$", re.MULTILINE)


@lru_cache(maxsize=64)
def _template_text(
    archive: str, release: str, namespace: str, values: str, kube_version: str, api_versions: tuple[str, ...]
) -> str:
    archive_path = Path(archive)
    args = [
        "template", release, archive,
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
    result = subprocess.run([str(binary), *args], input=values, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise HelmError(f"helm template {archive_path.name} failed:\n{result.stderr.strip()}")
    return result.stdout


@lru_cache(maxsize=64)
def _template(
    archive: str, release: str, namespace: str, values: str, kube_version: str, api_versions: tuple[str, ...]
) -> list[dict[str, Any]]:
    text = _template_text(archive, release, namespace, values, kube_version, api_versions)
    return [doc for doc in yaml.load_all(text, Loader=_LOADER) if doc]


def _values_prefix(chart: tarfile.TarFile, top: str, subcharts: list[str]) -> str:
    """Where the values of `top/charts/a/charts/b` sit in the top chart's values: under each dependency's alias."""
    prefix, folder = [], top
    for name in subcharts:
        meta = chart.extractfile(f"{folder}/Chart.yaml")
        dependencies = (yaml.safe_load(meta.read()) if meta else {}).get("dependencies") or []
        aliases = {d["name"]: d.get("alias") or d["name"] for d in dependencies}
        prefix.append(aliases.get(name, name))
        folder = f"{folder}/charts/{name}"
    return ".".join(prefix)


@lru_cache(maxsize=None)
def written_whole(archive: Path) -> frozenset[str]:
    """Values paths the chart's templates (its subcharts' under their alias) pass to `toYaml` whole."""
    found = set()
    with tarfile.open(archive) as chart:
        for member in chart.getmembers():
            parts = member.name.split("/")
            if not member.isfile() or "templates" not in parts:
                continue
            # <chart>/templates/x.yaml, or <chart>/charts/<sub>/templates/x.yaml whose values sit under <alias>.
            subcharts = parts[1 : parts.index("templates")][1::2]
            prefix = _values_prefix(chart, parts[0], subcharts)
            handle = chart.extractfile(member)
            assert handle is not None
            for groups in _WHOLE.findall(handle.read().decode("utf-8", "replace")):
                path = next(group for group in groups if group)
                found.add(f"{prefix}.{path}" if prefix else path)
    return frozenset(found)


def _paths(values: Any, defaults: Any, prefix: str, whole: frozenset[str]) -> Iterator[str]:
    if not isinstance(values, dict):
        return
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if not isinstance(defaults, dict) or key not in defaults:
            yield path
            continue
        default = defaults[key]
        if path in whole or any(default == free and type(default) is type(free) for free in FREE_FORM):
            continue
        yield from _paths(value, default, path, whole)


def unknown_value_keys(archive: Path, values: dict[str, Any]) -> list[str]:
    """Dotted paths of the keys in `values` that the chart's `values.yaml` does not define. Keys under a free-form
    default (`nodeSelector: {}`) or under a value the templates write out whole (`toYaml .Values.podSecurityContext`)
    are the caller's to choose."""
    return list(_paths(values, chart_defaults(archive), "", written_whole(archive)))
