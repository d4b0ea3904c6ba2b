"""A blue/green switch on GKE keeps a healthy backend: prod's Ingress and the Services it routes to, read the way
ingress-gce reads them, give the load balancer instance-group backends health-checked on a node port, and the
pods behind them admit what the load balancer and the nodes send.

Why: with NEGs, moving the active Service's selector detaches the old pods from the NEG before the new ones pass
the load balancer's health check, and the backend answers 502 meanwhile (kubernetes/ingress-gce#638,
argoproj/argo-rollouts#4772). An instance group's members are the nodes; a node's health check goes to the
Service's node port, which `externalTrafficPolicy: Cluster` forwards to any ready pod the Service selects: ready
pods of the old colour before the switch, of the new one after it (Argo Rollouts switches only to a saturated
ReplicaSet: rollout/service.go, reconcileActiveService), so the members stay healthy throughout.

The reading below follows kubernetes/ingress-gce at acbcf5d (2026-08-21):
- pkg/controller/translator/translator.go, `maybeEnableNEG`: NEGs for an Ingress backend iff the Service's
  `cloud.google.com/neg` annotation, parsed as `negannotation.NegAnnotation` (pkg/negannotation/negannotation.go),
  says `"ingress": true`; without NEGs the Service must be a NodePort or a LoadBalancer (`ErrBadSvcType`).
  GKE itself writes `{"ingress": true}` onto a Service that has no such annotation on a VPC-native cluster.
- `getHTTPProbe`: the health check's path is the readiness probe of a pod the Service selects, of the container
  whose port the Service's targetPort names, if the probe is a plain HTTP GET (`isSimpleHTTPProbe`) on that port.
- pkg/healthchecks/healthchecks.go, `new` and `SyncServicePort`: an instance-group backend's health check goes to
  the node port (`hc.Port = sp.NodePort`), with the probe's path (pkg/translator/healthchecks.go,
  `ApplyProbeSettingsToHC`).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.network_reach import Address, Pod, ingress_admits, pods_of
from tools.manifests import manifests
from tools.mock_engine import run_program

NAMESPACE = "face-recognition"
NEG_ANNOTATION = "cloud.google.com/neg"
GKE_DEFAULT_NEG = '{"ingress": true}'
HEALTH_CHECKERS = ("35.191.0.1", "130.211.3.254")
"""Google Front Ends and health checkers (35.191.0.0/16, 130.211.0.0/22): a node that forwards their connection
to a pod on itself keeps their address."""
A_NODE = Address("10.10.0.7", node=True)
"""A node of prod's default subnet that forwarded a connection from its node port to a pod on another node."""


@pytest.fixture(scope="module")
def prod() -> list[dict[str, Any]]:
    return [o for o in manifests(run_program("prod")) if (o["metadata"].get("namespace") or NAMESPACE) == NAMESPACE]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def neg_enabled_for_ingress(service: dict[str, Any]) -> bool:
    """`maybeEnableNEG` on the Service as GKE stores it (GKE's default annotation where it has none). Go's
    encoding/json matches the `ingress` field case-insensitively; a missing field is false."""
    raw = (service["metadata"].get("annotations") or {}).get(NEG_ANNOTATION, GKE_DEFAULT_NEG)
    annotation = json.loads(raw)
    return any(key.lower() == "ingress" and value is True for key, value in annotation.items())


