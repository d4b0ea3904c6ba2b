"""Where kiban's own image references are resolved, for every stack, in one place.

- dev follows `latest`: it deploys the digest `latest` points to when `up` runs (the digest of the push it just
  made when it builds, else the one the build PC's registry reports), so a new push rolls out on the next `up`
  and the running image is always known;
- prod deploys its release tag, pinned to the digest Artifact Registry holds for it (`registry.pinDigests`);
- a reference that already carries a digest is deployed as written; so is a tag of a registry kiban cannot read.

`latest` never reaches prod: the config refuses mutable tags with Artifact Registry (`stack_config.stack`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping

import pulumi
import pulumi_gcp as gcp

from components.contracts.images import DeployedImage, ImageReference, OwnImages

if TYPE_CHECKING:  # the Docker SDKs serve the build PC's registry only: imported where it is used
    import pulumi_docker as docker

    from components.platform.image_builds import BuiltImage

DigestOf = Callable[[str], pulumi.Output[str]]
"""For a configured reference (`repository:tag`), the `sha256:...` it points to now."""


def resolve_images(configured: Mapping[str, str], digest_of: DigestOf | None) -> OwnImages:
    """The references the workloads run, by image name: each configured reference pinned to `digest_of(reference)`
    unless it has a digest already or there is no way to read one (`digest_of` is `None`)."""

    def resolve(configured: str) -> DeployedImage:
        parsed = ImageReference.parse(configured)
        if parsed.digest is not None or digest_of is None:
            return DeployedImage(reference=configured, configured=configured, pinned=parsed.digest is not None)
        digest = digest_of(configured)
        return DeployedImage(
            reference=pulumi.Output.concat(f"{parsed.repository}:{parsed.tag}@", digest),
            configured=configured,
            pinned=True,
        )

    return {name: resolve(reference) for name, reference in configured.items()}


def built_digests(built: Mapping[str, BuiltImage]) -> DigestOf:
    """The digests of this `up`'s own pushes (`latest` or the version tag of a build)."""
    by_repository = {image.repository: image for image in built.values()}

    def digest_of(configured: str) -> pulumi.Output[str]:
        parsed = ImageReference.parse(configured)
        image = by_repository.get(parsed.repository)
        if image is None or parsed.tag not in ("latest", image.version_tag):
            raise ValueError(f"{configured}: the builds push {sorted(by_repository)} as latest and their version")
        return image.digest

    return digest_of


def registry_digests(reader: docker.Provider) -> DigestOf:
    """What the registry reports for the tag now (Docker's registry data source, through `reader`, a provider with
    the registry's credentials)."""

    import pulumi_docker as docker

    def digest_of(configured: str) -> pulumi.Output[str]:
        found = docker.get_registry_image_output(name=configured, opts=pulumi.InvokeOutputOptions(provider=reader))
        return found.sha256_digest

    return digest_of


def artifact_registry_digests(
    endpoint: str, repository: gcp.artifactregistry.Repository, provider: gcp.Provider
) -> DigestOf:
    """What Artifact Registry holds for the release tag (`getDockerImage`; its `selfLink` ends in the digest)."""

    def digest_of(configured: str) -> pulumi.Output[str]:
        parsed = ImageReference.parse(configured)
        image_name = f"{parsed.repository.removeprefix(endpoint + '/')}:{parsed.tag}"
        found = gcp.artifactregistry.get_docker_image_output(
            project=repository.project,
            location=repository.location,
            repository_id=repository.repository_id,
            image_name=image_name,
            opts=pulumi.InvokeOutputOptions(provider=provider, depends_on=[repository]),
        )
        return found.self_link.apply(lambda link: link.rsplit("@", 1)[1])

    return digest_of
