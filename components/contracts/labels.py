"""The recommended Kubernetes labels, computed in one place."""

from __future__ import annotations

PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi"}


def platform_labels(part_of: str) -> dict[str, str]:
    """Labels every kiban object carries."""
    return {PART_OF: part_of, **MANAGED_BY}


def selector_labels(name: str, part_of: str) -> dict[str, str]:
    """The immutable labels that select one workload's pods."""
    return {"app.kubernetes.io/name": name, PART_OF: part_of}


def workload_labels(name: str, part_of: str, component: str) -> dict[str, str]:
    """All labels of one workload's objects and pods."""
    return {**selector_labels(name, part_of), "app.kubernetes.io/component": component, **MANAGED_BY}