def routed_services(objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """The Services (and ports) prod's Ingress routes to."""
    ingress = one(objects, "Ingress", "face-recognition")
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    return [(one(objects, "Service", p["backend"]["service"]["name"]), p["backend"]["service"]["port"]["number"]) for p in paths]


def health_check_path(objects: list[dict[str, Any]], service: dict[str, Any], port: int) -> str | None:
    """`getHTTPProbe`: the readiness probe path ingress-gce copies into the health check, or None (then the check
    asks `/`, which kiban's images do not promise to answer)."""
    (service_port,) = [p for p in service["spec"]["ports"] if p["port"] == port]
    target = service_port["targetPort"]
    selector = service["spec"]["selector"]
    for workload in objects:
        template = workload.get("spec", {}).get("template") if workload["kind"] in ("Rollout", "Deployment") else None
        if not template or any(template["metadata"]["labels"].get(k) != v for k, v in selector.items()):
            continue
        for container in template["spec"]["containers"]:
            probe = container.get("readinessProbe") or {}
            get = probe.get("httpGet")
            simple = get is not None and not get.get("host") and all(h["name"] == "Host" for h in get.get("httpHeaders") or [])
            if not simple or get.get("scheme", "HTTP") != "HTTP":  # the API server defaults the scheme to HTTP
                continue
            for container_port in container.get("ports") or []:
                if target in (container_port["containerPort"], container_port.get("name")) and get["port"] in (
                    container_port["containerPort"],
                    container_port.get("name"),
                ):
                    return get["path"]
    return None


def test_the_ingress_backends_are_instance_groups_health_checked_through_a_node_port(prod):
    routed = routed_services(prod)
    assert {s["metadata"]["name"] for s, _ in routed} == {"face-api", "frontend"}
    for service, port in routed:
        name = service["metadata"]["name"]
        assert not neg_enabled_for_ingress(service), f"{name}: a NEG backend loses its endpoints at every switch"
        assert service["spec"]["type"] in ("NodePort", "LoadBalancer"), f"{name}: ingress-gce's ErrBadSvcType"
        # Every node forwards to a ready pod wherever it runs: with Local, a node without one of the new colour's
        # pods fails its health check after the switch, and the load balancer waits for the check again.
        assert service["spec"]["externalTrafficPolicy"] == "Cluster", name
        assert health_check_path(prod, service, port) == "/health", f"{name}: the check asks what the pods answer"


def backend_config_of(objects: list[dict[str, Any]], service: dict[str, Any]) -> dict[str, Any] | None:
    """The BackendConfig ingress-gce applies to the Service's ports (pkg/backendconfig/backendconfig.go,
    `GetBackendConfigForServicePort`: the `cloud.google.com/backend-config` annotation, GA key first, parsed as
    `{"default": name, "ports": {...}}`; the object of that name in the Service's namespace), or None."""
    annotations = service["metadata"].get("annotations") or {}
    raw = annotations.get("cloud.google.com/backend-config", annotations.get("beta.cloud.google.com/backend-config"))
    if raw is None:
        return None
    configs = json.loads(raw)
    names = {configs.get("default"), *(configs.get("ports") or {}).values()} - {None}
    assert len(names) == 1, f"{service['metadata']['name']}: one BackendConfig for every port"
    return one(objects, "BackendConfig", names.pop())


def instance_group_health_check(objects: list[dict[str, Any]], service: dict[str, Any], port: int) -> dict[str, Any]:
    """The health check ingress-gce gives an instance-group backend: `DefaultHealthCheck` (every 60 s, timeout 60 s,
    1 success, 10 failures, on the node port), the readiness probe's settings (`ApplyProbeSettingsToHC`: its path,
    its timeout, its period + 60 s), then every field the BackendConfig's `healthCheck` sets
    (`UpdateFromBackendConfig`; a `port` there makes the check USE_FIXED_PORT on that number)."""
    check = {"port": "nodePort", "checkIntervalSec": 60, "timeoutSec": 60, "healthyThreshold": 1, "unhealthyThreshold": 10}
    path = health_check_path(objects, service, port)
    if path is not None:
        workload = one(objects, "Rollout", service["metadata"]["name"])
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        probe = container["readinessProbe"]
        check |= {"requestPath": path, "timeoutSec": probe["timeoutSeconds"], "checkIntervalSec": probe["periodSeconds"] + 60}
    config = backend_config_of(objects, service)
    if config is not None:
        check |= (config.get("spec") or {}).get("healthCheck") or {}
    return check


def test_a_node_that_stops_forwarding_leaves_the_backend_within_a_minute(prod):
    """Without a BackendConfig a node that stays Ready but stops forwarding keeps its share of traffic for 10 x
    (10 s + 60 s) + 5 s, about 12 minutes; kiban's sets the check every 10 s, out after 3 failures."""
    for service, port in routed_services(prod):
        name = service["metadata"]["name"]
        config = backend_config_of(prod, service)
        assert config is not None, f"{name}: no BackendConfig, so ingress-gce's instance-group default applies"
        assert config["spec"]["healthCheck"]["requestPath"] == health_check_path(prod, service, port), name
        check = instance_group_health_check(prod, service, port)
        assert check["port"] == "nodePort", f"{name}: checked on the node port the load balancer reaches it through"
        assert check.get("type", "HTTP") == "HTTP" and check["requestPath"] == "/health", name
        assert check["timeoutSec"] <= check["checkIntervalSec"], f"{name}: Compute Engine refuses a longer timeout"
        detection = check["unhealthyThreshold"] * check["checkIntervalSec"] + check["timeoutSec"]
        assert detection <= 60, f"{name}: a node that stops forwarding keeps traffic for {detection} s"
        assert check["unhealthyThreshold"] >= 2, f"{name}: one lost answer must not drop a node"


def test_the_switch_is_the_rollouts_active_service_and_the_old_colour_outlives_it(prod):
    """The Service the load balancer reaches is the one Argo Rollouts switches; the old colour keeps running for
    the scale-down delay, so a connection a node already forwarded to it still finds it."""
    for service, _ in routed_services(prod):
        name = service["metadata"]["name"]
        strategy = one(prod, "Rollout", name)["spec"]["strategy"]["blueGreen"]
        assert strategy["activeService"] == name
        assert one(prod, "Service", strategy["previewService"])["spec"]["type"] == "ClusterIP", "no Ingress routes to it"
        assert strategy["scaleDownDelaySeconds"] >= 30


def test_the_pods_admit_the_load_balancer_and_what_the_nodes_forward_on_the_served_port_only(prod):
    policies = [o for o in prod if o["kind"] == "NetworkPolicy"]
    pods = pods_of(prod, NAMESPACE)
    for service, port in routed_services(prod):
        pod = pods[service["metadata"]["name"]]
        for checker in HEALTH_CHECKERS:
            assert ingress_admits(policies, Address(checker), pod, port), (service["metadata"]["name"], checker)
        assert ingress_admits(policies, A_NODE, pod, port), "a connection a node forwarded from its node port"
        assert not ingress_admits(policies, A_NODE, pod, port + 1), "nothing but the served port"
    assert not ingress_admits(policies, A_NODE, pods["face-api"], 8080), "the frontend's port is not the API's"


def test_dev_keeps_traefik_reaching_the_pods_itself():
    """K3s's Traefik routes to the endpoints: ClusterIP Services and a policy that admits Traefik's pods alone."""
    dev = [o for o in manifests(run_program("dev")) if (o["metadata"].get("namespace") or NAMESPACE) == NAMESPACE]
    policies = [o for o in dev if o["kind"] == "NetworkPolicy"]
    pods = pods_of(dev, NAMESPACE)
    traefik = Pod("kube-system", {"app.kubernetes.io/name": "traefik"})
    for service, port in routed_services(dev):
        assert service["spec"]["type"] == "ClusterIP" and "externalTrafficPolicy" not in service["spec"]
        assert NEG_ANNOTATION not in (service["metadata"].get("annotations") or {})
        assert backend_config_of(dev, service) is None, "K3s has no BackendConfig"
        pod = pods[service["metadata"]["name"]]
        assert ingress_admits(policies, traefik, pod, port)
        assert not ingress_admits(policies, A_NODE, pod, port)
    assert [o for o in dev if o["kind"] == "BackendConfig"] == []
