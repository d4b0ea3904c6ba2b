"""The summary `make render` prints: what a person checks before an `up`, one small section function each."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable

from pydantic import TypeAdapter

from components.clusters.settings import ClusterConfig
from tools import capacity
from tools.helm import HelmError, template_kinds
from tools.manifests import WORKLOAD_KINDS, pod_spec, redact, restore_integers
from tools.mock_engine import Deployment, Registration
from versions import versions

Objects = list[dict[str, Any]]


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def _where(obj: dict[str, Any]) -> str:
    namespace, name = _key(obj)
    return f"{namespace}/{name}" if namespace else name


def namespaces(deployment: Deployment, objects: Objects) -> list[str]:
    lines = ["Namespaces (Pod Security enforced):"]
    for obj in (o for o in objects if o["kind"] == "Namespace"):
        labels = obj["metadata"].get("labels", {})
        lines.append(f"  {obj['metadata']['name']:<28} {labels.get('pod-security.kubernetes.io/enforce', '-')}")
    return lines


def workloads(deployment: Deployment, objects: Objects) -> list[str]:
    autoscalers = {
        (o["metadata"]["namespace"], o["spec"]["scaleTargetRef"]["name"]): o["spec"]
        for o in objects
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    budgets = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o["spec"]
        for o in objects
        if o["kind"] == "PodDisruptionBudget"
    }
    lines = ["Workloads:"]
    for obj in (o for o in objects if o["kind"] in WORKLOAD_KINDS):
        replicas = obj["spec"].get("replicas")
        shape = obj["kind"] if obj["kind"] != "CronJob" else f"CronJob '{obj['spec']['schedule']}'"
        autoscaler = autoscalers.get(_key(obj))
        if autoscaler:
            shape += f" x{autoscaler['minReplicas']:g}-{autoscaler['maxReplicas']:g} (HPA)"
        elif replicas:
            shape += f" x{replicas:g}"
        if _key(obj) in budgets:
            shape += f", PDB maxUnavailable {budgets[_key(obj)]['maxUnavailable']:g}"
        containers = pod_spec(obj).get("initContainers", []) + pod_spec(obj).get("containers", [])
        gpus = {c["name"]: c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu") for c in containers}
        blue_green = obj["spec"].get("strategy", {}).get("blueGreen") if obj["kind"] == "Rollout" else None
        if blue_green:
            promotion = "promotes itself" if blue_green["autoPromotionEnabled"] else "a person promotes"
            both = "both colours hold their GPUs" if any(gpus.values()) else "both colours run"
            shape += (
                f", blue/green: preview {blue_green['previewService']}, checked, {promotion}, previous version kept "
                f"{blue_green['scaleDownDelaySeconds']:g}s ({both} during a switch)"
            )
        lines.append(f"  {_where(obj):<40} {shape}")
        for container in containers:
            gpu = f"  GPU x{gpus[container['name']]}" if gpus[container["name"]] else ""
            lines.append(f"      {container['name']:<22} {_marked(deployment, container['image'])}{gpu}")
    return lines


def storage(deployment: Deployment, objects: Objects) -> list[str]:
    lines = ["Storage (size, class):"]
    for obj in objects:
        if obj["kind"] == "StatefulSet":
            for claim in obj["spec"].get("volumeClaimTemplates") or []:
                spec = claim["spec"]
                lines.append(
                    f"  {_where(obj)} volume {claim['metadata']['name']:<10} {spec['resources']['requests']['storage']:>6}"
                    f"  {spec.get('storageClassName', '(default)')}, claims kept when deleted: "
                    f"{obj['spec']['persistentVolumeClaimRetentionPolicy']['whenDeleted'] == 'Retain'}"
                )
        elif obj["kind"] == "PersistentVolumeClaim":
            spec = obj["spec"]
            lines.append(
                f"  {_where(obj)} claim {spec['resources']['requests']['storage']:>6}  "
                f"{spec.get('storageClassName', '(default)')}"
            )
    for obj in (o for o in objects if o["kind"] == "StorageClass"):
        lines.append(f"  StorageClass {obj['metadata']['name']}: {obj['provisioner']}, reclaimPolicy {obj.get('reclaimPolicy')}")
    return lines


def _named(registration: Registration) -> str:
    """A Kubernetes object by its kind and the name it has in the cluster; anything else by its type and Pulumi name."""
    inputs = registration.inputs
    if registration.package == "kubernetes" and "kind" in inputs and "name" in (inputs.get("metadata") or {}):
        return f"{inputs['kind']} {_where(inputs)}"
    kind = registration.type.split(":")[-1]
    name = inputs.get("name") or inputs.get("repositoryId")
    if isinstance(name, str) and name != registration.name:
        return f"{kind} {name} (Pulumi name {registration.name})"
    return f"{kind} {registration.name} (Pulumi name)"


def protection(deployment: Deployment, objects: Objects) -> list[str]:
    protected = sorted(_named(r) for r in deployment.registrations if r.protect)
    retained = sorted(_named(r) for r in deployment.registrations if r.retain_on_delete)
    lines = [f"Protected (no delete or replace until unprotected): {len(protected)}"]
    lines += [f"  {p}" for p in protected] or ["  (none)"]
    lines.append(f"Retained in the cluster when Pulumi deletes them: {len(retained)}")
    lines += [f"  {r}" for r in retained] or ["  (none)"]
    return lines


def ingress(deployment: Deployment, objects: Objects) -> list[str]:
    lines = ["Ingress:"]
    for obj in (o for o in objects if o["kind"] == "Ingress"):
        spec = obj["spec"]
        annotations = obj["metadata"].get("annotations") or {}
        klass = spec.get("ingressClassName") or annotations.get("kubernetes.io/ingress.class", "(cluster default)")
        tls_text = _tls(obj, objects)
        for rule in spec["rules"]:
            routes = ", ".join(
                f"{p['path']} -> {p['backend']['service']['name']}:{p['backend']['service']['port']['number']:g}"
                for p in rule["http"]["paths"]
            )
            lines.append(f"  {rule['host']} (class {klass}, {tls_text}): {routes}")
    return lines


GKE_MANAGED_CERTIFICATES = "networking.gke.io/managed-certificates"
GKE_ALLOW_HTTP = "kubernetes.io/ingress.allow-http"


def _tls(obj: dict[str, Any], objects: Objects) -> str:
    """Where the Ingress's certificate comes from: a Secret in `spec.tls`, or (GKE) the Google-managed certificates
    its annotation names, with their domains; and whether plain HTTP is served beside it."""
    annotations = obj["metadata"].get("annotations") or {}
    sources = [f"Secret {t['secretName']}" for t in obj["spec"].get("tls") or [] if t.get("secretName")]
    domains = {
        o["metadata"]["name"]: ", ".join(o["spec"].get("domains", []))
        for o in objects
        if o["kind"] == "ManagedCertificate" and o["metadata"].get("namespace") == obj["metadata"].get("namespace")
    }
    for name in (m.strip() for m in annotations.get(GKE_MANAGED_CERTIFICATES, "").split(",")):
        if name:
            sources.append(f"Google-managed certificate {name} ({domains.get(name, 'not declared by this stack')})")
    if not sources:
        return "no TLS (plain HTTP)"
    http = "plain HTTP refused" if str(annotations.get(GKE_ALLOW_HTTP, "")).lower() == "false" else "plain HTTP too"
    return f"TLS from {', '.join(sources)}; {http}"


def gpu_sharing(deployment: Deployment, objects: Objects) -> list[str]:
    cluster = TypeAdapter(ClusterConfig).validate_python(deployment.config["kiban:cluster"])
    if cluster.gpu is None:
        return ["GPUs: the cluster has none"]
    sharing = getattr(cluster.gpu, "time_slicing_replicas", 1)
    how = f"each GPU time-sliced {sharing} ways (no memory isolation between sharers)" if sharing > 1 else "whole GPUs"
    return [f"GPUs: {how}; {cluster.gpu_slots()} nvidia.com/gpu offered"]


def helm_releases(deployment: Deployment, objects: Objects) -> list[str]:
    charts = {(c.chart, c.version): c for c in versions().charts.all()}
    releases = sorted(  # registrations arrive in the order the engine's threads serve them
        deployment.of_type("kubernetes:helm.sh/v3:Release"),
        key=lambda r: (r.inputs.get("namespace", ""), r.inputs.get("name", r.name)),
    )
    lines = ["Helm releases (what each creates, from helm template of the pinned chart):"]
    for release in releases:
        inputs = release.inputs
        repo = inputs.get("repositoryOpts", {}).get("repo", "")
        where = f"{inputs.get('namespace', '')}/{inputs.get('name', release.name)}"
        lines.append(f"  {where:<40} {inputs['chart']} {inputs.get('version', '?')}  ({repo})")
        chart = charts.get((inputs["chart"], inputs.get("version")))
        if chart is None:
            lines.append("      (chart not vendored: cannot show its objects)")
            continue
        try:
            kinds = template_kinds(
                chart.archive,
                release=inputs.get("name", release.name),
                namespace=inputs["namespace"],
                values=restore_integers(inputs.get("values") or {}),
                kube_version=deployment.config["kiban:cluster"].get("kubernetesVersion", "1.35"),
            )
        except HelmError as error:
            lines.append(f"      (helm template failed: {str(error).splitlines()[-1]})")
            continue
        lines.append("      " + ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())))
    return lines if releases else [*lines, "  (none)"]


def other_resources(deployment: Deployment, objects: Objects) -> list[str]:
    others = Counter(r.type for r in deployment.registrations if r.custom and r.package not in ("kubernetes", "pulumi"))
    lines = ["Other resources (cloud, generated secrets):"]
    lines += [f"  {count} x {type_}" for type_, count in sorted(others.items())] or ["  (none)"]
    return lines


def capacity_section(deployment: Deployment, objects: Objects) -> list[str]:
    cluster = TypeAdapter(ClusterConfig).validate_python(deployment.config["kiban:cluster"])
    head, *rest = capacity.summary_lines(objects, cluster)
    return [head.lstrip("\n"), *rest]


def outputs(deployment: Deployment, objects: Objects) -> list[str]:
    return ["Stack outputs:", *(f"  {k}: {_marked(deployment, v)}" for k, v in sorted(redact(deployment.outputs).items()))]


def _marked(deployment: Deployment, value: Any) -> str:
    """`value` as text, followed by `[mock digest]` (or address, ...) for each value in it the mock engine made up:
    `pulumi up` deploys and reports the real ones."""
    text = str(value)
    found = sorted({what for stand_in, what in deployment.stand_ins.items() if stand_in in text})
    return text + "".join(f"  [mock {what}]" for what in found)


SECTIONS: tuple[Callable[[Deployment, Objects], list[str]], ...] = (
    namespaces, workloads, storage, protection, ingress, gpu_sharing, helm_releases, other_resources,
    capacity_section, outputs,
)


def summary(deployment: Deployment, objects: Objects, out_dir: Path) -> str:
    objects = sorted(objects, key=_key)
    dependencies = sum(len(r.dependencies) for r in deployment.registrations)
    lines = [
        f"kiban stack '{deployment.stack}': {len(deployment.registrations)} resources with {dependencies} "
        f"dependencies between them; {len(objects)} Kubernetes objects written to {out_dir}"
    ]
    if deployment.stand_ins:
        lines.append("[mock ...] marks a value the mock engine made up; `pulumi up` uses what the cloud or registry reports")
    for section in SECTIONS:
        lines += ["", *section(deployment, objects)]
    return "\n".join(lines)
