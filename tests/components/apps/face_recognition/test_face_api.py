"""FaceApi: seed 004's environment, secrets only by reference, MODEL_DEVICE follows the GPU."""

from __future__ import annotations

import pulumi
from pulumi.runtime import rpc

from components.contracts.endpoint import DatabaseEndpoint
from components.apps.face_recognition.face_api import FaceApi, FaceApiArgs
from components.kube.pod_spec import GpuRequest
from stack_config.face_recognition import BackendSettings


def endpoints() -> tuple[DatabaseEndpoint, DatabaseEndpoint]:
    return (
        DatabaseEndpoint("postgres.postgresql.svc.cluster.local", 5432, "faceapi", "faceuser", pulumi.Output.secret("pg-pw")),
        DatabaseEndpoint("milvus.milvus.svc.cluster.local", 19530, "default", "root", pulumi.Output.secret("milvus-pw")),
    )


def declare_face_api(declare, gpu=None, **settings):
    def build(opts):
        postgres, milvus = endpoints()
        FaceApi(
            "face-api",
            FaceApiArgs(
                namespace="face-recognition",
                part_of="face-recognition",
                image="registry.example/face-api:1.0.0",
                settings=BackendSettings(**settings),
                postgres=postgres,
                milvus=milvus,
                environment_name="dev",
                gpu=gpu,
            ),
            opts,
        )

    return declare(build)


def container_env(deployment):
    container = deployment.object("Deployment", "face-api")["spec"]["template"]["spec"]["containers"][0]
    return container, {e["name"]: e for e in container["env"]}


def test_environment_of_seed_004(declare):
    deployment = declare_face_api(declare)
    container, env = container_env(deployment)
    plain = {k: v["value"] for k, v in env.items() if "value" in v}
    postgres, milvus = endpoints()
    settings = BackendSettings()
    # The client settings are the stores' endpoints, and the app's settings are the config's: relations, not copies.
    assert (plain["SQL_HOST"], plain["SQL_PORT"]) == (postgres.host, str(postgres.port))
    assert (plain["SQL_USERNAME"], plain["SQL_DATABASE"]) == (postgres.username, postgres.database)
    assert (plain["MILVUS_DB_HOST"], plain["MILVUS_DB_PORT"]) == (milvus.host, str(milvus.port))
    assert (plain["MILVUS_DB_USER"], plain["MILVUS_DB_DB_NAME"]) == (milvus.username, milvus.database)
    assert (plain["MODEL_PATH"], plain["MODEL_LOADER"]) == (settings.model_path, settings.model_loader)
    assert float(plain["MODEL_THRESHOLD"]) == settings.model_threshold
    assert int(plain["MODEL_EMB_DIM"]) == settings.model_embedding_dim
    assert plain["MODEL_DEVICE"] == "cpu"
    assert plain["SQL_BACKEND"] == "asyncpg", "the app's async PostgreSQL driver"
    assert plain["PROJECT_NAME"].endswith("(dev)"), "the environment shows in the app's name"
    assert container["ports"] == [{"name": "http", "containerPort": 8000}]
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}


def test_secrets_come_from_the_secret_only(declare):
    deployment = declare_face_api(declare)
    _, env = container_env(deployment)
    for key in ("SQL_PASSWORD", "MILVUS_DB_PASSWORD", "JWT_SECRET_KEY"):
        assert "value" not in env[key]
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "face-api", "key": key}
    secret = deployment.object("Secret", "face-api")
    values = rpc.unwrap_rpc_secret(secret["stringData"])
    assert rpc.is_rpc_secret(secret["stringData"])
    assert values["SQL_PASSWORD"] == "pg-pw" and values["MILVUS_DB_PASSWORD"] == "milvus-pw"
    assert values["JWT_SECRET_KEY"] == "mock-password-face-api-jwt-secret-key"
    (jwt,) = deployment.of_type("random:index/randomPassword:RandomPassword")
    assert jwt.inputs["length"] == 64
    literals = [e.get("value", "") for e in env.values()]
    assert not any(secret_value in literals for secret_value in values.values())


def test_gpu_build(declare, k3s_gpu_facts):
    deployment = declare_face_api(declare, gpu=GpuRequest(1, k3s_gpu_facts.gpu))
    container, env = container_env(deployment)
    assert env["MODEL_DEVICE"]["value"] == "cuda:0"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_replicas_and_autoscaling_from_settings(declare):
    deployment = declare_face_api(declare, replicas=2, autoscaling={"maxReplicas": 4, "cpuUtilization": 70})
    assert deployment.object("HorizontalPodAutoscaler", "face-api")["spec"]["maxReplicas"] == 4
    assert deployment.object("PodDisruptionBudget", "face-api")["spec"]["maxUnavailable"] == 1
