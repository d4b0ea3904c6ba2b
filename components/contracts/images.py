"""Image references: parsed once here, for the config that accepts them and the components that deploy them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Union

import pulumi

_IMAGE = re.compile(
    r"(?P<repository>[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*)"
    r"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(@(?P<digest>sha256:[a-f0-9]{64}))?"
)

VERSION_TAG = re.compile(r"v?\d+(\.\d+){0,2}([-+][0-9A-Za-z][0-9A-Za-z.-]*)?")
"""A release tag: semver, optionally `v`-prefixed, with a pre-release or build suffix (`1.4.2`, `v2.0.0-rc.1`).
The stack config deploys only these unless mutable tags are allowed, and the policy pack counts them as pinned."""


@dataclass(frozen=True)
class ImageReference:
    """`registry/repository[:tag][@sha256:digest]`, split into its parts."""

    repository: str
    """Registry host (with port) and path, e.g. `registry.homelab.internal:5000/face-api`."""

    tag: str | None = None
    """The tag, or `None` when there is none."""

    digest: str | None = None
    """`sha256:<64 hex>`, or `None` when the reference is not pinned by digest."""

    @classmethod
    def parse(cls, reference: str) -> "ImageReference":
        """Split `reference`; raises `ValueError` when it is not an image reference (the whole string must match:
        a trailing newline is not part of any reference)."""
        match = _IMAGE.fullmatch(reference)
        if match is None:
            raise ValueError(
                f"{reference!r} is not an image reference; write registry/repository:tag or ...@sha256:<digest>"
            )
        return cls(repository=match["repository"], tag=match["tag"], digest=match["digest"])

    def __str__(self) -> str:
        return self.repository + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def image_tag(reference: str) -> str | None:
    """The tag of an image reference (`None` when it has none, or when `reference` is not one)."""
    try:
        return ImageReference.parse(reference).tag
    except ValueError:
        return None


def image_digest(reference: str) -> str | None:
    """The digest of an image reference (`None` when it has none, or when `reference` is not one)."""
    try:
        return ImageReference.parse(reference).digest
    except ValueError:
        return None


@dataclass(frozen=True)
class DeployedImage:
    """One of kiban's own images as the workloads run it, resolved once (in `__main__`) from the stack's config and
    its registry: dev's `latest` becomes the digest it points to at `up`, prod's release tag is pinned to its
    digest where the registry can be read."""

    reference: pulumi.Input[str]
    """What the pods run: `repository:tag@sha256:...` once resolved (an `Output` while the digest is being read or
    built), or the configured reference when it cannot be pinned."""

    configured: str
    """The reference as written in stack config (`repository:tag`), for the rules that read tags."""

    pinned: bool
    """Whether `reference` carries a digest, known when the program is declared."""


Image = Union[str, DeployedImage]
"""An image a container runs: a pinned third-party reference (plain text) or one of kiban's resolved images."""


def image_reference(image: Image) -> pulumi.Input[str]:
    """The reference a container spec carries."""
    return image.reference if isinstance(image, DeployedImage) else image


def is_pinned(image: Image) -> bool:
    """Whether the image is pulled by digest."""
    return image.pinned if isinstance(image, DeployedImage) else image_digest(image) is not None


def configured_tag(image: Image) -> str | None:
    """The tag the image was asked for (`latest`, `1.0.0`), before any digest was resolved."""
    return image_tag(image.configured if isinstance(image, DeployedImage) else image)


OwnImages = Mapping[str, DeployedImage]
"""kiban's own images of a stack, each resolved once from the stack's registry, by the name the application that
runs them gives them (its settings declare them)."""
