"""`stack_registry`: the one place that turns `kiban:registry` into the stack's registry (the component for its
kind, or none for an external one), and kiban's own images resolved against it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Sequence

import pulumi
import pulumi_gcp as gcp

from components.contracts.images import ImageReference, OwnImages
from components.contracts.registry import PullCredentials, RegistryFacts
from components.platform.artifact_registry import ArtifactRegistry, ArtifactRegistryArgs
from components.platform.image_resolution import artifact_registry_digests, resolve_images
from components.platform.registry_settings import ArtifactRegistry as ArtifactRegistryConfig
from components.platform.registry_settings import BuildPcRegistry as BuildPcRegistryConfig
from components.platform.registry_settings import ExternalRegistry, RegistryConfig

if TYPE_CHECKING:
    from components.platform.build_pc_registry import BuildPcRegistry


@dataclass(frozen=True)
class GcpAccess:
    """What an Artifact Registry repository needs from the GCP side of the stack."""

    provider: gcp.Provider
    """The explicit provider of the project (the GKE target's, or one made for the registry)."""

    project: str
    """The project the repository lives in."""

    location: str
    """The repository's region."""

    readers: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """IAM members that pull, by label: the GKE nodes' service accounts by pool."""

    writers: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """IAM members that push, by label: CI's `images` account."""

    after: Sequence[pulumi.Resource] = ()
    """What the repository waits for: the enabled APIs of a project kiban manages (the GKE target's)."""


@dataclass(frozen=True)
class StackRegistry:
    """The stack's registry and kiban's images resolved against it."""

    facts: RegistryFacts
    images: OwnImages | None
    """kiban's images as the workloads run them; `None` for the registry alone (`with_images=False`)."""
    build_pc: BuildPcRegistry | None = None
    """The build PC's registry (dev), for its outputs."""


def stack_registry(
    registry: RegistryConfig,
    *,
    images: Mapping[str, str],
    builds: Mapping[str, str],
    build_args: Mapping[str, Mapping[str, str]],
    protect: bool,
    opts: pulumi.ResourceOptions,
    gcp_access: GcpAccess | None = None,
    external_password: pulumi.Output[str] | None = None,
    with_images: bool = True,
) -> StackRegistry:
    """The registry `registry` (`kiban:registry`) describes, and the configured references of kiban's own images
    (`images`, by name) resolved against it. `builds` names each image's build (its folder under `images/`, where
    the registry builds them); `build_args` are the pinned build arguments of kiban's images by build (versions.json
    `imageBuilds`); `protect` guards the registry's data; `opts` carries the `random` and
    `tls` providers the build PC's registry generates its credentials and certificates with; `gcp_access` is
    needed for Artifact Registry; `external_password` is an external registry's password or token.
    `with_images=False` declares the registry alone (a stack's foundation): no build, no digest read, since the
    images do not exist before the registry does."""
    match registry:
        case BuildPcRegistryConfig():
            # Imported here: the Docker SDKs they load (~0.05 s of CPU) serve the build PC's registry only.
            from components.platform.build_pc_registry import BuildPcRegistry, BuildPcRegistryArgs
            from components.platform.image_builds import ImageBuilds, ImageBuildsArgs
            from components.platform.image_resolution import built_digests, registry_digests

            build_pc = BuildPcRegistry(
                "registry",
                BuildPcRegistryArgs(config=registry, build_args=build_args["registry"], protect=protect),
                opts=opts,
            )
            if not with_images:
                return StackRegistry(build_pc.facts, None, build_pc)
            if registry.builds is not None:
                image_builds = ImageBuilds(
                    "images",
                    ImageBuildsArgs(
                        config=registry.builds,
                        registry=build_pc.facts,
                        builder=registry.builder,
                        images={builds[name]: reference for name, reference in images.items()},
                        build_args=build_args,
                    ),
                    opts=pulumi.ResourceOptions(provider=build_pc.build_provider, depends_on=[build_pc]),
                )
                digest_of = built_digests(image_builds.built)
            else:
                assert build_pc.reader_provider is not None
                digest_of = registry_digests(build_pc.reader_provider)
            return StackRegistry(build_pc.facts, resolve_images(images, digest_of), build_pc)
        case ArtifactRegistryConfig():
            if gcp_access is None:
                raise ValueError("an Artifact Registry repository needs the stack's GCP provider")
            repository = ArtifactRegistry(
                "registry",
                ArtifactRegistryArgs(
                    config=registry,
                    project=gcp_access.project,
                    location=gcp_access.location,
                    readers=gcp_access.readers,
                    writers=gcp_access.writers,
                    protect=protect,
                    after=gcp_access.after,
                ),
                opts=pulumi.ResourceOptions(provider=gcp_access.provider),
            )
            if not with_images:
                return StackRegistry(repository.facts, None)
            digest_of = (
                artifact_registry_digests(repository.facts.pull_endpoint, repository.repository, gcp_access.provider)
                if registry.pin_digests
                else None
            )
            return StackRegistry(repository.facts, resolve_images(images, digest_of))
        case ExternalRegistry():
            host_of = next(iter(images.values()))
            facts = external_registry(registry, host_of, external_password)
            return StackRegistry(facts, resolve_images(images, None) if with_images else None)
    raise TypeError(f"no registry for kind {registry.kind!r}")


def external_registry(
    config: ExternalRegistry, image: str, password: pulumi.Output[str] | None
) -> RegistryFacts:
    """A registry kiban does not run: its host is the images'; credentials only when a user is configured."""
    host = ImageReference.parse(image).repository.split("/", 1)[0]
    credentials = (
        PullCredentials(username=config.username, password=pulumi.Output.secret(password))
        if config.username is not None and password is not None
        else None
    )
    return RegistryFacts(kind=config.kind, pull_endpoint=host, push_endpoint=host, pull_credentials=credentials)
