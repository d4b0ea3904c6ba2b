"""`backend_config`: GKE's `BackendConfig` (cloud.google.com/v1) beside a Service an Ingress routes to, setting the
load balancer's health check of its backends, and the annotation that points the Service at it.

Checked against kubernetes/ingress-gce at acbcf5d: the fields are `BackendConfigSpec.HealthCheck`
(`HealthCheckConfig`: checkIntervalSec, timeoutSec, healthyThreshold, unhealthyThreshold, type, requestPath,
port; pkg/apis/backendconfig/v1/types.go); a Service names its BackendConfig (same namespace) in
`cloud.google.com/backend-config` as `{"default": "<name>"}` for all its ports (pkg/annotations/service.go,
`BackendConfigs`; pkg/backendconfig/backendconfig.go, `GetBackendConfigForServicePort`).
"""

from __future__ import annotations

import json
from typing import Mapping

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import BackendHealthCheck
from components.kube.health_checks import Check, HttpCheck

BACKEND_CONFIG_ANNOTATION = "cloud.google.com/backend-config"


def backend_config_annotation(name: str) -> dict[str, str]:
    """The Service annotation that applies BackendConfig `name` to every port of the Service."""
    return {BACKEND_CONFIG_ANNOTATION: json.dumps({"default": name})}


def backend_config(
    resource_name: str,
    name: str,
    *,
    namespace: str,
    labels: Mapping[str, str],
    health_check: BackendHealthCheck,
    readiness: Check,
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResource:
    """BackendConfig `name`: the load balancer checks each backend with an HTTP GET of the readiness probe's path,
    on the port it reaches the Service on (no `port`: see `gke_facts.GKE_NODE_PORT_HEALTH_CHECK`)."""
    if not isinstance(readiness, HttpCheck):
        raise ValueError(
            f"{name}: the load balancer's health check asks the readiness probe's HTTP path, so a Service an "
            f"Ingress routes to needs an HTTP readiness check (HttpCheck), not {type(readiness).__name__}"
        )
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version="cloud.google.com/v1",
        kind="BackendConfig",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=dict(labels)),
        spec={
            "healthCheck": {
                "type": "HTTP",
                "requestPath": readiness.path,
                "checkIntervalSec": health_check.check_interval_seconds,
                "timeoutSec": health_check.timeout_seconds,
                "healthyThreshold": health_check.healthy_threshold,
                "unhealthyThreshold": health_check.unhealthy_threshold,
            }
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )
