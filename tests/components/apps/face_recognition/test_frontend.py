"""Frontend: a hardened static site with nginx's writable paths and no secrets."""

from __future__ import annotations

from components.apps.face_recognition.frontend import Frontend, FrontendArgs
from components.apps.face_recognition.settings import FrontendSettings
from components.contracts.cluster import ServiceExposure


def test_frontend(declare):
    deployment = declare(
        lambda opts: Frontend(
            "frontend",
            FrontendArgs(
                namespace="face-recognition",
                part_of="face-recognition",
                image="registry.example/face-frontend:1.0.0",
                settings=FrontendSettings(replicas=2),
                exposure=ServiceExposure("NodePort", "Cluster", {"cloud.google.com/neg": '{"ingress": false}'}),
            ),
            opts,
        )
    )
    pod = deployment.object("Deployment", "frontend")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "registry.example/face-frontend:1.0.0"
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp", "/var/cache/nginx"}
    assert "env" not in container
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}, "images/face-frontend answers it"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    service = deployment.object("Service", "frontend")
    assert service["metadata"]["annotations"] == {"cloud.google.com/neg": '{"ingress": false}'}
    assert (service["spec"]["type"], service["spec"]["externalTrafficPolicy"]) == ("NodePort", "Cluster")
    assert service["spec"]["ports"][0]["port"] == 8080
    assert deployment.object("PodDisruptionBudget", "frontend")
    assert not deployment.objects("Secret")
