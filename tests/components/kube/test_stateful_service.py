"""StatefulService: a StatefulSet that keeps its claims, a headless Service, no autoscaler."""

from __future__ import annotations

import pytest

from components.kube.health_checks import HealthChecks, TcpCheck
from components.kube.pod_spec import ContainerSpec
from components.kube.service_base import ServicePort
from components.kube.stateful_service import DataVolume, StatefulService, StatefulServiceArgs
from components.contracts.workloads import compute

RESOURCES = compute("100m", "128Mi", "500m", "256Mi")


def db_args(**overrides) -> StatefulServiceArgs:
    fields = dict(
        namespace="data",
        part_of="test",
        component="database",
        container=ContainerSpec(name="db", image="registry.example/db:1.2.3", resources=RESOURCES),
        ports=[ServicePort("db", 5432)],
        health=HealthChecks(readiness=TcpCheck("db"), liveness=TcpCheck("db")),
        data_volumes=[DataVolume("data", "/var/lib/data", "10Gi", "kiban-retain")],
    )
    fields.update(overrides)
    return StatefulServiceArgs(**fields)


def test_data_volumes_make_a_statefulset_that_keeps_its_claims(declare):
    deployment = declare(lambda opts: StatefulService("db", db_args(protect=True), opts))
    workload = deployment.object("StatefulSet", "db")
    assert not deployment.objects("Deployment")
    spec = workload["spec"]
    assert spec["serviceName"] == "db" and spec["replicas"] == 1
    assert deployment.object("Service", "db")["spec"]["clusterIP"] == "None"
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "kiban-retain"
    assert claim["spec"]["resources"]["requests"] == {"storage": "10Gi"}
    mounts = spec["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "data", "mountPath": "/var/lib/data"} in mounts
    assert deployment.registration("StatefulSet", "db").protect is True
    assert deployment.registration("Service", "db").protect is False
    assert not deployment.objects("HorizontalPodAutoscaler"), "a single writer is never autoscaled"


def test_unretained_claims_go_with_the_statefulset_but_never_on_scale_down(declare):
    deployment = declare(lambda opts: StatefulService("db", db_args(retain_volumes=False), opts))
    policy = deployment.object("StatefulSet", "db")["spec"]["persistentVolumeClaimRetentionPolicy"]
    assert policy == {"whenDeleted": "Delete", "whenScaled": "Retain"}


def test_a_stateful_service_without_data_is_refused(declare):
    with pytest.raises(ValueError, match="at least one data volume"):
        declare(lambda opts: StatefulService("db", db_args(data_volumes=[]), opts))


def test_autoscaling_is_not_an_argument_of_a_stateful_service():
    with pytest.raises(TypeError):
        db_args(autoscaling=object())
