"""`ImageBuilds`: kiban's own images built by the build PC's Docker engine and pushed to its registry, tagged with
the version and `latest`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import pulumi
import pulumi_docker as docker

from components.contracts.images import ImageReference
from components.contracts.registry import RegistryFacts
from stack_config.registry import ImageBuilds as ImageBuildsConfig

ROOT = Path(__file__).resolve().parent.parent.parent
IMAGES = ROOT / "images"
"""kiban's Dockerfiles, one folder per image (`images/<image>/Dockerfile`), each also the named context `kiban`."""


@dataclass(frozen=True)
class BuiltImage:
    """One image as pushed: its repository and the digest `latest` points to after the push."""

    repository: str
    version_tag: str
    digest: pulumi.Output[str]
    """`sha256:...` of the pushed manifest (the version tag and `latest` point to it)."""


@dataclass(frozen=True)
class ImageBuildsArgs:
    """Arguments of `ImageBuilds`."""

    config: ImageBuildsConfig
    """`kiban:registry.builds` (required)."""

    registry: RegistryFacts
    """The build PC's registry (required): its endpoint and the credentials that push."""

    images: Mapping[str, str]
    """Image references to build, by name (required): `{"face-api": "registry:5000/face-api:latest"}`; the name is
    the folder of its Dockerfile under `images/`."""


class ImageBuilds(pulumi.ComponentResource):
    """A build and push of each image (`<repository>:<version>`), then a push of the same image as `latest`.
    `opts` must carry the build PC's Docker provider: the engine there builds, and pushes to its own registry."""

    built: dict[str, BuiltImage]
    """The pushed images, by name."""

    def __init__(self, resource_name: str, args: ImageBuildsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:platform:ImageBuilds", resource_name, None, opts)
        credentials = args.registry.pull_credentials
        if credentials is None:
            raise ValueError(f"{resource_name}: pushing to the {args.registry.kind} registry needs its credentials")
        auth = docker.RegistryImageAuthConfigArgs(
            address=args.registry.push_endpoint, username=credentials.username, password=credentials.password
        )
        context = Path(args.config.context)
        context = context if context.is_absolute() else ROOT / context
        version = args.config.version
        self.built = {}
        for name, reference in args.images.items():
            repository = ImageReference.parse(reference).repository
            if not repository.startswith(args.registry.push_endpoint + "/"):
                raise ValueError(f"{name}: {reference} is not in the registry {args.registry.push_endpoint}")
            kiban_context = IMAGES / name
            if not (kiban_context / "Dockerfile").is_file():
                raise ValueError(f"{name}: kiban has no Dockerfile for it ({kiban_context / 'Dockerfile'})")
            versioned = docker.RegistryImage(
                f"{resource_name}-{name}",
                name=f"{repository}:{version}",
                build=docker.RegistryImageBuildArgs(
                    context=str(context),
                    dockerfile=str(kiban_context / "Dockerfile"),
                    additional_contexts=[f"kiban={kiban_context}"],
                    builder=args.config.builder,
                    tags=[f"{repository}:{version}", f"{repository}:latest"],
                    pull_parent=True,
                ),
                auth_config=auth,
                keep_remotely=True,  # the registry's own clean-up retires old versions
                opts=pulumi.ResourceOptions(parent=self),
            )
            latest = docker.RegistryImage(
                f"{resource_name}-{name}-latest",
                name=f"{repository}:latest",
                auth_config=auth,
                keep_remotely=True,
                triggers={"digest": versioned.sha256_digest},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[versioned]),
            )
            self.built[name] = BuiltImage(repository=repository, version_tag=version, digest=latest.sha256_digest)
        self.register_outputs({name: image.digest for name, image in self.built.items()})
