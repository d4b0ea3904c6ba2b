"""`ImageBuilds`: kiban's own images built by the build PC's BuildKit and pushed to its registry, tagged with the
version and `latest`.

Builds go through `pulumi-docker-build` (buildx/BuildKit), not pulumi-docker's build: kiban's Dockerfiles need
BuildKit (named contexts, `ADD --chmod`), and pulumi-docker's builds over `ssh://` engines have a history of
failures (pulumi-docker #580, #662, #702). One build pushes both tags, so `latest` and the version always name
the same manifest, whose digest the build reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import pulumi
import pulumi_docker_build as docker_build

from components.contracts.images import ImageReference
from components.contracts.registry import RegistryFacts
from components.platform.registry_settings import ImageBuilds as ImageBuildsConfig

ROOT = Path(__file__).resolve().parent.parent.parent
IMAGES = ROOT / "images"
"""kiban's Dockerfiles, one folder per image (`images/<image>/Dockerfile`), each also the named context `kiban`."""

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"
"""The build argument BuildKit (0.11+) takes as the time to write into the image instead of the build's."""


def project_path(path: Path) -> str:
    """`path` as the builds are given it: relative to the project (the directory `pulumi up` runs the program and
    its providers in), so another checkout of the same commit declares the same string. pulumi-docker-build
    compares `context.location` and the Dockerfile's path as strings (`Image.Diff`, provider/internal/image.go): an
    absolute path would rebuild and redeploy on every `up` from another machine."""
    return path.relative_to(ROOT).as_posix()


def quiet_build(builder: str, build_args: Mapping[str, str], source_date_epoch: int) -> dict:
    """What every kiban build passes besides its context, so an `up` that changes nothing builds nothing:
    - the named builder (`kiban:registry.builder`): pulumi-docker-build does not support buildx's `docker` driver,
      and with no name it picks a builder from the local buildx store or creates a `docker-container` one
      (provider/internal/host.go), whose BuildKit does not read the engine's `/etc/docker/certs.d`;
    - no `pull`: with `push` or `load` it makes every `up` an update (`Image.Diff`: "pull=true indicates that we
      want to keep base layers up-to-date. In this case we'll always perform the build"); the base images are
      pinned in versions.json instead;
    - `SOURCE_DATE_EPOCH`: a rebuild of the same sources writes the same times into the image config."""
    return {
        "builder": docker_build.BuilderConfigArgs(name=builder),
        "pull": False,
        "build_args": {**build_args, SOURCE_DATE_EPOCH: str(source_date_epoch)},
    }

PLATFORM = docker_build.Platform.LINUX_AMD64
"""What the cluster's nodes run (the homelab's and GKE's nodes are x86-64)."""


@dataclass(frozen=True)
class BuiltImage:
    """One image as pushed: its repository and the digest its version tag and `latest` point to."""

    repository: str
    version_tag: str
    digest: pulumi.Output[str]
    """`sha256:...` of the pushed manifest."""


@dataclass(frozen=True)
class ImageBuildsArgs:
    """Arguments of `ImageBuilds`."""

    config: ImageBuildsConfig
    """`kiban:registry.builds` (required): the application's checkout, the version, the builder."""

    registry: RegistryFacts
    """The build PC's registry (required): its endpoint and the credentials that push."""

    images: Mapping[str, str]
    """Image references to build, by name (required): `{"face-api": "registry:5000/face-api:latest"}`; the name is
    the folder of its Dockerfile under `images/`."""

    builder: str = "kiban"
    """The buildx builder (`kiban:registry.builder`). Default: `kiban`."""

    build_args: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Build arguments by image name: the pinned base images and tools (versions.json `imageBuilds`). Default:
    none, which only suits a Dockerfile that declares no `ARG`."""


class ImageBuilds(pulumi.ComponentResource):
    """A build of each image pushed as `<repository>:<version>` and `<repository>:latest`. `opts` must carry the
    build PC's `docker-build` provider: BuildKit there builds, and pushes to the registry beside it."""

    built: dict[str, BuiltImage]
    """The pushed images, by name."""

    def __init__(self, resource_name: str, args: ImageBuildsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:platform:ImageBuilds", resource_name, None, opts)
        credentials = args.registry.pull_credentials
        if credentials is None:
            raise ValueError(f"{resource_name}: pushing to the {args.registry.kind} registry needs its credentials")
        login = docker_build.RegistryArgs(
            address=args.registry.push_endpoint, username=credentials.username, password=credentials.password
        )
        context = args.config.context  # relative to the project: the config refuses an absolute path
        version = args.config.version
        self.built = {}
        for name, reference in args.images.items():
            repository = ImageReference.parse(reference).repository
            if not repository.startswith(args.registry.push_endpoint + "/"):
                raise ValueError(f"{name}: {reference} is not in the registry {args.registry.push_endpoint}")
            kiban_context = IMAGES / name
            if not (kiban_context / "Dockerfile").is_file():
                raise ValueError(f"{name}: kiban has no Dockerfile for it ({kiban_context / 'Dockerfile'})")
            image = docker_build.Image(
                f"{resource_name}-{name}",
                context=docker_build.BuildContextArgs(
                    location=context,
                    named={"kiban": docker_build.ContextArgs(location=project_path(kiban_context))},
                ),
                dockerfile=docker_build.DockerfileArgs(location=project_path(kiban_context / "Dockerfile")),
                platforms=[PLATFORM],
                push=True,
                # A preview builds nothing: it runs where no build PC may be reached (docs/ci-and-delivery.md).
                build_on_preview=False,
                tags=[f"{repository}:{version}", f"{repository}:latest"],
                registries=[login],
                **quiet_build(args.builder, args.build_args.get(name, {}), args.config.source_date_epoch),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.built[name] = BuiltImage(repository=repository, version_tag=version, digest=image.digest)
        self.register_outputs({name: image.digest for name, image in self.built.items()})
