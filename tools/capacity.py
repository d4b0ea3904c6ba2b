"""What a stack's workloads ask of the cluster, against what the cluster offers: the capacity section of
`make render`.

Demand comes from the rendered objects (what the API server would get): every long-running pod's requests times
its replicas (an autoscaler's maximum where there is one; a blue/green Rollout's GPUs once per version it runs at
once: the new one and the previous ones its `scaleDownDelayRevisionLimit` keeps through the delay), plus the volumes claimed. Supply comes from the stack's cluster config: the listed
K3s nodes, or the GKE GPU pool's maximum. The program itself refuses a stack whose GPUs cannot fit
(`StackConfig.gpu_demand`); this section shows the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.contracts.settings import cpu_millicores, memory_bytes
from components.clusters.settings import ExistingGkeCluster, GkeCluster, K3sCluster
from tools.custom_workloads import with_stand_ins

GPU = "nvidia.com/gpu"
LONG_RUNNING = ("Deployment", "StatefulSet")


@dataclass
class Demand:
    cpu_millicores: float = 0
    memory_bytes: float = 0
    gpus: int = 0
    storage_bytes: float = 0
    lines: list[str] = field(default_factory=list)


def _replicas(obj: dict[str, Any], autoscalers: dict[tuple[str, str], dict[str, Any]]) -> int:
    metadata = obj["metadata"]
    autoscaler = autoscalers.get((metadata.get("namespace", ""), metadata["name"]))
    if autoscaler:
        return int(autoscaler["maxReplicas"])
    return int(obj["spec"].get("replicas") or 1)


class UnboundedVersions(ValueError):
    """A blue/green Rollout that keeps every previous version up through its scale-down delay."""


def _versions_at_once(rollout: dict[str, Any]) -> int:
    """How many versions of a blue/green Rollout run at once: the new one and the previous ones kept through the
    scale-down delay (`scaleDownDelayRevisionLimit`). Without that limit each switch inside the delay adds one more,
    so there is no bound to count."""
    limit = rollout["spec"]["strategy"]["blueGreen"].get("scaleDownDelayRevisionLimit")
    if limit is None:
        raise UnboundedVersions(
            f"Rollout {rollout['metadata']['name']}: no scaleDownDelayRevisionLimit, so every switch inside the "
            "scale-down delay keeps one more version (and its GPUs) running"
        )
    return 1 + int(limit)


def demand(objects: list[dict[str, Any]]) -> Demand:
    """The most the long-running workloads request at once, and the storage they claim."""
    autoscalers = {
        (o["metadata"].get("namespace", ""), o["spec"]["scaleTargetRef"]["name"]): o["spec"]
        for o in objects
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    blue_green = {
        (o["metadata"].get("namespace", ""), o["metadata"]["name"]): _versions_at_once(o)
        for o in objects
        if o["kind"] == "Rollout" and (o.get("spec") or {}).get("strategy", {}).get("blueGreen")
    }
    total = Demand()
    for obj in with_stand_ins(objects):
        if obj["kind"] not in LONG_RUNNING:
            continue
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        replicas = _replicas(obj, autoscalers)
        pod = obj["spec"]["template"]["spec"]
        cpu = sum(cpu_millicores(str(c["resources"]["requests"]["cpu"])) for c in pod["containers"])
        memory = sum(memory_bytes(str(c["resources"]["requests"]["memory"])) for c in pod["containers"])
        gpus = sum(int(c["resources"].get("limits", {}).get(GPU, 0)) for c in pod["containers"])
        colours = blue_green.get(key, 1)
        total.cpu_millicores += cpu * replicas
        total.memory_bytes += memory * replicas
        total.gpus += gpus * replicas * colours
        for claim in obj["spec"].get("volumeClaimTemplates") or []:
            total.storage_bytes += memory_bytes(claim["spec"]["resources"]["requests"]["storage"]) * replicas
        gpu_note = f", GPU {gpus * replicas * colours}" + (" (both colours of a switch)" if colours == 2 else "") if gpus else ""
        total.lines.append(f"{key[0]}/{key[1]}: x{replicas}, CPU {cpu * replicas:g}m, memory {_gi(memory * replicas)}{gpu_note}")
    for obj in objects:
        if obj["kind"] == "PersistentVolumeClaim":
            total.storage_bytes += memory_bytes(obj["spec"]["resources"]["requests"]["storage"])
        if obj["kind"] == "Cluster" and obj["apiVersion"].startswith("postgresql.cnpg.io/"):
            _add_postgres_cluster(total, obj)
    return total


def _add_postgres_cluster(total: Demand, obj: dict[str, Any]) -> None:
    """A CloudNativePG `Cluster`: its instances' `postgres` containers and volumes (the operator makes the pods)."""
    spec = obj["spec"]
    instances = int(spec["instances"])
    requests = spec["resources"]["requests"]
    cpu, memory = cpu_millicores(str(requests["cpu"])), memory_bytes(str(requests["memory"]))
    total.cpu_millicores += cpu * instances
    total.memory_bytes += memory * instances
    total.storage_bytes += memory_bytes(spec["storage"]["size"]) * instances
    where = f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
    total.lines.append(f"{where} (CloudNativePG): x{instances}, CPU {cpu * instances:g}m, memory {_gi(memory * instances)}")


