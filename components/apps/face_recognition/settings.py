"""`kiban:faceRecognition`: the face-recognition system (backend, frontend, PostgreSQL, Milvus), as its Docker Compose deployment runs it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from components.contracts.images import VERSION_TAG, image_digest, image_tag
from components.contracts.settings import AbsolutePath, ConfigModel, ImageReference, worded
from components.contracts.stores import MilvusSettings, PostgresSettings
from components.contracts.workloads import ComputeResources, ServiceSettings, compute


BACKEND = "face-api"
"""The backend's workload (its Deployment or Rollout)."""

MILVUS = "milvus"
"""Milvus's workload (its StatefulSet)."""

GPU_WORKLOADS = (BACKEND, MILVUS)
"""The app's workloads that reserve a GPU on a GPU stack, and the only ones that may (the policy pack's
`gpu-placement`)."""


class AppImages(ConfigModel):
    """The images kiban builds itself (third-party images are pinned in versions.json)."""

    # The app's images, declared once: each field names its build (`images/<build>/`); the registry, the builds,
    # the resolution of digests, the config's checks and the exports read them through `builds()`.

    allow_mutable_tags: bool = False
    """Accept tags that move (`latest`, `main`, ...; dev follows `latest` by digest). Default: `false`: each image
    must carry a release version tag (`1.4.2`, `v1.4.2-rc.1`) or a digest, as prod deploys releases."""

    face_api: ImageReference = Field(json_schema_extra={"build": "face-api"})
    """The face-recognition backend image. Required."""

    frontend: ImageReference = Field(json_schema_extra={"build": "face-frontend"})
    """The frontend image. Required."""

    @classmethod
    def builds(cls) -> dict[str, str]:
        """Each image's field name and the folder under `images/` it is built from."""
        return {
            name: field.json_schema_extra["build"]
            for name, field in cls.model_fields.items()
            if isinstance(field.json_schema_extra, dict) and "build" in field.json_schema_extra
        }

    def references(self) -> dict[str, str]:
        """Each image's configured reference, by field name."""
        return {name: getattr(self, name) for name in self.builds()}

    @field_validator("*")
    @classmethod
    def _a_version_unless_mutable_allowed(cls, value: object, info: ValidationInfo) -> object:
        if info.field_name not in cls.builds() or info.data.get("allow_mutable_tags"):
            return value
        reference = str(value)
        tag, digest = image_tag(reference), image_digest(reference)
        if digest is None and not VERSION_TAG.fullmatch(tag or ""):
            raise ValueError(
                f"{reference!r} has the tag {tag!r}, which is not a version: deploy a release tag (1.4.2, v1.4.2, "
                "1.4.2-rc.1) or a digest (@sha256:...), or set allowMutableTags: true for a development stack"
            )
        return value


SENSITIVE_LOG_LEVELS = ("debug", "info")
"""The backend's log levels at which the app writes its settings, passwords and JWT key included."""


