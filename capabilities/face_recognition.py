"""The face-recognition capability: the system of `kiban:faceRecognition` (backend, frontend, PostgreSQL, Milvus)
from kiban's own images, released blue/green, its stores as durable as the stack says."""

from __future__ import annotations

import pulumi

from capabilities.cloud import Cloud
from components.apps.face_recognition.face_recognition_system import (
    FaceRecognitionImages,
    FaceRecognitionSystem,
    FaceRecognitionSystemArgs,
)
from components.contracts.delivery import BlueGreenDelivery
from components.contracts.stores import StoreDurability
from components.data.milvus import MilvusImages
from components.kube.pod_spec import GpuRequest
from components.platform.registries import StackRegistry
from stack_config import LoadedConfig
from versions import Versions


def face_recognition(
    config: LoadedConfig,
    cloud: Cloud,
    durability: StoreDurability,
    registry: StackRegistry,
    delivery: BlueGreenDelivery,
    pinned: Versions,
) -> FaceRecognitionSystem:
    """The system at `ingress.host`. On a GPU stack each GPU workload reserves one GPU: the config guarantees GPU
    nodes wherever the system asks for them, and enough of them for every workload at its largest."""
    stack = config.stack
    facts = cloud.cluster.facts
    assert registry.images is not None, "the system runs in the workloads phase, where the images are resolved"
    gpu = GpuRequest(count=1, scheduling=facts.gpu) if stack.face_recognition.gpu and facts.gpu else None
    images = pinned.images
    return FaceRecognitionSystem(
        "face-recognition",
        FaceRecognitionSystemArgs(
            settings=stack.face_recognition,
            images=FaceRecognitionImages(
                face_api=registry.images["face_api"],
                frontend=registry.images["frontend"],
                postgres=images.postgres,
                milvus=MilvusImages(
                    milvus=images.milvus_gpu if gpu else images.milvus,
                    etcd=images.etcd,
                    minio=images.minio,
                    minio_client=images.minio_client,
                    shell=images.busybox,
                ),
                shell=images.busybox,
            ),
            host=stack.ingress.host,
            durability=durability,
            cluster=facts,
            gpu=gpu,
            gpu_ready_timeout_minutes=stack.timeouts.workload_ready_minutes,
            environment_name=pulumi.get_stack(),
            tls=config.ingress_tls,
            delivery=delivery,
            registry=registry.facts,
        ),
        opts=cloud.on_cluster,
    )
