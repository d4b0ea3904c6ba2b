"""Whether NetworkPolicies let one pod connect to another, read the way a CNI that enforces them reads them: a pod
that any Ingress policy selects admits only what some rule of those policies admits (kiban's namespaces all have a
default-deny that selects every pod), and a named port is the target container's port of that name."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Union


@dataclass(frozen=True)
class Pod:
    """A pod as policies see it: where it runs, its labels, its named container ports."""

    namespace: str
    labels: Mapping[str, str]
    ports: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Address:
    """A connection from outside the pod network, by the source address the receiving pod's node sees."""

    ip: str

    node: bool = False
    """The address is a node's own: a connection a node forwarded from a NodePort to a pod on another node, which it
    source-NATs to itself. On GKE Dataplane V2 (Cilium) a node address carries Cilium's host/remote-node identity,
    which no `ipBlock` matches (Cilium documents `ipBlock` selecting node addresses only from v1.15, and only with
    `policy-cidr-match-mode: nodes`); so only a rule without `from` admits it."""


Source = Union[Pod, Address]


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A label selector (matchLabels only: a selector with matchExpressions is refused as unknown)."""
    if selector is None:
        return True
    if selector.get("matchExpressions"):
        raise ValueError(f"matchExpressions are not evaluated here: {selector}")
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def pods_of(objects: Iterable[Mapping[str, Any]], namespace: str) -> dict[str, Pod]:
    """The pods of each Deployment, StatefulSet, DaemonSet and Argo Rollout in `objects`, by workload name."""
    found = {}
    for obj in objects:
        if obj.get("kind") not in ("Deployment", "StatefulSet", "DaemonSet", "Rollout"):
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


def _ip_block_matches(block: Mapping[str, Any], address: Address) -> bool:
    ip = ipaddress.ip_address(address.ip)
    inside = ip in ipaddress.ip_network(block["cidr"])
    return inside and not any(ip in ipaddress.ip_network(c) for c in block.get("except") or [])


def _peer_matches(peer: Mapping[str, Any], source: Source, policy_namespace: str) -> bool:
    if isinstance(source, Address):
        return "ipBlock" in peer and not source.node and _ip_block_matches(peer["ipBlock"], source)
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


def ingress_admits(policies: Iterable[Mapping[str, Any]], source: Source, target: Pod, port: int) -> bool:
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
