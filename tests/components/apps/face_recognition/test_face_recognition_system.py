"""FaceRecognitionSystem: three namespaces, the right wiring between components, GPUs where asked."""

from __future__ import annotations

import pytest
from pulumi.runtime import rpc

from components.apps.face_recognition.face_recognition_system import (
    FaceRecognitionImages,
    FaceRecognitionSystem,
    FaceRecognitionSystemArgs,
)
from components.data.milvus import MilvusImages
from components.contracts.stores import StoreDurability
from components.kube.pod_spec import GpuRequest
from stack_config.stack import StackConfig
from versions import versions


def stack(gpu: bool) -> StackConfig:
    return StackConfig.model_validate(
        {
            "cluster": {"kind": "k3s", "context": "homelab", "apiServer": {"addresses": ["192.168.0.41/32"]},
                        "nodes": [{"name": "k3", "cpu": "2", "memory": "6Gi", "gpus": 1}], "gpu": {"timeSlicingReplicas": 3}},
            "ingress": {"host": "face.example.com"},
            "images": {"faceApi": "r.example/face-api:1.0.0", "frontend": "r.example/face-frontend:1.0.0"},
            "faceRecognition": {"gpu": gpu, "backend": {"onnxRuntime": "cuda"}},
        }
    )


def system_args(config: StackConfig, facts) -> FaceRecognitionSystemArgs:
    """Arguments as `__main__` maps them from the stack config."""
    pinned = versions().images
    gpu = GpuRequest(count=1, scheduling=facts.gpu) if config.face_recognition.gpu else None
    return FaceRecognitionSystemArgs(
        settings=config.face_recognition,
        images=FaceRecognitionImages(
            face_api=config.images.face_api,
            frontend=config.images.frontend,
            postgres=pinned.postgres,
            milvus=MilvusImages(
                milvus=pinned.milvus_gpu if gpu else pinned.milvus,
                etcd=pinned.etcd,
                minio=pinned.minio,
                minio_client=pinned.minio_client,
                shell=pinned.busybox,
            ),
            shell=pinned.busybox,
        ),
        host=config.ingress.host,
        durability=StoreDurability(
            storage_class="kiban-retain",
            protect=config.data_safety.protect,
            retain_volumes=config.data_safety.retain_volumes,
            ready_timeout_minutes=config.timeouts.workload_ready_minutes,
        ),
        cluster=facts,
        gpu=gpu,
        gpu_ready_timeout_minutes=config.timeouts.workload_ready_minutes,
        environment_name="test",
    )


def declare_system(declare, facts, gpu=True):
    return declare(
        lambda opts: FaceRecognitionSystem(
            "face-recognition",
            system_args(stack(gpu), facts),
            opts,
        )
    )


def test_namespaces_and_where_each_workload_runs(declare, k3s_gpu_facts):
    deployment = declare_system(declare, k3s_gpu_facts)
    assert {n["metadata"]["name"] for n in deployment.objects("Namespace")} == {"face-recognition", "milvus", "postgresql"}
    where = {(o["kind"], o["metadata"]["name"]): o["metadata"]["namespace"] for o in deployment.objects() if o["kind"] in ("Deployment", "StatefulSet", "CronJob")}
    assert where[("Deployment", "face-api")] == "face-recognition"
    assert where[("Deployment", "frontend")] == "face-recognition"
    assert where[("StatefulSet", "postgres")] == "postgresql"
    assert where[("StatefulSet", "milvus")] == "milvus"
    assert where[("CronJob", "postgres-backup")] == "postgresql"
    for namespace in ("face-recognition", "milvus", "postgresql"):
        denies = [p for p in deployment.objects("NetworkPolicy") if p["metadata"]["namespace"] == namespace and p["metadata"]["name"] == "default-deny"]
        assert len(denies) == 1, namespace


def test_backend_is_wired_to_postgres_and_milvus(declare, k3s_gpu_facts):
    deployment = declare_system(declare, k3s_gpu_facts)
    container = deployment.object("Deployment", "face-api")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["SQL_HOST"] == "postgres.postgresql.svc.cluster.local"
    assert env["MILVUS_DB_HOST"] == "milvus.milvus.svc.cluster.local" and env["MILVUS_DB_PORT"] == "19530"
    copied = rpc.unwrap_rpc_secret(deployment.object("Secret", "face-api")["stringData"])
    postgres = rpc.unwrap_rpc_secret(deployment.object("Secret", "postgres")["stringData"])
    assert copied["SQL_PASSWORD"] == postgres["password"]
    assert copied["MILVUS_DB_PASSWORD"].startswith("mock-password-milvus")


def test_ingress_routes(declare, k3s_gpu_facts):
    deployment = declare_system(declare, k3s_gpu_facts)
    paths = deployment.object("Ingress", "face-recognition")["spec"]["rules"][0]["http"]["paths"]
    assert [(p["path"], p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"]) for p in paths] == [
        ("/api", "face-api", 8000),
        ("/", "frontend", 8080),
    ]


def test_data_volumes_use_the_given_storage_class(declare, k3s_gpu_facts):
    deployment = declare_system(declare, k3s_gpu_facts)
    classes = {t["spec"]["storageClassName"] for s in deployment.objects("StatefulSet") for t in s["spec"]["volumeClaimTemplates"]}
    classes |= {c["spec"]["storageClassName"] for c in deployment.objects("PersistentVolumeClaim")}
    assert classes == {"kiban-retain"}


def test_cpu_build_reserves_no_gpu(declare, k3s_gpu_facts):
    deployment = declare_system(declare, k3s_gpu_facts, gpu=False)
    for obj in deployment.objects():
        assert "nvidia.com/gpu" not in str(obj), obj["metadata"]["name"]


def test_gpu_build_needs_gpu_nodes(declare, k3s_cpu_facts):
    with pytest.raises(ValueError, match="GPU nodes"):
        declare_system(declare, k3s_cpu_facts, gpu=True)
