"""Every Helm release each stack declares, rendered by the real helm from the vendored archive of its pinned
version, with exactly the values kiban passes:

- every values key exists in the chart (Helm ignores unknown keys silently);
- every rendered object validates strictly against the stack's Kubernetes version;
- every pod that calls the Kubernetes API (its service account is bound to a role) may reach the API server
  through kiban's NetworkPolicies in that namespace.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import json
from typing import Any

import kubernetes_validate
from kubernetes_validate.utils import ValidationError

from tests.policy.conftest import RenderedStack
from tools.helm import template, unknown_value_keys
from pydantic import TypeAdapter

from components.clusters.settings import ClusterConfig, GkeCluster
from tools.mock_engine import ROOT, Registration, stack_config
from policy.pod_security import check, is_pod_bearing, pod_template
from policy.rules import WORKLOAD_TYPES, Resource, Settings, immutable_images, no_withdrawn_images
from tools.manifests import release_values
from versions import PinnedChart, versions

RELEASE = "kubernetes:helm.sh/v3:Release"


def pinned(release: Registration) -> PinnedChart:
    charts = versions().charts.all()
    found = [c for c in charts if (c.chart, c.version) == (release.inputs["chart"], release.inputs["version"])]
    assert found, f"release {release.name}: chart {release.inputs['chart']} {release.inputs['version']} is not pinned"
    assert found[0].archive.is_file(), f"{found[0].archive} is not vendored under charts/"
    return found[0]


_RENDERS: dict[tuple[str, str], tuple[dict[str, Any], ...]] = {}


def _render(stack: str, name: str, rendered: RenderedStack) -> tuple[dict[str, Any], ...]:
    """`helm template` of one release, once per session; objects without a namespace get the release's."""
    if (stack, name) not in _RENDERS:
        (release,) = [r for r in rendered.deployment.of_type(RELEASE) if r.name == name]
        objects = template(
            pinned(release).archive,
            release=release.inputs.get("name", release.name),
            namespace=release.inputs["namespace"],
            values=release_values(release),
            kube_version=rendered.kubernetes_version,
        )
        for obj in objects:
            obj.setdefault("metadata", {}).setdefault("namespace", release.inputs["namespace"])
        _RENDERS[(stack, name)] = tuple(objects)
    return _RENDERS[(stack, name)]


def releases(rendered: RenderedStack) -> list[Registration]:
    found = rendered.deployment.of_type(RELEASE)
    assert found, f"{rendered.stack} declares no Helm release"
    return found


def test_every_values_key_exists_in_its_chart(rendered: RenderedStack):
    unknown = {r.name: unknown_value_keys(pinned(r).archive, release_values(r)) for r in releases(rendered)}
    assert not any(unknown.values()), f"{rendered.stack}: values keys the charts do not define: {unknown}"


def test_every_rendered_object_validates_strictly(rendered: RenderedStack):
    failures = []
    for release in releases(rendered):
        for obj in _render(rendered.stack, release.name, rendered):
            try:
                kubernetes_validate.validate(obj, rendered.kubernetes_patch_version, strict=True)
            except ValidationError as error:
                where = f"{release.name}: {obj['kind']} {obj['metadata']['name']}"
                failures.append(f"{where}: {'.'.join(map(str, error.path))}: {error.message}")
    assert not failures, "\n".join(failures)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()) and not selector.get(
        "matchExpressions"
    )


def api_clients(objects: tuple[dict[str, Any], ...]) -> list[tuple[str, dict[str, str]]]:
    """(name, pod labels) of the pods whose service account is bound to a Role or ClusterRole."""
    bound = {
        (subject.get("namespace"), subject["name"])
        for o in objects
        if o["kind"] in ("RoleBinding", "ClusterRoleBinding")
        for subject in o.get("subjects") or []
        if subject.get("kind") == "ServiceAccount"
    }
    clients = []
    for obj in (o for o in objects if is_pod_bearing(o)):
        pod = pod_template(obj)
        account = pod.spec.get("serviceAccountName") or "default"
        if (obj["metadata"].get("namespace"), account) in bound or (None, account) in bound:
            clients.append((f"{obj['kind']} {obj['metadata']['name']}", pod.metadata.get("labels") or {}))
    return clients