def _gi(value: float) -> str:
    return f"{value / 2**30:.1f}Gi"


def summary_lines(objects: list[dict[str, Any]], cluster: K3sCluster | ExistingGkeCluster | GkeCluster) -> list[str]:
    """The capacity section of the render summary."""
    wanted = demand(objects)
    lines = [
        "\nCapacity (kiban's own workloads' requests at their most replicas, against the cluster; "
        "Helm releases not counted):"
    ]
    lines += [f"  {line}" for line in wanted.lines]
    lines.append(
        f"  needed: CPU {wanted.cpu_millicores:g}m, memory {_gi(wanted.memory_bytes)}, GPU {wanted.gpus}, "
        f"storage {_gi(wanted.storage_bytes)}"
    )
    if isinstance(cluster, K3sCluster) and cluster.nodes:
        cpu = sum(cpu_millicores(n.cpu) for n in cluster.nodes)
        memory = sum(memory_bytes(n.memory) for n in cluster.nodes)
        slots = cluster.gpu_slots() or 0
        sharing = f" ({sum(n.gpus for n in cluster.nodes)} GPU x {cluster.gpu.time_slicing_replicas} time-sliced)" if cluster.gpu else ""
        lines.append(f"  offered: CPU {cpu:g}m, memory {_gi(memory)}, GPU {slots}{sharing} on {len(cluster.nodes)} nodes")
        for name, need, have in (("CPU", wanted.cpu_millicores, cpu), ("memory", wanted.memory_bytes, memory)):
            if need > have:
                lines.append(f"  WARNING: {name} requests exceed the nodes' total; pods will stay Pending")
    elif isinstance(cluster, GkeCluster):
        general = cluster.general_pool
        lines.append(
            f"  offered: GPU {cluster.gpu_slots()} (pool {cluster.gpu.machine_type if cluster.gpu else '-'}, "
            f"{cluster.gpu.min_nodes if cluster.gpu else 0} to {cluster.gpu.max_nodes if cluster.gpu else 0} nodes); "
            f"general pool {general.machine_type}, {general.min_nodes} to {general.max_nodes} nodes per zone"
        )
    elif isinstance(cluster, ExistingGkeCluster):
        lines.append(f"  offered: GPU {cluster.gpu_slots()} (GPU pool up to {cluster.gpu.max_nodes if cluster.gpu else 0} nodes); "
                     "CPU and memory scale with the general pool")
    else:
        lines.append("  offered: unknown (list the nodes under kiban:cluster.nodes)")
    return lines
