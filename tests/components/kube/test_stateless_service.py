"""StatelessService: secure defaults without asking, GPU placement, HPA and PDB, blue/green Rollouts."""

from __future__ import annotations

import pytest

from components.kube.health_checks import HealthChecks, HttpCheck, TcpCheck
from components.kube.pod_spec import ContainerSpec, GpuRequest, WritablePath
from components.kube.service_base import ServicePort
from components.kube.stateless_service import StatelessService, StatelessServiceArgs
from components.contracts.workloads import Autoscaling, compute

RESOURCES = compute("100m", "128Mi", "500m", "256Mi")


def web_args(**overrides) -> StatelessServiceArgs:
    fields = dict(
        namespace="apps",
        part_of="test",
        component="api",
        container=ContainerSpec(name="web", image="registry.example/web:1.2.3", resources=RESOURCES),
        ports=[ServicePort("http", 8000)],
        health=HealthChecks(readiness=HttpCheck("/health", "http"), liveness=HttpCheck("/health", "http")),
    )
    fields.update(overrides)
    return StatelessServiceArgs(**fields)

def test_defaults_are_hardened(declare):
    deployment = declare(lambda opts: StatelessService("web", web_args(), opts))
    workload = deployment.object("Deployment", "web")
    pod = workload["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["readOnlyRootFilesystem"] is True
    assert security["runAsNonRoot"] is True and security["runAsUser"] >= 10000
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp"}
    tmp_volume = next(v for v in pod["volumes"] if v["name"] == container["volumeMounts"][0]["name"])
    assert "emptyDir" in tmp_volume
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert "startupProbe" not in container
    assert workload["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    assert workload["spec"]["replicas"] == 1
    account = deployment.object("ServiceAccount", "web")
    assert account["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "web"
    service = deployment.object("Service", "web")
    assert service["spec"]["selector"] == workload["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]
    assert not deployment.objects("HorizontalPodAutoscaler")
    assert not deployment.objects("PodDisruptionBudget")
    assert "nodeSelector" not in pod and "runtimeClassName" not in pod and "tolerations" not in pod

def test_tag_pinned_image_names_its_digest_exemption(declare):
    deployment = declare(lambda opts: StatelessService("web", web_args(), opts))
    annotations = deployment.object("Deployment", "web")["metadata"]["annotations"]
    assert annotations["checkov.io/skip1"].startswith("CKV_K8S_43=")

    digest = "registry.example/web@sha256:" + "a" * 64
    pinned = web_args(container=ContainerSpec(name="web", image=digest, resources=RESOURCES))
    deployment = declare(lambda opts: StatelessService("web", pinned, opts))
    workload = deployment.object("Deployment", "web")
    assert "annotations" not in workload["metadata"]
    assert workload["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"

def test_startup_probe_budget(declare):
    health = HealthChecks(
        readiness=HttpCheck("/health", "http"),
        liveness=HttpCheck("/health", "http"),
        startup=HttpCheck("/health", "http"),
        period_seconds=10,
        startup_budget_seconds=600,
    )
    deployment = declare(lambda opts: StatelessService("web", web_args(health=health), opts))
    container = deployment.object("Deployment", "web")["spec"]["template"]["spec"]["containers"][0]
    assert container["startupProbe"]["failureThreshold"] == 60
    assert container["startupProbe"]["periodSeconds"] == 10

def test_gpu_request_places_pod_the_way_the_cluster_says(declare, k3s_gpu_facts, gke_gpu_facts):
    for facts, runtime_class, selector in (
        (k3s_gpu_facts, "nvidia", {"nvidia.com/gpu.present": "true"}),
        (gke_gpu_facts, None, {"cloud.google.com/gke-accelerator": "nvidia-l4"}),
    ):
        args = web_args(gpu=GpuRequest(count=1, scheduling=facts.gpu))
        deployment = declare(lambda opts, args=args: StatelessService("web", args, opts))
        pod = deployment.object("Deployment", "web")["spec"]["template"]["spec"]
        assert pod.get("runtimeClassName") == runtime_class
        assert pod["nodeSelector"] == selector
        assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
        assert "nvidia.com/gpu" not in pod["containers"][0]["resources"]["requests"]

def test_autoscaling_and_disruption_budget(declare):
    args = web_args(replicas=2, autoscaling=Autoscaling(max_replicas=5))
    deployment = declare(lambda opts: StatelessService("web", args, opts))
    workload = deployment.object("Deployment", "web")
    assert "replicas" not in workload["spec"], "the autoscaler owns the replica count"
    hpa = deployment.object("HorizontalPodAutoscaler", "web")["spec"]
    assert hpa["minReplicas"] == 2 and hpa["maxReplicas"] == 5
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert hpa["metrics"][0]["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}
    pdb = deployment.object("PodDisruptionBudget", "web")["spec"]
    assert pdb["maxUnavailable"] == 1
    assert pdb["selector"]["matchLabels"] == workload["spec"]["selector"]["matchLabels"]
    spread = workload["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert spread[0]["topologyKey"] == "kubernetes.io/hostname"

def test_writable_paths_are_configurable(declare):
    container = ContainerSpec(
        name="web",
        image="r/web:1",
        resources=RESOURCES,
        writable_paths=(WritablePath("/tmp"), WritablePath("/var/cache/nginx", size_limit="64Mi")),
    )
    deployment = declare(lambda opts: StatelessService("web", web_args(container=container), opts))
    pod = deployment.object("Deployment", "web")["spec"]["template"]["spec"]
    paths = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    assert set(paths) == {"/tmp", "/var/cache/nginx"}
    cache = next(v for v in pod["volumes"] if v["name"] == paths["/var/cache/nginx"])
    assert cache["emptyDir"] == {"sizeLimit": "64Mi"}

def test_every_kubernetes_object_uses_the_given_provider(declare):
    deployment = declare(lambda opts: StatelessService("web", web_args(replicas=2), opts))
    assert deployment.kubernetes_objects()
    assert all(r.provider.split("::")[-1].startswith("test-cluster") for r in deployment.kubernetes_objects())

def test_latest_tag_names_its_exemption_too(declare):
    latest = web_args(container=ContainerSpec(name="web", image="registry.example/web:latest", resources=RESOURCES))
    deployment = declare(lambda opts: StatelessService("web", latest, opts))
    annotations = deployment.object("Deployment", "web")["metadata"]["annotations"]
    assert annotations["checkov.io/skip1"].startswith("CKV_K8S_14=a development stack follows the mutable latest tag")
    assert annotations["checkov.io/skip2"].startswith("CKV_K8S_43=")
    pod = deployment.object("Deployment", "web")["spec"]["template"]["spec"]
    assert pod["containers"][0]["imagePullPolicy"] == "Always"

def _delivery(auto_promote: bool = False):
    from components.contracts.delivery import BlueGreenDelivery, PreviewCheck

    return BlueGreenDelivery(
        auto_promote=auto_promote,
        scale_down_delay_seconds=900,
        check=PreviewCheck(count=3, interval_seconds=10, failure_limit=0, timeout_seconds=5),
        check_image="docker.io/library/busybox:1.37.0",
        controller_namespace="argo-rollouts",
        controller_labels={"app.kubernetes.io/name": "argo-rollouts"},
        crds=(),
    )

def test_blue_green_delivery_makes_a_rollout_with_a_preview_and_a_check(declare):
    from tools.crd_schema import schema_errors
    from policy.pod_security import check as pod_security
    from tools.manifests import restore_integers

    args = web_args(replicas=2, autoscaling=Autoscaling(max_replicas=4), delivery=_delivery())
    deployment = declare(lambda opts: StatelessService("web", args, opts))
    assert not deployment.objects("Deployment"), "the Rollout replaces the Deployment"
    rollout = restore_integers(deployment.object("Rollout", "web"))
    assert schema_errors(rollout) == []
    strategy = rollout["spec"]["strategy"]["blueGreen"]
    assert (strategy["activeService"], strategy["previewService"]) == ("web", "web-preview")
    assert strategy["autoPromotionEnabled"] is False and strategy["scaleDownDelaySeconds"] == 900
    assert strategy["prePromotionAnalysis"]["templates"] == [{"templateName": "web-preview-check"}]
    assert "replicas" not in rollout["spec"] or rollout["spec"]["replicas"] is None, "the autoscaler owns replicas"
    as_pod = {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": rollout["metadata"], "spec": rollout["spec"]}
    assert pod_security(as_pod, "restricted", version="1.35") == [], "same hardening as the Deployment it replaces"

    active, preview = deployment.object("Service", "web"), deployment.object("Service", "web-preview")
    assert active["spec"]["selector"] == preview["spec"]["selector"] == rollout["spec"]["selector"]["matchLabels"]
    assert active["spec"]["ports"] == preview["spec"]["ports"]

    (metric,) = deployment.object("AnalysisTemplate", "web-preview-check")["spec"]["metrics"]
    (wget,) = metric["provider"]["job"]["spec"]["template"]["spec"]["containers"]
    assert wget["command"][-1] == "http://web-preview.apps.svc.cluster.local:8000/health"

    autoscaler = deployment.object("HorizontalPodAutoscaler", "web")["spec"]["scaleTargetRef"]
    assert autoscaler == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "web"}
    budget = deployment.object("PodDisruptionBudget", "web")["spec"]["selector"]["matchLabels"]
    assert budget == rollout["spec"]["selector"]["matchLabels"]

    inbound = deployment.object("NetworkPolicy", "allow-web-preview-check-in")["spec"]
    assert inbound["podSelector"]["matchLabels"] == rollout["spec"]["selector"]["matchLabels"]
    assert inbound["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8000.0}]
    check_pods = metric["provider"]["job"]["spec"]["template"]["metadata"]["labels"]
    assert inbound["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == check_pods

def test_blue_green_needs_an_http_readiness_check(declare):
    args = web_args(
        health=HealthChecks(readiness=TcpCheck("http"), liveness=TcpCheck("http")), delivery=_delivery()
    )
    with pytest.raises(ValueError, match="HTTP readiness check"):
        declare(lambda opts: StatelessService("web", args, opts))


def test_the_active_service_is_exposed_the_way_the_ingress_reaches_pods_and_the_preview_stays_in_cluster(declare):
    """Through node ports (GKE's instance groups) the active Service is a NodePort any node forwards to a ready pod;
    the preview, which no Ingress routes to, stays a ClusterIP; a headless Service cannot have a node port."""
    from components.contracts.cluster import ServiceExposure
    from components.kube.service_base import cluster_service

    exposure = ServiceExposure("NodePort", "Cluster", {"cloud.google.com/neg": '{"ingress": false}'})
    deployment = declare(lambda opts: StatelessService("web", web_args(delivery=_delivery(), exposure=exposure), opts))
    active, preview = deployment.object("Service", "web"), deployment.object("Service", "web-preview")
    assert (active["spec"]["type"], active["spec"]["externalTrafficPolicy"]) == ("NodePort", "Cluster")
    assert active["metadata"]["annotations"] == {"cloud.google.com/neg": '{"ingress": false}'}
    assert preview["spec"]["type"] == "ClusterIP" and "externalTrafficPolicy" not in preview["spec"]
    assert "annotations" not in preview["metadata"]
    with pytest.raises(ValueError, match="headless"):
        declare(lambda opts: cluster_service("x", "x", web_args(), labels={}, selector={}, parent=None, headless=True, exposure=exposure))

