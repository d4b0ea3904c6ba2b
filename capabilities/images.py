"""The images capability: the registry kiban's own images live in (`kiban:registry`), their references
(`kiban:images`) resolved once against it, and kiban's own CA where the registry is the build PC's."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp
import pulumi_tls

from capabilities.cloud import Cloud
from components.contracts.certificates import CertificateAuthority
from components.platform.registries import GcpAccess, StackRegistry, stack_registry
from stack_config import LoadedConfig
from stack_config.stack import StackConfig
from versions import Versions


@dataclass(frozen=True)
class KibanCa:
    """kiban's own CA (the build PC registry's) and the explicit `tls` provider it signs with."""

    authority: CertificateAuthority
    """The CA: whatever trusts it (the K3s nodes, the builder) trusts what it signs."""

    provider: pulumi_tls.Provider
    """The `tls` provider the CA and every certificate it signs are created with."""


@dataclass(frozen=True)
class OwnImages:
    """Where kiban's own images live and what the workloads run."""

    registry: StackRegistry
    """The stack's registry: its facts, its images (resolved with the workloads) and the build PC's parts."""

    ca: KibanCa | None
    """kiban's CA, where the registry is the build PC's; None elsewhere."""


def registry_access(stack: StackConfig, cloud: Cloud) -> GcpAccess | None:
    """What an Artifact Registry repository needs of Google Cloud: the project of the GKE cluster kiban creates
    (its nodes and CI's scan pull, CI's `images` account pushes), or else a provider of its own for the configured
    project."""
    if stack.registry_or_default().kind != "artifact-registry":
        return None
    project, region = stack.artifact_registry_location()  # both known: the config refuses it otherwise
    assert project is not None and region is not None
    if cloud.gcp is not None:
        return GcpAccess(
            provider=cloud.gcp.provider,
            project=project,
            location=region,
            readers=cloud.gcp.image_pullers,
            writers=cloud.gcp.image_pushers,
            after=cloud.gcp.apis,
        )
    provider = pulumi_gcp.Provider("registry-gcp", project=project, region=region)
    return GcpAccess(provider=provider, project=project, location=region)


def registry_and_images(config: LoadedConfig, cloud: Cloud, pinned: Versions) -> OwnImages:
    """The stack's registry, with the images it builds or holds resolved to what the workloads run. A stack's
    foundation (`kiban:phase: foundation`) declares the registry alone: its images are pushed after it, so no
    digest is read before they exist."""
    stack = config.stack
    registry = stack.registry_or_default()
    certificates = pulumi_tls.Provider("tls") if registry.kind == "build-pc" else None
    declared = stack_registry(
        registry,
        images=stack.images.references(),
        builds=stack.images.builds(),
        build_args=pinned.image_builds.by_image(),
        protect=stack.data_safety.protect,
        opts=pulumi.ResourceOptions(providers=[cloud.generator, *([certificates] if certificates else [])]),
        gcp_access=registry_access(stack, cloud),
        external_password=config.secret("registryPassword"),
        with_images=stack.phase == "workloads",
    )
    ca = (
        KibanCa(declared.build_pc.certificate_authority, certificates)
        if declared.build_pc is not None and certificates is not None
        else None
    )
    return OwnImages(declared, ca)


def needs_foundation(stack: StackConfig) -> bool:
    """Whether the stack's first `up` must be its foundation alone: its images are pushed to a registry that `up`
    creates (the build PC's, or Artifact Registry) and only then exist. An external registry's images exist before
    kiban runs."""
    return stack.registry_or_default().kind in ("build-pc", "artifact-registry")
