"""Cluster facts: traffic sources become NetworkPolicy peers, tolerations become Kubernetes tolerations."""

from __future__ import annotations

import dataclasses

import pytest

from components.contracts.cluster import (
    ApiServerEndpoint,
    BackendHealthCheck,
    IngressBackends,
    IngressFacts,
    ServiceExposure,
    Toleration,
    TrafficSource,
)


def test_cidrs_become_ip_blocks_and_selectors_one_peer():
    peers = TrafficSource(
        namespace_labels={"kubernetes.io/metadata.name": "kube-system"},
        pod_labels={"app.kubernetes.io/name": "traefik"},
        cidrs=("10.0.0.0/8",),
    ).to_peers()
    assert [p.ip_block.cidr for p in peers if p.ip_block] == ["10.0.0.0/8"]
    (selector_peer,) = [p for p in peers if not p.ip_block]
    assert selector_peer.namespace_selector.match_labels == {"kubernetes.io/metadata.name": "kube-system"}
    assert selector_peer.pod_selector.match_labels == {"app.kubernetes.io/name": "traefik"}


def test_namespace_only_source_selects_every_pod_there():
    (peer,) = TrafficSource(namespace_labels={"team": "web"}).to_peers()
    assert peer.pod_selector is None and peer.namespace_selector.match_labels == {"team": "web"}


def test_an_empty_source_allows_nothing():
    assert TrafficSource().to_peers() == []


def test_toleration_defaults():
    args = Toleration("nvidia.com/gpu").to_args()
    assert (args.key, args.operator, args.effect) == ("nvidia.com/gpu", "Exists", "NoSchedule")


def test_the_api_server_calls_pods_from_its_own_addresses_and_its_callers_once_each():
    from components.contracts.cluster import ApiServerEndpoint

    k3s = ApiServerEndpoint(cidrs=("192.168.0.41/32",), port=6443, caller_cidrs=("10.42.0.0/16", "192.168.0.41/32"))
    assert k3s.callers().cidrs == ("192.168.0.41/32", "10.42.0.0/16")
    gke = ApiServerEndpoint(cidrs=("172.16.0.0/28",), port=443)
    assert gke.callers().cidrs == ("172.16.0.0/28",)


def test_the_api_servers_proxy_pods_are_among_its_callers():
    agents = TrafficSource(namespace_labels={"kubernetes.io/metadata.name": "kube-system"},
                           pod_labels={"k8s-app": "konnectivity-agent"})
    gke = ApiServerEndpoint(cidrs=("172.16.0.0/28",), port=443, proxy=agents)
    callers = gke.callers()
    assert callers.cidrs == ("172.16.0.0/28",)
    assert (callers.namespace_labels, callers.pod_labels) == (agents.namespace_labels, agents.pod_labels)
    assert len(callers.to_peers()) == 2, "the control-plane range and the agent pods"
    assert ApiServerEndpoint(cidrs=("192.168.0.41/32",), port=6443).callers().pod_labels is None


def test_every_source_names_no_peers_and_takes_no_others():
    with pytest.raises(ValueError, match="rule without `from`"):
        TrafficSource(any_source=True).to_peers()
    with pytest.raises(ValueError, match="names no peers"):
        TrafficSource(cidrs=("130.211.0.0/22",), any_source=True)


def test_services_behind_the_ingress_follow_how_it_reaches_pods():
    endpoints = IngressFacts(class_name="traefik", class_as_annotation=False, source=TrafficSource(pod_labels={"a": "b"}))
    assert endpoints.exposure() == ServiceExposure("ClusterIP", None, {})
    assert endpoints.backend_source() is endpoints.source
    nodes = dataclasses.replace(endpoints, backends=IngressBackends.NODE_PORTS, service_annotations={"x": "y"})
    assert nodes.exposure() == ServiceExposure("NodePort", "Cluster", {"x": "y"})
    assert nodes.backend_source() == TrafficSource(any_source=True)
    assert nodes.source == endpoints.source, "a delivered application's own Services are still reached directly"


def test_a_backend_health_check_reaches_every_routed_service_and_says_how_long_a_dead_backend_keeps_traffic():
    check = BackendHealthCheck(check_interval_seconds=10, timeout_seconds=5, healthy_threshold=2, unhealthy_threshold=3)
    endpoints = IngressFacts(class_name="traefik", class_as_annotation=False, source=TrafficSource())
    assert endpoints.exposure().health_check is None, "none unless the cluster says so"
    nodes = dataclasses.replace(endpoints, backends=IngressBackends.NODE_PORTS, backend_health_check=check)
    assert nodes.exposure().health_check is check
    assert check.detection_seconds == 3 * 10 + 5
    # ingress-gce's instance-group default with kiban's probe (period 10 s, timeout 5 s): about 12 minutes.
    assert BackendHealthCheck(70, 5, 1, 10).detection_seconds == 705


@pytest.mark.parametrize(
    "fields, message",
    [((5, 10, 1, 2), "timeout must not exceed"), ((10, 5, 0, 2), "at least 1"), ((0, 0, 1, 1), "at least 1")],
)
def test_a_health_check_compute_engine_would_refuse_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        BackendHealthCheck(*fields)
