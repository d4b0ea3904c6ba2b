"""versions.json is the one place where kiban's own Dockerfiles get their base images and build tools: every
`FROM` names a build argument or an earlier stage, every build argument a Dockerfile declares is pinned there for
it and nothing else is, and what is pinned is an exact release."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from versions import versions

IMAGES = Path(__file__).resolve().parent.parent / "images"
DOCKERFILES = sorted(IMAGES.glob("*/Dockerfile"))
EXACT_IMAGE = re.compile(r"[a-z0-9.-]+\.[a-z]+/[a-z0-9._/-]+:v?\d+\.\d+(\.\d+)?[A-Za-z0-9._-]*(@sha256:[0-9a-f]{64})?")
"""A fully qualified reference with a version tag, and maybe its digest: `docker.io/library/node:24.11.1-alpine`."""
EXACT_VERSION = re.compile(r"\d+\.\d+\.\d+")


def declared_args(text: str) -> set[str]:
    return set(re.findall(r"^ARG (\w+)\s*$", text, re.M))


def base_images(text: str) -> list[str]:
    return re.findall(r"^FROM (\S+)", text, re.M)


def stages(text: str) -> set[str]:
    return set(re.findall(r"^FROM \S+ AS (\S+)", text, re.M))


def test_there_are_dockerfiles_to_check():
    assert {path.parent.name for path in DOCKERFILES} == {"face-api", "face-frontend", "registry"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_every_base_image_comes_from_a_pinned_build_argument(dockerfile: Path):
    text = dockerfile.read_text()
    pinned = versions().image_builds.of(dockerfile.parent.name)
    assert declared_args(text) == set(pinned), "the Dockerfile's ARGs and versions.json's pins for it differ"
    for base in base_images(text):
        argument = re.fullmatch(r"\$\{(\w+)\}", base)
        assert argument or base in stages(text), f"FROM {base}: name a pinned build argument, not an image"
        if argument:
            assert EXACT_IMAGE.fullmatch(pinned[argument.group(1)]), pinned[argument.group(1)]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_every_tool_version_a_dockerfile_installs_is_a_pinned_build_argument(dockerfile: Path):
    text = dockerfile.read_text()
    pinned = versions().image_builds.of(dockerfile.parent.name)
    installs = re.findall(r"(?:pip install|npm install)[^\n&]*", text)
    for command in installs:
        for package in re.findall(r"[\w.-]+(?:==|@)(\S+?)\"?(?:\s|$)", command):
            assert re.fullmatch(r"\$\{\w+\}", package), f"{command}: a version written in the Dockerfile"
    for name, value in pinned.items():
        if name.endswith("_VERSION"):
            assert EXACT_VERSION.fullmatch(value), f"{name}={value}: an exact release"


def test_an_image_without_pins_is_refused_by_name():
    with pytest.raises(KeyError, match="images/yomu"):
        versions().image_builds.of("yomu")
