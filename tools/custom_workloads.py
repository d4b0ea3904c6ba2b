"""The built-in workloads that custom resources stand for, so checks that know only built-in kinds see their pods.

An Argo Rollouts `Rollout` creates ReplicaSets from its pod template exactly as a Deployment does, and an
`AnalysisTemplate` with a `job` metric creates a Job per measurement. checkov and the Pod Security checker know
neither kind; they check these stand-ins instead, named after the custom resource they come from.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator

STAND_IN = "kiban.dev/stand-in-for"
"""Annotation on a stand-in: the custom resource it was derived from (`Rollout face-recognition/face-api`)."""


def _origin(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    return f"{obj['kind']} {metadata.get('namespace', '')}/{metadata.get('name')}"


def _metadata(obj: dict[str, Any], name: str) -> dict[str, Any]:
    metadata = copy.deepcopy(obj.get("metadata") or {})
    metadata["name"] = name
    metadata["annotations"] = {**(metadata.get("annotations") or {}), STAND_IN: _origin(obj)}
    return metadata


def stand_ins(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The built-in workloads `obj` makes the cluster run (none for anything else)."""
    api_group = str(obj.get("apiVersion", "")).split("/")[0]
    if api_group != "argoproj.io":
        return
    if obj.get("kind") == "Rollout":
        spec = {k: v for k, v in (obj.get("spec") or {}).items() if k in ("replicas", "selector", "template")}
        yield {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _metadata(obj, obj["metadata"]["name"]),
               "spec": copy.deepcopy(spec)}
    if obj.get("kind") == "AnalysisTemplate":
        for metric in (obj.get("spec") or {}).get("metrics") or []:
            job = ((metric.get("provider") or {}).get("job") or {})
            if job:
                yield {"apiVersion": "batch/v1", "kind": "Job",
                       "metadata": _metadata(obj, f"{obj['metadata']['name']}-{metric['name']}"),
                       "spec": copy.deepcopy(job.get("spec") or {})}


def with_stand_ins(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`objects` followed by the stand-ins of their custom resources."""
    return [*objects, *(s for obj in objects for s in stand_ins(obj))]
