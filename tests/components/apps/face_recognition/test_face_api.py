"""FaceApi: seed 004's environment, secrets only by reference, MODEL_DEVICE follows the GPU."""

from __future__ import annotations

import json

import pulumi
from pulumi.runtime import rpc

from components.contracts.endpoint import DatabaseEndpoint
from components.apps.face_recognition.face_api import FaceApi, FaceApiArgs
from components.kube.pod_spec import GpuRequest
from components.apps.face_recognition.settings import BackendSettings


def endpoints() -> tuple[DatabaseEndpoint, DatabaseEndpoint]:
    return (
        DatabaseEndpoint("postgres.postgresql.svc.cluster.local", 5432, "faceapi", "faceuser", pulumi.Output.secret("pg-pw")),
        DatabaseEndpoint("milvus.milvus.svc.cluster.local", 19530, "default", "root", pulumi.Output.secret("milvus-pw")),
    )


def declare_face_api(declare, gpu=None, wait_image="", **settings):
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
                wait_image=wait_image,
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
    for key in ("SQL_PASSWORD", "MILVUS_DB_PASSWORD", "JWT_SECRET_KEY", "ADMIN_PASSWORD"):
        assert "value" not in env[key]
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "face-api", "key": key}
    secret = deployment.object("Secret", "face-api")
    values = rpc.unwrap_rpc_secret(secret["stringData"])
    assert rpc.is_rpc_secret(secret["stringData"])
    assert values["SQL_PASSWORD"] == "pg-pw" and values["MILVUS_DB_PASSWORD"] == "milvus-pw"
    assert values["ADMIN_PASSWORD"] not in ("", "admin"), "never the app's default administrator password"
    generators = {p.name: p for p in deployment.of_type("random:index/randomPassword:RandomPassword")}
    assert set(generators) == {"face-api-jwt-secret-key", "face-api-admin-password"}
    assert all(p.inputs["length"] == 64 for p in generators.values())
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


def test_the_app_logs_at_warning_and_reads_no_variable_it_ignores(declare):
    container, env = container_env(declare_face_api(declare))
    assert container["command"] == ["faceapi", "--host", "0.0.0.0", "--port", "8000", "--log-level", "warning"]
    assert env["LOGURU_LEVEL"]["value"] == "WARNING", "the app's settings line (secrets included) is an INFO line"
    assert not {"LOG_LEVEL", "BACKEND_HOST", "BACKEND_PORT"} & set(env), "variables the app never reads"
    assert env["ADMIN_USERNAME"]["value"] == "admin" and env["ADMIN_EMAIL"]["value"] == "admin@example.com"


def test_migrations_come_from_the_image_and_run_once_before_the_replicas(declare, k3s_gpu_facts):
    deployment = declare_face_api(declare, replicas=2, gpu=GpuRequest(1, k3s_gpu_facts.gpu))
    container, _ = container_env(deployment)
    (job,) = deployment.objects("Job")
    assert job["metadata"]["name"].startswith("face-api-setup-")
    (setup,) = job["spec"]["template"]["spec"]["containers"]
    # No emptyDir over /faceapi/migrations: it would hide the image's migrations, and the app's aerich would write a
    # new one (and a new `aerich` row) at every start of every pod.
    for pod in (container, setup):
        assert [m["mountPath"] for m in pod["volumeMounts"]] == ["/tmp"]
    assert setup["image"] == container["image"], "the same code"
    job_env = {e["name"]: e for e in setup["env"]}
    assert job_env.pop("MODEL_DEVICE") == {"name": "MODEL_DEVICE", "value": "cpu"}, "the Job has no GPU"
    assert {e["name"]: e for e in container["env"] if e["name"] != "MODEL_DEVICE"} == job_env, "the same settings"
    assert setup["command"][:2] == ["python", "-c"] and "create_init_account" in setup["command"][2]
    assert setup["command"][2].index("command.upgrade(") < setup["command"][2].index("sql_init()"), (
        "the image's migrations applied before the app's own steps, which then write nothing"
    )
    workload = deployment.registration("Deployment", "face-api")
    assert deployment.registration("Job", job["metadata"]["name"]).urn in workload.dependencies


def test_the_app_allows_no_cross_origin_caller(declare):
    _, env = container_env(declare_face_api(declare))
    # The app declares ALLOWED_ORIGINS a list, which pydantic-settings parses from JSON: a bare value (or none: the
    # default "*" is validated too) fails the app's import. Same origin for the frontend and /api: none is needed.
    assert json.loads(env["ALLOWED_ORIGINS"]["value"]) == []


def test_every_pod_waits_for_the_stores(declare):
    deployment = declare_face_api(declare, wait_image="docker.io/library/busybox:1.37.0")
    pod = deployment.object("Deployment", "face-api")["spec"]["template"]["spec"]
    waits = {c["name"]: c["command"][-1] for c in pod["initContainers"]}
    assert set(waits) == {"wait-for-postgres", "wait-for-milvus"}
    assert "nc -z -w 2 postgres.postgresql.svc.cluster.local 5432" in waits["wait-for-postgres"]
    assert "nc -z -w 2 milvus.milvus.svc.cluster.local 19530" in waits["wait-for-milvus"]
    job = deployment.objects("Job")[0]["spec"]["template"]["spec"]
    assert [c["name"] for c in job["initContainers"]] == ["wait-for-postgres", "wait-for-milvus"]