def _admits(rule: dict[str, Any], address: ipaddress.IPv4Network | ipaddress.IPv6Network, port: int) -> bool:
    """Whether an egress rule lets traffic to `address`:`port` through."""
    if rule.get("ports") and not any(p.get("port") == port for p in rule["ports"]):
        return False
    for peer in rule.get("to") or []:
        block = peer.get("ipBlock")
        if block is None:
            continue
        allowed = ipaddress.ip_network(block["cidr"])
        excepted = [ipaddress.ip_network(e) for e in block.get("except") or []]
        if address.version == allowed.version and address.subnet_of(allowed) and not any(
            address.version == e.version and address.subnet_of(e) for e in excepted
        ):
            return True
    return False


def api_reachability_problems(rendered: RenderedStack) -> list[str]:
    """The API clients of every release that no NetworkPolicy of kiban's lets reach the API server (the stack's
    `cluster.apiServer` addresses and port, as the CNI sees them)."""
    cluster = TypeAdapter(ClusterConfig).validate_python(stack_config(rendered.stack)["kiban:cluster"])
    if isinstance(cluster, GkeCluster):  # pods reach the private endpoint inside the control-plane range
        addresses, port = [ipaddress.ip_network(cluster.network.control_plane)], 443
    else:
        addresses = [ipaddress.ip_network(a) for a in cluster.api_server.addresses]
        port = cluster.api_server.port
    problems = []
    for release in releases(rendered):
        namespace = release.inputs["namespace"]
        policies = [
            o
            for o in rendered.objects
            if o["kind"] == "NetworkPolicy" and o["metadata"].get("namespace") == namespace
        ]
        for name, labels in api_clients(_render(rendered.stack, release.name, rendered)):
            reachable = [
                p
                for p in policies
                if "Egress" in p["spec"].get("policyTypes", [])
                and _selects(p["spec"].get("podSelector") or {}, labels)
                and all(
                    any(_admits(rule, address, port) for rule in p["spec"].get("egress") or [])
                    for address in addresses
                )
            ]
            if not reachable:
                problems.append(f"{release.name}: {name} calls the API but no NetworkPolicy in {namespace} lets it")
    return problems


def test_pods_that_call_the_api_may_reach_the_api_server(rendered: RenderedStack):
    problems = api_reachability_problems(rendered)
    assert not problems, "\n".join(problems)


def test_the_api_check_finds_the_clients_and_fails_without_their_allow(renders):
    rendered = renders("dev")
    clients = {r.inputs["chart"]: [n for n, _ in api_clients(_render("dev", r.name, rendered))] for r in releases(rendered)}
    assert clients["argo-rollouts"] == ["Deployment argo-rollouts"]
    assert "DaemonSet nvidia-device-plugin" in clients["nvidia-device-plugin"], "time-slicing's config-manager"
    without = dataclasses.replace(
        rendered, objects=[o for o in rendered.objects if not o["metadata"]["name"].endswith("-to-api-server")]
    )
    problems = api_reachability_problems(without)
    assert len(problems) == sum(len(c) for c in clients.values()), problems


