"""CloudNativePg: the official chart, pinned, in a default-deny namespace its operator can work from: it calls the
API server, the API server calls its webhooks, and what it hands the stores (its pods' labels, its webhook port) is
what the real chart renders."""

from __future__ import annotations

import pytest

from components.platform.cloudnative_pg import (
    NAMESPACE,
    OPERATOR_LABELS,
    RELEASE,
    WEBHOOK_PORT,
    CloudNativePg,
    CloudNativePgArgs,
    chart_values,
)
from tests.network_reach import Pod, ingress_admits
from tools.helm import template, unknown_value_keys
from versions import versions

CHART = versions().charts.cloudnative_pg


@pytest.fixture
def operator(declare, k3s_cpu_facts):
    captured = {}

    def build(opts):
        captured["made"] = CloudNativePg("cloudnative-pg", CloudNativePgArgs(cluster=k3s_cpu_facts, chart=CHART), opts)

    return declare(build), captured["made"], k3s_cpu_facts


@pytest.fixture(scope="module")
def rendered():
    return template(CHART.archive, release=RELEASE, namespace=NAMESPACE, values=chart_values(), kube_version="1.35.0")


def test_the_release_is_the_pinned_chart_with_known_values(operator):
    deployment, _, _ = operator
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert (release.inputs["chart"], release.inputs["version"]) == (CHART.chart, CHART.version)
    assert release.inputs["repositoryOpts"] == {"repo": CHART.repository}
    assert release.inputs["namespace"] == NAMESPACE and release.inputs["name"] == RELEASE
    assert unknown_value_keys(CHART.archive, chart_values()) == []


def test_the_contract_matches_the_operator_the_chart_renders(operator, rendered):
    _, made, _ = operator
    (manager,) = [o for o in rendered if o["kind"] == "Deployment"]
    pod_labels = manager["spec"]["template"]["metadata"]["labels"]
    assert OPERATOR_LABELS.items() <= pod_labels.items(), "the stores' policies select the operator by these"
    assert made.operator.labels == OPERATOR_LABELS and made.operator.namespace == NAMESPACE
    (container,) = manager["spec"]["template"]["spec"]["containers"]
    assert WEBHOOK_PORT in {p["containerPort"] for p in container["ports"]}
    webhooks = [o for o in rendered if o["kind"] in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")]
    assert webhooks and all(w["clientConfig"]["service"]["namespace"] == NAMESPACE for o in webhooks for w in o["webhooks"])
    crds = {o["spec"]["names"]["kind"] for o in rendered if o["kind"] == "CustomResourceDefinition"}
    assert {"Cluster", "Database"} <= crds, "the chart installs the CRDs the stores declare"


def test_the_operator_reaches_the_api_server_and_the_api_server_its_webhooks(operator):
    deployment, _, facts = operator
    policies = {p["metadata"]["name"]: p["spec"] for p in deployment.objects("NetworkPolicy")}
    api = policies["allow-cloudnative-pg-operator-to-api-server"]
    assert api["podSelector"] == {"matchLabels": OPERATOR_LABELS}
    (egress,) = api["egress"]
    assert [p["port"] for p in egress["ports"]] == [facts.api_server.port]
    webhooks = policies["allow-cloudnative-pg-api-server-to-webhooks-in"]
    assert webhooks["podSelector"] == {"matchLabels": OPERATOR_LABELS}
    (ingress,) = webhooks["ingress"]
    assert [p["port"] for p in ingress["ports"]] == [WEBHOOK_PORT]
    callers = [peer["ipBlock"]["cidr"] for peer in ingress["from"]]
    assert callers == [*facts.api_server.cidrs, "10.42.0.0/16"], (
        "the server's own address, and the pod CIDR its flannel address is in for calls to another node"
    )


def test_on_gke_the_webhooks_admit_the_konnectivity_agents_and_the_control_plane_range(declare, gke_gpu_facts):
    """GKE's control plane calls in-cluster webhooks through its Konnectivity agents (kube-system pods on the pod
    network, tigera/operator#5212), so the call arrives from an agent pod; the control-plane range stays admitted.
    No other kube-system pod is."""
    deployment = declare(lambda opts: CloudNativePg("cloudnative-pg", CloudNativePgArgs(cluster=gke_gpu_facts, chart=CHART), opts))
    policies = deployment.objects("NetworkPolicy")
    by_name = {p["metadata"]["name"]: p["spec"] for p in policies}
    (ingress,) = by_name["allow-cloudnative-pg-api-server-to-webhooks-in"]["ingress"]
    assert [peer["ipBlock"]["cidr"] for peer in ingress["from"] if "ipBlock" in peer] == list(gke_gpu_facts.api_server.cidrs)
    operator = Pod(NAMESPACE, OPERATOR_LABELS)
    agent = Pod("kube-system", {"k8s-app": "konnectivity-agent", "pod-template-hash": "7d9c"})
    assert ingress_admits(policies, agent, operator, WEBHOOK_PORT), "the agents carry the API server's calls"
    assert not ingress_admits(policies, agent, operator, 8080), "on the webhook port only"
    assert not ingress_admits(policies, Pod("kube-system", {"k8s-app": "kube-dns"}), operator, WEBHOOK_PORT)
    assert not ingress_admits(policies, Pod("default", {"k8s-app": "konnectivity-agent"}), operator, WEBHOOK_PORT), (
        "a pod elsewhere wearing the agents' label is not one of them"
    )


def test_on_k3s_no_pod_is_admitted_to_the_webhooks(operator):
    deployment, _, _ = operator
    policies = deployment.objects("NetworkPolicy")
    agent = Pod("kube-system", {"k8s-app": "konnectivity-agent"})
    assert not ingress_admits(policies, agent, Pod(NAMESPACE, OPERATOR_LABELS), WEBHOOK_PORT)


def test_the_release_waits_for_its_namespace_and_policies(operator):
    deployment, made, _ = operator
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    namespace = deployment.registration("Namespace", NAMESPACE)
    assert namespace.urn in release.dependencies
    policies = [r.urn for r in deployment.registrations if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
                and "cloudnative-pg-" in r.name and "namespace" not in r.name]
    assert len(policies) == 2 and set(policies) <= set(release.dependencies), "its pods can talk from their first start"
    assert len(made.operator.crds) == 1, "the stores' custom resources wait for this release"
