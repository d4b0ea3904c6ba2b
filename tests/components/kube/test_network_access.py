"""AllowTraffic: both sides of a connection between kiban pods; one side for outside sources."""

from __future__ import annotations

import pytest

from components.contracts.cluster import TrafficSource
from components.kube.network_access import AllowTraffic, AllowTrafficArgs, PodGroup

API = PodGroup("apps", {"app.kubernetes.io/name": "api"})
DB = PodGroup("data", {"app.kubernetes.io/name": "db"})


def test_pod_to_pod_gets_egress_and_ingress(declare):
    deployment = declare(
        lambda opts: AllowTraffic("api-to-db", AllowTrafficArgs(source=API, destination=DB, ports=[5432], description="sql"), opts)
    )
    inbound = deployment.object("NetworkPolicy", "allow-api-to-db-in")
    outbound = deployment.object("NetworkPolicy", "allow-api-to-db-out")
    assert inbound["metadata"]["namespace"] == "data" and outbound["metadata"]["namespace"] == "apps"
    assert inbound["spec"] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "db"}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "apps"}},
                        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}},
                    }
                ],
                "ports": [{"protocol": "TCP", "port": 5432}],
            }
        ],
    }
    assert outbound["spec"]["policyTypes"] == ["Egress"]
    assert outbound["spec"]["egress"][0]["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "data"}
    assert inbound["metadata"]["annotations"] == {"kiban.dev/allows": "sql"}


def test_outside_source_gets_only_the_receiving_side(declare):
    source = TrafficSource(cidrs=("130.211.0.0/22", "35.191.0.0/16"))
    deployment = declare(
        lambda opts: AllowTraffic("lb-to-api", AllowTrafficArgs(source=source, destination=API, ports=[8000], description="lb"), opts)
    )
    assert [p["metadata"]["name"] for p in deployment.objects("NetworkPolicy")] == ["allow-lb-to-api-in"]
    rule = deployment.object("NetworkPolicy", "allow-lb-to-api-in")["spec"]["ingress"][0]
    assert rule["from"] == [{"ipBlock": {"cidr": "130.211.0.0/22"}}, {"ipBlock": {"cidr": "35.191.0.0/16"}}]


def test_no_ports_is_refused(declare):
    with pytest.raises(ValueError, match="at least one port"):
        declare(lambda opts: AllowTraffic("x", AllowTrafficArgs(source=API, destination=DB, ports=[], description="x"), opts))


def test_a_source_that_selects_nothing_is_refused_not_opened_to_all(declare):
    with pytest.raises(ValueError, match="selects nothing"):
        declare(
            lambda opts: AllowTraffic(
                "x", AllowTrafficArgs(source=TrafficSource(), destination=DB, ports=[80], description="x"), opts
            )
        )


def test_api_server_access_allows_exactly_the_control_plane(declare):
    from components.contracts.cluster import ApiServerEndpoint
    from components.kube.network_access import AllowApiServer, AllowApiServerArgs

    api = ApiServerEndpoint(cidrs=("192.168.0.41/32", "192.168.0.42/32"), port=6443)
    pods = PodGroup(namespace="ops", labels={"app": "controller"})
    deployment = declare(
        lambda opts: AllowApiServer("controller-to-api", AllowApiServerArgs(pods=pods, api_server=api, description="d"), opts)
    )
    spec = deployment.object("NetworkPolicy", "allow-controller-to-api")["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app": "controller"}} and spec["policyTypes"] == ["Egress"]
    (rule,) = spec["egress"]
    assert [peer["ipBlock"]["cidr"] for peer in rule["to"]] == ["192.168.0.41/32", "192.168.0.42/32"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 6443.0}]


def test_api_server_access_refuses_an_empty_destination():
    from components.contracts.cluster import ApiServerEndpoint

    with pytest.raises(ValueError, match="every destination"):
        ApiServerEndpoint(cidrs=(), port=443).egress_rule()


def test_every_source_is_a_rule_without_from_on_the_given_ports_only(declare):
    """What a node forwards from a NodePort arrives from the node's own address, which no peer names on GKE Dataplane
    V2: the one rule that admits it has no `from`, and it stays on the served port."""
    deployment = declare(
        lambda opts: AllowTraffic(
            "lb-to-api", AllowTrafficArgs(source=TrafficSource(any_source=True), destination=API, ports=[8000], description="lb"), opts
        )
    )
    assert [p["metadata"]["name"] for p in deployment.objects("NetworkPolicy")] == ["allow-lb-to-api-in"]
    assert deployment.object("NetworkPolicy", "allow-lb-to-api-in")["spec"]["ingress"] == [
        {"ports": [{"protocol": "TCP", "port": 8000}]}
    ]
