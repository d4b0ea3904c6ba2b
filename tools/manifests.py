"""The Kubernetes objects a run of the program declares, as the API server would receive them.

Shared by `make render` (which writes them) and its summary (which reads them); neither imports the other.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc

from tools.mock_engine import Deployment, Registration

REDACTED = "<redacted: secret>"
WORKLOAD_KINDS = ("Deployment", "Rollout", "StatefulSet", "DaemonSet", "CronJob", "Job")


def redact(value: Any) -> Any:
    """Replace every secret value with a placeholder, keeping the shape (keys of a secret map stay visible)."""
    if rpc.is_rpc_secret(value):
        inner = rpc.unwrap_rpc_secret(value)
        if isinstance(inner, dict):
            return {k: REDACTED for k in inner}
        if isinstance(inner, list):
            return [REDACTED for _ in inner]
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def unwrapped(value: Any) -> Any:
    """Inputs as plain values, every secret opened (the mock monitor wraps a generated secret, and whatever holds
    one, as a secret): for reading what a resource says, never for writing it out (`redact` is for that)."""
    if rpc.is_rpc_secret(value):
        return unwrapped(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: unwrapped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrapped(v) for v in value]
    return value


def release_values(release: Registration) -> dict[str, Any]:
    """A Helm release's values as helm gets them: secrets opened, integers restored."""
    return restore_integers(unwrapped(release.inputs.get("values") or {}))


def restore_integers(value: Any) -> Any:
    """Protobuf carries every number as a double, so the mock monitor hands `10001` over as `10001.0`; the real
    provider writes integers where the API schema has them, and so does the render."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: restore_integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [restore_integers(v) for v in value]
    return value


def manifest(registration: Registration) -> dict[str, Any]:
    """The Kubernetes object as the API server would receive it (apiVersion and kind first), secrets redacted."""
    body = restore_integers(redact(registration.inputs))
    head = {"apiVersion": body.pop("apiVersion"), "kind": body.pop("kind")}
    return {**head, **body}


def manifests(deployment: Deployment) -> list[dict[str, Any]]:
    return [manifest(r) for r in deployment.kubernetes_objects()]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    return spec.get("template", {}).get("spec", {})
