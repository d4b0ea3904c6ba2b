"""The value parsers the models rely on: Kubernetes quantities and image references."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from components.contracts.settings import cpu_millicores, memory_bytes
from components.contracts.images import image_digest, image_tag
from components.apps.face_recognition.settings import AppImages
from stack_config.stack import StackConfig
from components.contracts.workloads import ComputeQuantities, ComputeResources, compute

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("quantity", "millicores"),
    [("500m", 500), ("250m", 250), ("1", 1000), ("2", 2000), ("1.5", 1500), ("0.25", 250), ("1500m", 1500)],
)
def test_cpu_millicores(quantity: str, millicores: float):
    assert cpu_millicores(quantity) == millicores


@pytest.mark.parametrize("quantity", ["", "m", "-1", "1.5.0", "500M", "1 core", "1e3", " 1"])
def test_cpu_millicores_rejects_what_is_not_a_cpu_quantity(quantity: str):
    with pytest.raises(ValueError, match="is not a CPU quantity"):
        cpu_millicores(quantity)


@pytest.mark.parametrize(
    ("quantity", "size"),
    [
        ("512Mi", 512 * 2**20),
        ("2Gi", 2 * 2**30),
        ("1.5Gi", 1.5 * 2**30),
        ("64Ki", 64 * 2**10),
        ("1Ti", 2**40),
        ("1G", 10**9),
        ("500M", 500 * 10**6),
        ("3K", 3000),
        ("2T", 2 * 10**12),
        ("1024", 1024),
    ],
)
def test_memory_bytes(quantity: str, size: float):
    assert memory_bytes(quantity) == size


def test_binary_and_decimal_units_differ():
    assert memory_bytes("1Gi") > memory_bytes("1G")


@pytest.mark.parametrize("quantity", ["", "Mi", "512mb", "512MB", "-1Gi", "1.Gi", "1 Gi", "512m"])
def test_memory_bytes_rejects_what_is_not_a_memory_quantity(quantity: str):
    with pytest.raises(ValueError, match="is not a memory quantity"):
        memory_bytes(quantity)


def test_quantity_fields_validate_through_the_parsers():
    assert ComputeQuantities(cpu="250m", memory="1Gi").cpu == "250m"
    with pytest.raises(ValidationError, match="is not a CPU quantity"):
        ComputeQuantities(cpu="a lot", memory="1Gi")
    with pytest.raises(ValidationError, match="is not a memory quantity"):
        ComputeQuantities(cpu="1", memory="1GB")


def test_requests_may_equal_limits_in_other_units():
    resources = compute("1", "1024Mi", "1000m", "1Gi")
    assert cpu_millicores(resources.requests.cpu) == cpu_millicores(resources.limits.cpu)


@pytest.mark.parametrize(
    ("requests", "limits", "message"),
    [
        (("1500m", "1Gi"), ("1", "1Gi"), "requests.cpu 1500m is above limits.cpu 1"),
        (("1", "2Gi"), ("1", "2G"), "requests.memory 2Gi is above limits.memory 2G"),
    ],
)
def test_requests_above_limits_are_rejected(requests: tuple[str, str], limits: tuple[str, str], message: str):
    with pytest.raises(ValidationError, match=message):
        ComputeResources(
            requests=ComputeQuantities(cpu=requests[0], memory=requests[1]),
            limits=ComputeQuantities(cpu=limits[0], memory=limits[1]),
        )


@pytest.mark.parametrize(
    ("reference", "tag", "digest"),
    [
        ("registry.homelab.internal:5000/face-api:latest", "latest", None),
        ("registry.homelab.internal:5000/face-api", None, None),
        ("asia-northeast2-docker.pkg.dev/kiban-prod/kiban/face-api:1.0.0", "1.0.0", None),
        ("docker.io/library/postgres:15.18-alpine", "15.18-alpine", None),
        ("postgres", None, None),
        (f"ghcr.io/kiban/face-api@{DIGEST}", None, DIGEST),
        (f"ghcr.io/kiban/face-api:1.2.3@{DIGEST}", "1.2.3", DIGEST),
        (f"localhost:5000/face-api:v2_rc.1@{DIGEST}", "v2_rc.1", DIGEST),
    ],
)
def test_image_tag_and_digest(reference: str, tag: str | None, digest: str | None):
    assert image_tag(reference) == tag
    assert image_digest(reference) == digest


@pytest.mark.parametrize(
    "reference",
    [
        "Registry.example/face-api:1.0",  # upper case in the repository
        "face-api:-1",  # a tag cannot start with '-'
        "face-api:1.0@sha256:short",
        "face-api:" + "x" * 129,  # tags are at most 128 characters
        "face api:1.0",
    ],
)
def test_malformed_references_have_neither_tag_nor_digest(reference: str):
    assert image_tag(reference) is None
    assert image_digest(reference) is None


def _images(face_api: str, *, allow_mutable_tags: bool = False) -> AppImages:
    return AppImages(face_api=face_api, frontend="registry.example/face-frontend:1.0.0", allow_mutable_tags=allow_mutable_tags)


def test_an_image_needs_a_tag_or_a_digest():
    with pytest.raises(ValidationError, match="has neither a tag nor a digest"):
        _images("registry.example/face-api")
    assert _images(f"registry.example/face-api@{DIGEST}").face_api.endswith(DIGEST)


def test_a_malformed_image_reference_is_rejected():
    with pytest.raises(ValidationError, match="is not an image reference"):
        _images("Registry.example/face-api:1.0")


def test_latest_needs_allow_mutable_tags_unless_pinned_by_digest():
    with pytest.raises(ValidationError, match="has the tag 'latest', which is not a version"):
        _images("registry.example/face-api:latest")
    assert _images("registry.example/face-api:latest", allow_mutable_tags=True).allow_mutable_tags
    assert _images(f"registry.example/face-api:latest@{DIGEST}").face_api.startswith("registry.example/face-api:latest@")


def _gpu_stack(**overrides):
    base = {
        "cluster": {
            "kind": "k3s",
            "context": "homelab",
            "apiServer": {"addresses": ["192.168.0.41/32"]},
            "nodes": [{"name": "k3", "cpu": "2", "memory": "6Gi", "gpus": 1}],
            "gpu": {"timeSlicingReplicas": 3},
        },
        "ingress": {"host": "face.example.com"},
        "images": {"faceApi": "r.example/face-api:1.0.0", "frontend": "r.example/face-frontend:1.0.0"},
        "faceRecognition": {"gpu": True, "backend": {"onnxRuntime": "cuda"}},
    }
    for key, value in overrides.items():
        base[key] = {**base[key], **value}
    return base


def test_gpu_demand_counts_both_colours_of_a_switch_and_milvus():
    config = StackConfig.model_validate(_gpu_stack())
    assert config.gpu_demand() == {"face-api (both colours of a switch)": 2, "milvus": 1}
    assert config.cluster.gpu_slots() == 3


def test_a_stack_asking_for_more_gpus_than_the_cluster_has_is_refused_naming_them():
    too_many = _gpu_stack(faceRecognition={"backend": {"onnxRuntime": "cuda", "replicas": 2}})
    with pytest.raises(ValidationError) as caught:
        StackConfig.model_validate(too_many)
    message = str(caught.value)
    assert "ask for 5 GPUs" in message and "face-api (both colours of a switch) 4, milvus 1" in message
    assert "the cluster has 3" in message and "timeSlicingReplicas" in message
    gke = {
        "kind": "existing-gke", "context": "gke", "apiServer": {"addresses": ["172.16.0.2/32"]},
        "gpu": {"maxNodes": 2},
    }
    with pytest.raises(ValidationError, match="maxNodes"):
        StackConfig.model_validate({**_gpu_stack(), "cluster": gke})
    cpu_only = StackConfig.model_validate({**_gpu_stack(faceRecognition={"gpu": False}), "cluster": gke})
    assert cpu_only.gpu_demand() == {}