def test_what_each_release_runs_meets_its_namespace_pod_security(rendered: RenderedStack):
    levels = {
        o["metadata"]["name"]: o["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        for o in rendered.objects
        if o["kind"] == "Namespace"
    }
    failures = []
    for release in releases(rendered):
        level = levels[release.inputs["namespace"]]
        for obj in _render(rendered.stack, release.name, rendered):
            if is_pod_bearing(obj):
                failures += [f"{release.name}: {obj['kind']} {obj['metadata']['name']}: {v}" for v in check(obj, level, version=rendered.kubernetes_version)]
    assert not failures, "\n".join(failures)


def release_workloads(rendered: RenderedStack) -> list[tuple[str, Resource]]:
    """Every pod-bearing object each release renders, as the policy rules see a resource."""
    types = {kind: token for token, kind in WORKLOAD_TYPES.items()}
    return [
        (release.name, Resource(types[obj["kind"]], obj["metadata"]["name"], obj))
        for release in releases(rendered)
        for obj in _render(rendered.stack, release.name, rendered)
        if obj["kind"] in types
    ]


def test_what_each_release_runs_is_an_immutable_image(rendered: RenderedStack):
    """The images a chart runs come from its templates, which CrossGuard never sees (it sees the Release and its
    values): the pinned, vendored chart is rendered here and its workloads go through the pack's own rule."""
    settings = Settings.from_config(json.loads((ROOT / "policy" / f"config.{rendered.stack}.json").read_text())["immutable-images"])
    workloads = release_workloads(rendered)
    assert len({name for name, _ in workloads}) == len(releases(rendered)), "every release runs pods"
    problems = [f"{name}: {p}" for name, workload in workloads for p in immutable_images(workload, settings)]
    assert problems == []
    # The same objects with a floating tag are refused: the check sees the chart's images.
    name, workload = workloads[0]
    floating = copy.deepcopy(dict(workload.props))
    container = pod_template(floating).spec["containers"][0]
    container["image"] = container["image"].split("@")[0].rsplit(":", 1)[0] + ":3"
    assert immutable_images(Resource(workload.type, workload.name, floating), settings)


def test_no_release_runs_an_image_from_a_withdrawn_repository(rendered: RenderedStack):
    """What a chart runs by itself is checked against versions.json `withdrawnImages` too (no chart kiban installs
    pulls Bitnami's withdrawn catalog or MinIO's deleted images), and the check sees the chart's images."""
    settings = Settings.from_config(json.loads((ROOT / "policy" / f"config.{rendered.stack}.json").read_text())["no-withdrawn-images"])
    workloads = release_workloads(rendered)
    assert [f"{name}: {p}" for name, workload in workloads for p in no_withdrawn_images(workload, settings)] == []
    name, workload = workloads[0]
    moved = copy.deepcopy(dict(workload.props))
    container = pod_template(moved).spec["containers"][0]
    container["image"] = "docker.io/bitnami/" + container["image"].split("@")[0].rsplit("/", 1)[-1]
    assert no_withdrawn_images(Resource(workload.type, workload.name, moved), settings), container["image"]


def _container_ports(objects: tuple[dict[str, Any], ...]) -> dict[str, int]:
    """Named container ports of every pod template among `objects`."""
    named: dict[str, int] = {}
    for obj in objects:
        spec = pod_template(obj).spec if is_pod_bearing(obj) else {}
        for container in spec.get("containers") or []:
            for port in container.get("ports") or []:
                if port.get("name"):
                    named[port["name"]] = port["containerPort"]
    return named


def admission_webhook_ports(objects: tuple[dict[str, Any], ...]) -> dict[str, int]:
    """(webhook name → the port its pods listen on) for every admission webhook served by a Service in `objects`:
    the port the control plane calls on the nodes."""
    services = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects if o["kind"] == "Service"}
    named = _container_ports(objects)
    ports: dict[str, int] = {}
    for config in objects:
        if config["kind"] not in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            continue
        for webhook in config.get("webhooks") or []:
            ref = (webhook.get("clientConfig") or {}).get("service")
            if not ref:
                continue
            service = services[(ref["namespace"], ref["name"])]
            (port,) = [p for p in service["spec"]["ports"] if p["port"] == ref.get("port", 443)]
            target = port.get("targetPort", port["port"])
            ports[webhook["name"]] = named[target] if isinstance(target, str) else int(target)
    return ports


def test_admission_webhook_ports_helper_resolves_named_target_ports():
    objects = (
        {"kind": "Deployment", "metadata": {"name": "op", "namespace": "ns"}, "spec": {"template": {"spec": {
            "containers": [{"name": "op", "ports": [{"name": "webhook", "containerPort": 9443}]}]}}}},
        {"kind": "Service", "metadata": {"name": "op-webhook", "namespace": "ns"},
         "spec": {"ports": [{"port": 443, "targetPort": "webhook"}]}},
        {"kind": "ValidatingWebhookConfiguration", "metadata": {"name": "op"}, "webhooks": [
            {"name": "v.op.io", "clientConfig": {"service": {"name": "op-webhook", "namespace": "ns"}}}]},
    )
    assert admission_webhook_ports(objects) == {"v.op.io": 9443}


def test_private_gke_control_plane_may_call_every_admission_webhook(renders: Any):
    """The firewall rule of `GkeNetwork` opens fixed ports; a chart that serves an admission webhook on another
    port would time out on a private GKE cluster. (The vendored charts serve none today; CloudNativePG's 9443 is
    in the rule.)"""
    from components.clusters.gke_network import WEBHOOK_PORTS

    rendered = renders("prod")
    assert rendered.deployment.of_type("gcp:container/cluster:Cluster"), "prod creates its GKE cluster"
    closed = {
        f"{release.name}: {name}": port
        for release in releases(rendered)
        for name, port in admission_webhook_ports(_render(rendered.stack, release.name, rendered)).items()
        if str(port) not in WEBHOOK_PORTS
    }
    assert not closed, f"{rendered.stack}: admission webhooks the control plane cannot reach through the firewall: {closed}"
