"""Whether NetworkPolicies let one pod connect to another, read the way a CNI that enforces them reads them: a pod
that any Ingress policy selects admits only what some rule of those policies admits (kiban's namespaces all have a
default-deny that selects every pod), and a named port is the target container's port of that name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class Pod:
    """A pod as policies see it: where it runs, its labels, its named container ports."""

    namespace: str
    labels: Mapping[str, str]
    ports: Mapping[str, int] = field(default_factory=dict)


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A label selector (matchLabels only: a selector with matchExpressions is refused as unknown)."""
    if selector is None:
        return True
    if selector.get("matchExpressions"):
        raise ValueError(f"matchExpressions are not evaluated here: {selector}")
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def pods_of(objects: Iterable[Mapping[str, Any]], namespace: str) -> dict[str, Pod]:
    """The pods of each Deployment, StatefulSet and DaemonSet in `objects`, by workload name."""
    found = {}
    for obj in objects:
        if obj.get("kind") not in ("Deployment", "StatefulSet", "DaemonSet"):
            continue
        template = obj["spec"]["template"]
        ports = {
            p["name"]: p["containerPort"]
            for c in template["spec"].get("containers", [])
            for p in c.get("ports") or []
            if "name" in p
        }
        found[obj["metadata"]["name"]] = Pod(obj["metadata"].get("namespace") or namespace, template["metadata"]["labels"], ports)
    return found


def _peer_matches(peer: Mapping[str, Any], source: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        return False  # pod-to-pod traffic is judged by pod selectors here
    if "namespaceSelector" in peer:
        namespace_ok = selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": source.namespace})
    else:
        namespace_ok = source.namespace == policy_namespace
    return namespace_ok and selects(peer.get("podSelector") or {}, source.labels)


def _port_matches(rule: Mapping[str, Any], target: Pod, port: int) -> bool:
    if not rule.get("ports"):
        return True
    for entry in rule["ports"]:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        wanted = entry.get("port")
        if wanted is None or wanted == port or (isinstance(wanted, str) and target.ports.get(wanted) == port):
            return True
    return False


def ingress_admits(policies: Iterable[Mapping[str, Any]], source: Pod, target: Pod, port: int) -> bool:
    """Whether a TCP connection from `source` to `target`:`port` passes `target`'s ingress policies."""
    selecting = [
        p
        for p in policies
        if p["kind"] == "NetworkPolicy"
        and (p["metadata"].get("namespace") or target.namespace) == target.namespace
        and "Ingress" in (p["spec"].get("policyTypes") or ["Ingress"])
        and selects(p["spec"].get("podSelector") or {}, target.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from")
            if (not peers or any(_peer_matches(peer, source, target.namespace) for peer in peers)) and _port_matches(
                rule, target, port
            ):
                return True
    return False
