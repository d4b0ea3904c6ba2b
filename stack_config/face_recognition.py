"""`kiban:faceRecognition`: the face-recognition system (backend, frontend, PostgreSQL, Milvus), as its Docker Compose deployment runs it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from stack_config.base import ConfigModel, MemoryQuantity, StorageQuantity, worded
from stack_config.workloads import BackupSettings, ComputeResources, ServiceSettings, compute


PostgresIdentifier = Annotated[
    str,
    worded(r"[a-z_][a-z0-9_]{0,62}", "a PostgreSQL name: 1 to 63 lower-case letters, digits and '_', not starting "
           "with a digit"),
]


class BackendSettings(ServiceSettings):
    """The FastAPI face-recognition API (port 8000)."""

    resources: ComputeResources = Field(default_factory=lambda: compute("500m", "512Mi", "1", "2Gi"))
    """Default: requests 500m / 512Mi, limits 1 CPU / 2Gi (the application's Compose file)."""

    model_path: str = "/faceapi/model.onnx"
    """`MODEL_PATH`: the model file inside the image. Default: `/faceapi/model.onnx`."""

    model_loader: Literal["onnx", "torch"] = "onnx"
    """`MODEL_LOADER`. Default: `onnx`."""

    model_threshold: float = Field(default=0.2285, gt=0, lt=1)
    """`MODEL_THRESHOLD`: similarity threshold of a match. Default: `0.2285`."""

    model_embedding_dim: int = Field(default=512, ge=1, le=32768)
    """`MODEL_EMB_DIM`: embedding size, which the Milvus collection must match. Default: `512`."""

    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    """`JWT_ALGORITHM`. Default: `HS256`. The key itself is generated and kept in a Secret."""

    access_token_expire_minutes: int = Field(default=10080, ge=1)
    """`ACCESS_TOKEN_EXPIRE_MINUTES`. Default: `10080` (7 days)."""

    allow_face_deduplication: bool = False
    """`ALLOW_FACE_DEDUPICATION` (sic, the application's spelling). Default: `false`."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """`LOG_LEVEL`. Default: `INFO`."""


class FrontendSettings(ServiceSettings):
    """The Vue.js frontend: a static build (it calls the API on the same origin under `/api`) served by an
    unprivileged nginx on port 8080."""

    resources: ComputeResources = Field(default_factory=lambda: compute("50m", "64Mi", "250m", "256Mi"))
    """Default: requests 50m / 64Mi, limits 250m / 256Mi."""


class PostgresSettings(ConfigModel):
    """The PostgreSQL 15 database of the face-recognition backend."""

    database: PostgresIdentifier = "faceapi"
    """Database name (`SQL_DATABASE`). Default: `faceapi`."""

    username: PostgresIdentifier = "faceuser"
    """Owner of the database (`SQL_USERNAME`). Default: `faceuser`. The password is generated."""

    storage_size: StorageQuantity = "10Gi"
    """Size of the data volume. Default: `10Gi`."""

    resources: ComputeResources = Field(default_factory=lambda: compute("250m", "256Mi", "1", "1Gi"))
    """Default: requests 250m / 256Mi, limits 1 CPU / 1Gi."""

    shared_memory: MemoryQuantity = "128Mi"
    """Size of /dev/shm (the Compose file's `shm_size`). Default: `128Mi`."""

    backup: BackupSettings = Field(default_factory=BackupSettings)
    """Nightly `pg_dump`. Default: daily at 03:00 UTC, kept 7 days, on a 20Gi volume."""


class MilvusSettings(ConfigModel):
    """Milvus standalone (vector database) with its etcd and MinIO."""

    database: Annotated[
        str, worded(r"[A-Za-z_][A-Za-z0-9_]*", "a Milvus database name: letters, digits and '_', not starting "
                    "with a digit", 255)
    ] = "default"
    """Milvus database the backend uses (`MILVUS_DB_DB_NAME`). Default: `default`."""

    resources: ComputeResources = Field(default_factory=lambda: compute("500m", "2Gi", "2", "8Gi"))
    """Milvus container. Default: requests 500m / 2Gi, limits 2 CPU / 8Gi."""

    storage_size: StorageQuantity = "20Gi"
    """Milvus local volume (/var/lib/milvus). Default: `20Gi`."""

    etcd_resources: ComputeResources = Field(default_factory=lambda: compute("100m", "256Mi", "500m", "1Gi"))
    """etcd container. Default: requests 100m / 256Mi, limits 500m / 1Gi."""

    etcd_storage_size: StorageQuantity = "5Gi"
    """etcd data volume. Default: `5Gi` (etcd's backend quota is 4GiB)."""

    minio_resources: ComputeResources = Field(default_factory=lambda: compute("100m", "256Mi", "1", "2Gi"))
    """MinIO container. Default: requests 100m / 256Mi, limits 1 CPU / 2Gi."""

    minio_storage_size: StorageQuantity = "50Gi"
    """MinIO data volume (the vectors and indexes). Default: `50Gi`."""

    backup: BackupSettings = Field(default_factory=lambda: BackupSettings(schedule="30 3 * * *", storage_size="50Gi"))
    """etcd snapshot plus a copy of the MinIO bucket. Default: daily at 03:30 UTC, kept 7 days, on a 50Gi volume."""


class FaceRecognitionConfig(ConfigModel):
    """The whole face-recognition system."""

    gpu: bool = False
    """Run the GPU build (the application's `--gpu` deployment): the backend gets one GPU and `MODEL_DEVICE=cuda:0`, Milvus runs its
    `-gpu` image on one GPU. Needs `kiban:cluster.gpu`. Default: `false` (`MODEL_DEVICE=cpu`)."""

    backend: BackendSettings = Field(default_factory=BackendSettings)
    frontend: FrontendSettings = Field(default_factory=FrontendSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    milvus: MilvusSettings = Field(default_factory=MilvusSettings)
