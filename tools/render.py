"""`make render STACK=<stack>`: run the program offline and write what it declares.

Writes one YAML file per Kubernetes object under rendered/<stack>/<namespace>/ (cluster-scoped objects under
rendered/<stack>/_cluster/), with every secret value redacted, and prints a summary a person can read at a glance.
Runs under the Pulumi SDK's mock monitor: no CLI, no cluster, no cloud account, no decryption.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from pulumi.runtime import rpc

from pydantic import TypeAdapter

from stack_config.cluster import ClusterConfig
from tools import capacity
from tools.mock_engine import ROOT, Deployment, Registration, available_stacks, run_program, stack_config

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


def object_path(obj: dict[str, Any]) -> Path:
    metadata = obj.get("metadata", {})
    folder = metadata.get("namespace") or "_cluster"
    return Path(folder) / f"{obj['kind'].lower()}-{metadata['name']}.yaml"


def write(objects: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    written = []
    for obj in objects:
        path = out_dir / object_path(obj)
        if path.exists():
            raise RuntimeError(f"two objects render to {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(obj, sort_keys=False, default_flow_style=False))
        written.append(path)
    return written


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    return spec.get("template", {}).get("spec", {})


def summary(deployment: Deployment, objects: list[dict[str, Any]], out_dir: Path) -> str:
    lines = [f"kiban stack '{deployment.stack}': {len(objects)} Kubernetes objects written to {out_dir}"]

    def key(obj: dict[str, Any]) -> tuple[str, str]:
        return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]

    objects = sorted(objects, key=key)
    autoscalers = {
        (o["metadata"]["namespace"], o["spec"]["scaleTargetRef"]["name"]): o["spec"]
        for o in objects
        if o["kind"] == "HorizontalPodAutoscaler"
    }

    lines.append("\nNamespaces (Pod Security enforced):")
    for obj in (o for o in objects if o["kind"] == "Namespace"):
        labels = obj["metadata"].get("labels", {})
        lines.append(f"  {obj['metadata']['name']:<28} {labels.get('pod-security.kubernetes.io/enforce', '-')}")

    lines.append("\nWorkloads:")
    for obj in (o for o in objects if o["kind"] in WORKLOAD_KINDS):
        spec = pod_spec(obj)
        replicas = obj["spec"].get("replicas")
        where = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
        shape = obj["kind"] if obj["kind"] != "CronJob" else f"CronJob '{obj['spec']['schedule']}'"
        autoscaler = autoscalers.get(key(obj))
        if autoscaler:
            shape += f" x{autoscaler['minReplicas']:g}-{autoscaler['maxReplicas']:g} (HPA)"
        elif replicas:
            shape += f" x{replicas:g}"
        blue_green = obj["spec"].get("strategy", {}).get("blueGreen") if obj["kind"] == "Rollout" else None
        if blue_green:
            promotion = "promotes itself" if blue_green["autoPromotionEnabled"] else "a person promotes"
            shape += (
                f", blue/green: preview {blue_green['previewService']}, checked, {promotion}, previous version kept "
                f"{blue_green['scaleDownDelaySeconds']:g}s (both colours hold their GPUs during a switch)"
            )
        lines.append(f"  {where:<40} {shape}")
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            gpus = container.get("resources", {}).get("limits", {}).get("nvidia.com/gpu")
            gpu = f"  GPU x{gpus}" if gpus else ""
            lines.append(f"      {container['name']:<22} {container['image']}{gpu}")

    releases = deployment.of_type("kubernetes:helm.sh/v3:Release")
    lines.append("\nHelm releases:")
    for release in releases:
        inputs = release.inputs
        repo = inputs.get("repositoryOpts", {}).get("repo", "")
        lines.append(
            f"  {inputs.get('namespace', '')}/{inputs.get('name', release.name):<30} "
            f"{inputs['chart']} {inputs.get('version', '?')}  ({repo})"
        )
    if not releases:
        lines.append("  (none)")

    others = Counter(
        r.type for r in deployment.registrations if r.custom and r.package not in ("kubernetes", "pulumi")
    )
    lines.append("\nOther resources (cloud, generated secrets):")
    lines.extend(f"  {count} x {type_}" for type_, count in sorted(others.items()))
    if not others:
        lines.append("  (none)")

    cluster = TypeAdapter(ClusterConfig).validate_python(stack_config(deployment.stack)["kiban:cluster"])
    lines.extend(capacity.summary_lines(objects, cluster))

    lines.append("\nStack outputs:")
    for key, value in sorted(redact(deployment.outputs).items()):
        lines.append(f"  {key}: {value}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help=f"stack to render ({', '.join(available_stacks())})")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: rendered/<stack>)")
    args = parser.parse_args(argv)

    from stack_config import ConfigError

    try:
        deployment = run_program(args.stack)
    except (ConfigError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    out_dir = args.out or ROOT / "rendered" / args.stack
    objects = manifests(deployment)
    write(objects, out_dir)
    print(summary(deployment, objects, out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT) else out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
