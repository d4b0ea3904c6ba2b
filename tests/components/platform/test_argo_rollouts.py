"""ArgoRollouts: the pinned chart in a restricted, default-deny namespace; its values exist in the chart and what it
renders passes Pod Security `restricted`; the delivery contract carries the promotion policy and the CRD release."""

from __future__ import annotations

import pytest

from components.platform.argo_rollouts import CONTROLLER_LABELS, NAMESPACE, ArgoRollouts, ArgoRolloutsArgs, chart_values
from components.platform.rollouts_settings import RolloutsConfig
from tools.helm import template, unknown_value_keys
from policy.pod_security import check, is_pod_bearing
from versions import versions

CHART = versions().charts.argo_rollouts
BUSYBOX = versions().images.busybox
PROD_LIKE = RolloutsConfig(controller_replicas=2, auto_promote=False, scale_down_delay_seconds=900)


def rendered(config: RolloutsConfig) -> list[dict]:
    return template(
        CHART.archive, release="argo-rollouts", namespace=NAMESPACE, values=chart_values(config), kube_version="1.35"
    )


def test_release_is_the_pinned_chart_in_its_own_restricted_namespace(declare, k3s_cpu_facts):
    components = []
    deployment = declare(
        lambda opts: components.append(
            ArgoRollouts("argo-rollouts", ArgoRolloutsArgs(config=PROD_LIKE, cluster=k3s_cpu_facts, chart=CHART, check_image=BUSYBOX), opts)
        )
    )
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert (release.inputs["chart"], release.inputs["version"]) == (CHART.chart, CHART.version)
    assert release.inputs["repositoryOpts"] == {"repo": CHART.repository}
    assert release.inputs["namespace"] == NAMESPACE
    assert release.inputs["timeout"] >= 600
    assert release.inputs["values"]["controller"]["replicas"] == 2
    namespace = deployment.object("Namespace", NAMESPACE)["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {o["metadata"]["name"] for o in deployment.objects("NetworkPolicy")} >= {"default-deny", "allow-dns"}
    (namespace_urn,) = [r.urn for r in deployment.kubernetes_objects() if r.inputs["kind"] == "Namespace"]
    assert any(namespace_urn.split("::")[-1] in d for d in release.dependencies) or release.dependencies

    egress = deployment.object("NetworkPolicy", "allow-argo-rollouts-controller-to-api-server")["spec"]
    assert egress["podSelector"]["matchLabels"] == CONTROLLER_LABELS
    assert egress["egress"][0]["to"] == [{"ipBlock": {"cidr": "192.168.0.41/32"}}]

    (rollouts,) = components
    delivery = rollouts.delivery
    assert (delivery.auto_promote, delivery.scale_down_delay_seconds) == (False, 900)
    assert delivery.controller_namespace == NAMESPACE and delivery.controller_labels == CONTROLLER_LABELS
    assert len(delivery.crds) == 1 and delivery.check_image == BUSYBOX


@pytest.mark.parametrize("config", [RolloutsConfig(), PROD_LIKE], ids=["dev", "prod"])
def test_values_are_all_keys_of_the_pinned_chart(config):
    assert unknown_value_keys(CHART.archive, chart_values(config)) == []


@pytest.mark.parametrize("config", [RolloutsConfig(), PROD_LIKE], ids=["dev", "prod"])
def test_what_the_chart_renders_passes_pod_security_restricted(config):
    objects = rendered(config)
    pods = [o for o in objects if is_pod_bearing(o)]
    assert [o["kind"] for o in pods] == ["Deployment"], "the dashboard stays off"
    for pod in pods:
        assert check(pod, "restricted", version="1.35") == [], pod["metadata"]["name"]
    (controller,) = pods
    assert controller["spec"]["replicas"] == config.controller_replicas
    labels = controller["spec"]["template"]["metadata"]["labels"]
    assert CONTROLLER_LABELS.items() <= labels.items(), "the contract's labels select the controller's pods"
    budgets = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    assert len(budgets) == (1 if config.controller_replicas > 1 else 0)


def test_crds_are_installed_and_kept():
    crds = {o["spec"]["names"]["kind"] for o in rendered(RolloutsConfig()) if o["kind"] == "CustomResourceDefinition"}
    assert {"Rollout", "AnalysisTemplate", "AnalysisRun"} <= crds
    assert chart_values(RolloutsConfig())["keepCRDs"] is True


def test_no_traffic_router_rbac_is_granted():
    (role,) = [o for o in rendered(RolloutsConfig()) if o["kind"] == "ClusterRole" and o["metadata"]["name"] == "argo-rollouts"]
    groups = {g for rule in role["rules"] for g in rule.get("apiGroups", [])}
    assert not groups & {"networking.istio.io", "split.smi-spec.io", "getambassador.io", "traefik.io"}
