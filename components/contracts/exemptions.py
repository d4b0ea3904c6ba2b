"""Scanner exemptions: one format, written onto the object they concern, read by checkov and by kiban's policy pack.

An exemption names a check (checkov's `CKV_K8S_NN`) and why it does not apply. On the object it is the annotation
`checkov.io/skipN: CKV_K8S_NN=<reason>`, which checkov honours itself; `exemptions_of` reads the same annotations
back for anything else that checks the object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from components.contracts.images import Image, configured_tag, is_pinned

ANNOTATION_PREFIX = "checkov.io/skip"
_ANNOTATION = re.compile(r"(?P<check>[A-Z0-9_]+)=(?P<reason>.+)", re.S)


@dataclass(frozen=True)
class ScannerExemption:
    """A scanner check that does not apply to one object, with the reason, written onto the object itself."""

    check_id: str
    reason: str

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError(f"{self.check_id}: an exemption needs its reason")
        if "=" in self.reason:  # checkov splits the annotation on '=' and crashes on a second one
            raise ValueError(f"{self.check_id}: a scanner exemption reason cannot contain '='")


def exemption_annotations(exemptions: Sequence[ScannerExemption]) -> dict[str, str]:
    """Checkov's per-object skip annotations (`checkov.io/skipN: CKV_K8S_NN=reason`)."""
    return {f"{ANNOTATION_PREFIX}{i}": f"{e.check_id}={e.reason}" for i, e in enumerate(exemptions, start=1)}


def scanner_annotations(images: Sequence[Image], exemptions: Sequence[ScannerExemption]) -> dict[str, str] | None:
    """The skip annotations of a pod-bearing object: its images' exemptions, then the caller's (`None` if none)."""
    return exemption_annotations([*image_exemptions(images), *exemptions]) or None


def image_exemptions(images: Sequence[Image]) -> list[ScannerExemption]:
    """The image checks a workload's images knowingly fail, each with its reason, written in one place."""
    exemptions = []
    if any(configured_tag(i) == "latest" and not is_pinned(i) for i in images):
        exemptions.append(
            ScannerExemption(
                "CKV_K8S_14",
                "a development stack follows the mutable latest tag on purpose (kiban:images.allowMutableTags); stacks "
                "without that setting refuse latest at config load",
            )
        )
    if not all(is_pinned(i) for i in images):
        exemptions.append(
            ScannerExemption(
                "CKV_K8S_43",
                "pinned by version tag in versions.json or stack config; digests are not resolved offline",
            )
        )
    return exemptions


def exemptions_of(annotations: Mapping[str, str] | None) -> list[ScannerExemption]:
    """The exemptions written on an object (its `checkov.io/skipN` annotations), in order."""
    found = []
    for key, value in sorted((annotations or {}).items()):
        if key.startswith(ANNOTATION_PREFIX):
            match = _ANNOTATION.fullmatch(str(value))
            if match is None:
                raise ValueError(f"{key}: {value!r} is not CHECK_ID=reason")
            found.append(ScannerExemption(match["check"], match["reason"]))
    return found
