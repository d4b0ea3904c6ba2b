"""Blue/green building blocks: the preview check is a hardened Job per call that the CRD schema accepts, and the
strategy promotes as the delivery contract says."""

from __future__ import annotations

import pytest

from components.contracts.delivery import BlueGreenDelivery, PreviewCheck
from components.kube.blue_green import blue_green_strategy, preview_check_labels, preview_check_template
from tools.crd_schema import schema_errors
from policy.pod_security import check as pod_security
from tools.manifests import restore_integers


def delivery(auto_promote: bool, crds=()) -> BlueGreenDelivery:
    return BlueGreenDelivery(
        auto_promote=auto_promote,
        scale_down_delay_seconds=600,
        check=PreviewCheck(count=3, interval_seconds=10, failure_limit=1, timeout_seconds=5),
        check_image="docker.io/library/busybox:1.37.0",
        controller_namespace="argo-rollouts",
        controller_labels={"app.kubernetes.io/name": "argo-rollouts"},
        crds=crds,
    )


URL = "http://web-preview.apps.svc.cluster.local:8080/health"


@pytest.fixture
def template_deployment(declare):
    def build(opts):
        preview_check_template(
            "web", namespace="apps", part_of="shop", url=URL, delivery=delivery(True), labels={"a": "b"}, opts=opts
        )

    return declare(build)


def test_the_check_template_passes_its_crd_schema(template_deployment):
    template = restore_integers(template_deployment.object("AnalysisTemplate", "web-preview-check"))
    assert schema_errors(template) == []


def test_each_call_is_a_job_whose_pod_is_restricted_and_fails_on_a_bad_answer(template_deployment):
    (metric,) = template_deployment.object("AnalysisTemplate", "web-preview-check")["spec"]["metrics"]
    assert (metric["count"], metric["interval"], metric["failureLimit"]) == (3, "10s", 1)
    job = restore_integers(metric["provider"]["job"])
    assert job["spec"]["backoffLimit"] == 0, "a failed call is a failed measurement, not a retry"
    pod = {"kind": "Job", "apiVersion": "batch/v1", "metadata": {"name": "x"}, "spec": job["spec"]}
    assert pod_security(pod, "restricted", version="1.35") == []
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][:2] == ["wget", "-q"] and container["command"][-1] == URL
    assert job["spec"]["template"]["metadata"]["labels"] == preview_check_labels("web", "shop")


def test_the_check_waits_for_the_crds(declare):
    def build(opts):
        import pulumi_kubernetes as k8s

        crd_release = k8s.core.v1.ConfigMap("stand-in-for-the-release", opts=opts)
        preview_check_template(
            "web", namespace="apps", part_of="shop", url=URL, delivery=delivery(True, (crd_release,)), labels={},
            opts=opts,
        )

    deployment = declare(build)
    registration = deployment.registration("AnalysisTemplate", "web-preview-check")
    assert any(d.endswith("::stand-in-for-the-release") for d in registration.dependencies)


@pytest.mark.parametrize("auto_promote", [True, False])
def test_strategy_promotes_as_the_contract_says_and_always_checks_first(auto_promote):
    strategy = blue_green_strategy(
        active_service="web", preview_service="web-preview", check_template="web-preview-check",
        delivery=delivery(auto_promote),
    )["blueGreen"]
    assert strategy["autoPromotionEnabled"] is auto_promote
    assert strategy["scaleDownDelaySeconds"] == 600
    # A switch inside the delay scales the oldest version down at once: never a third colour holding GPUs.
    assert strategy["scaleDownDelayRevisionLimit"] == 1
    assert strategy["prePromotionAnalysis"] == {"templates": [{"templateName": "web-preview-check"}]}
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
            "strategy": {"blueGreen": strategy},
        },
    }
    assert schema_errors(rollout) == []