class BackendSettings(ServiceSettings):
    """The FastAPI face-recognition API (port 8000)."""

    resources: ComputeResources = Field(default_factory=lambda: compute("500m", "512Mi", "1", "2Gi"))
    """Default: requests 500m / 512Mi, limits 1 CPU / 2Gi (the application's Compose file)."""

    model_path: AbsolutePath = "/faceapi/model.onnx"
    """`MODEL_PATH`: the model file inside the image. Default: `/faceapi/model.onnx`."""

    model_loader: Literal["onnx"] = "onnx"
    """`MODEL_LOADER`: the app's registered loader. Default and only value: `onnx` (the app's torch loaders,
    StarNet, are not imported by the code it ships, so no other name loads)."""

    onnx_runtime: Literal["cpu", "cuda"] = "cpu"
    """Which ONNX Runtime the backend image carries. `cpu`: the app's own image (`onnxruntime`; its loader builds the
    session without providers, so inference runs on the CPU). `cuda`: kiban's build (`images/face-api`):
    `onnxruntime-gpu`, with sessions defaulting to the CUDA provider. A GPU stack needs `cuda`. Default: `cpu`."""

    admin_username: Annotated[str, worded(r"[A-Za-z0-9_.@-]{1,64}", "a user name (letters, digits, _ . @ -)")] = "admin"
    """`ADMIN_USERNAME`: the administrator the app creates on first start; its password is generated and kept in a
    Secret (never the app's default `admin`). Default: `admin`."""

    admin_email: Annotated[str, worded(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an e-mail address")] = "admin@example.com"
    """`ADMIN_EMAIL` of that administrator. Default: `admin@example.com`."""

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

    log_level: Literal["debug", "info", "warning", "error"] = "warning"
    """The app's log level: uvicorn's `--log-level` and loguru's `LOGURU_LEVEL` (what the app really reads; it
    ignores `LOG_LEVEL`). Default: `warning`: at `info` and below the app logs its whole settings object, passwords
    and JWT key included."""

    allow_sensitive_logs: bool = False
    """Accept `logLevel: info` or `debug`, at which the app writes its database and Milvus passwords and its JWT key
    to the pod's log (and to whatever collects logs). Default: `false`: those levels are refused; turn on only
    for a development stack whose logs nobody else reads."""

    @model_validator(mode="after")
    def _no_secrets_in_logs_unless_allowed(self) -> "BackendSettings":
        if self.log_level in SENSITIVE_LOG_LEVELS and not self.allow_sensitive_logs:
            raise ValueError(
                f"logLevel {self.log_level!r} makes the app log its passwords and JWT key: use 'warning' or 'error', "
                "or set allowSensitiveLogs: true for a development stack"
            )
        return self


class FrontendSettings(ServiceSettings):
    """The Vue.js frontend: a static build (it calls the API on the same origin under `/api`) served by an
    unprivileged nginx on port 8080."""

    resources: ComputeResources = Field(default_factory=lambda: compute("50m", "64Mi", "250m", "256Mi"))
    """Default: requests 50m / 64Mi, limits 250m / 256Mi."""


class FaceRecognitionConfig(ConfigModel):
    """The whole face-recognition system."""

    gpu: bool = False
    """Run the GPU build: the backend gets one GPU (`MODEL_DEVICE=cuda:0`, ONNX Runtime on CUDA: needs
    `backend.onnxRuntime: cuda`) and Milvus runs its `-gpu` image on one GPU with a memory pool of
    `milvus.gpuMemoryPool`. What Milvus's GPU buys today: the app creates its collection with a `FLAT` index (it
    does not let the index type be configured), which Milvus searches on the CPU; the GPU serves only indexes built
    as GPU indexes. Needs `kiban:cluster.gpu`. Default: `false` (`MODEL_DEVICE=cpu`)."""

    backend: BackendSettings = Field(default_factory=BackendSettings)
    frontend: FrontendSettings = Field(default_factory=FrontendSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    milvus: MilvusSettings = Field(default_factory=MilvusSettings)

    @model_validator(mode="after")
    def _gpu_needs_a_gpu_runtime(self) -> "FaceRecognitionConfig":
        if self.gpu and self.backend.onnx_runtime != "cuda":
            raise ValueError(
                "gpu is true but backend.onnxRuntime is cpu: the app's own image runs its ONNX model on the CPU and "
                "would hold a GPU for nothing; build the backend with kiban's images/face-api and set "
                "backend.onnxRuntime: cuda, or set gpu: false"
            )
        return self

    def gpu_demand(self) -> dict[str, int]:
        """The most GPUs each GPU workload holds at once: the backend at its largest, twice during a blue/green
        switch (both versions run), and Milvus."""
        if not self.gpu:
            return {}
        most = self.backend.autoscaling.max_replicas if self.backend.autoscaling else self.backend.replicas
        return {f"{BACKEND} (both colours of a switch)": 2 * most, MILVUS: 1}

