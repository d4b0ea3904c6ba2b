"""backend_config: a Service an Ingress routes to through node ports (GKE's instance groups) gets a BackendConfig
that sets the load balancer's health check (the readiness probe's path, no port), names it in the annotation
ingress-gce reads, and declares it before the Service; its object passes the CRD schema written from ingress-gce's
types, which rejects a misspelled field as the API server would prune it."""

from __future__ import annotations

import json

import pytest

from components.contracts.cluster import BackendHealthCheck, ServiceExposure
from components.contracts.delivery import BlueGreenDelivery, PreviewCheck
from components.kube.health_checks import HealthChecks, HttpCheck, TcpCheck
from components.kube.pod_spec import ContainerSpec
from components.kube.service_base import ServicePort
from components.kube.stateless_service import StatelessService, StatelessServiceArgs
from components.contracts.workloads import compute
from tools.crd_schema import schema_errors
from tools.manifests import restore_integers

CHECK = BackendHealthCheck(check_interval_seconds=10, timeout_seconds=5, healthy_threshold=2, unhealthy_threshold=3)
THROUGH_NODES = ServiceExposure("NodePort", "Cluster", {"cloud.google.com/neg": '{"ingress": false}'}, CHECK)
BLUE_GREEN = BlueGreenDelivery(
    auto_promote=False,
    scale_down_delay_seconds=60,
    check=PreviewCheck(count=1, interval_seconds=10, failure_limit=0, timeout_seconds=5),
    check_image="docker.io/library/busybox:1.37.0",
    controller_namespace="argo-rollouts",
    controller_labels={"app.kubernetes.io/name": "argo-rollouts"},
    crds=(),
)
"""A blue/green Rollout, so there is a preview Service beside the active one."""


READY = HttpCheck("/ready", "http")


def args(readiness=READY, exposure=THROUGH_NODES) -> StatelessServiceArgs:
    return StatelessServiceArgs(
        namespace="apps",
        part_of="shop",
        component="api",
        container=ContainerSpec(name="web", image="registry.example/web:1.2.3", resources=compute("100m", "128Mi", "500m", "256Mi")),
        ports=[ServicePort("http", 8000)],
        health=HealthChecks(readiness=readiness, liveness=HttpCheck("/live", "http")),
        exposure=exposure,
        delivery=BLUE_GREEN,
    )


@pytest.fixture(scope="module")
def deployment():
    from tools.mock_engine import run_under_mocks
    import pulumi
    import pulumi_kubernetes as k8s

    def program():
        StatelessService("web", args(), pulumi.ResourceOptions(providers=[k8s.Provider("test-cluster", context="test")]))

    return run_under_mocks(program)


def test_the_service_names_a_backend_config_that_checks_the_readiness_path_on_the_serving_port(deployment):
    service = deployment.object("Service", "web")
    # ingress-gce, pkg/annotations/service.go: GetBackendConfigs unmarshals {"default": ..., "ports": {...}}.
    assert json.loads(service["metadata"]["annotations"]["cloud.google.com/backend-config"]) == {"default": "web"}
    assert service["metadata"]["annotations"]["cloud.google.com/neg"] == '{"ingress": false}', "kept beside it"
    config = restore_integers(deployment.object("BackendConfig", "web"))
    assert config["apiVersion"] == "cloud.google.com/v1" and config["metadata"]["namespace"] == "apps"
    assert config["spec"] == {
        "healthCheck": {
            "type": "HTTP",
            "requestPath": "/ready",
            "checkIntervalSec": 10,
            "timeoutSec": 5,
            "healthyThreshold": 2,
            "unhealthyThreshold": 3,
        }
    }, "no port: a BackendConfig port would be USE_FIXED_PORT on every node instead of the Service's node port"
    assert schema_errors(config) == []


def test_the_backend_config_exists_before_the_service_that_names_it(deployment):
    (config,) = [r for r in deployment.registrations if r.type == "kubernetes:cloud.google.com/v1:BackendConfig"]
    (service,) = [r for r in deployment.registrations if r.type == "kubernetes:core/v1:Service" and r.name == "web-service"]
    assert config.urn in service.dependencies


def test_the_preview_service_no_ingress_routes_to_has_none(deployment):
    assert "annotations" not in deployment.object("Service", "web-preview")["metadata"]
    assert [o["metadata"]["name"] for o in deployment.objects("BackendConfig")] == ["web"]


def test_without_a_health_check_nothing_changes(declare):
    plain = ServiceExposure("NodePort", "Cluster", {"cloud.google.com/neg": '{"ingress": false}'})
    rendered = declare(lambda opts: StatelessService("web", args(exposure=plain), opts))
    assert rendered.objects("BackendConfig") == []
    assert rendered.object("Service", "web")["metadata"]["annotations"] == {"cloud.google.com/neg": '{"ingress": false}'}


def test_a_readiness_check_the_load_balancer_cannot_ask_is_refused_naming_the_service(declare):
    with pytest.raises(ValueError, match=r"web: .*HTTP readiness check.*TcpCheck"):
        declare(lambda opts: StatelessService("web", args(readiness=TcpCheck("http")), opts))


def test_the_schema_rejects_a_misspelled_health_check_field(deployment):
    config = restore_integers(deployment.object("BackendConfig", "web"))
    config["spec"]["healthCheck"]["checkInterval"] = config["spec"]["healthCheck"].pop("checkIntervalSec")
    assert any("checkInterval" in error for error in schema_errors(config))
