"""versions.json is the one place where kiban's own Dockerfiles get their base images and build tools: every
`FROM` names a build argument or an earlier stage, every build argument a Dockerfile declares is pinned there for
it and nothing else is, and what is pinned is an exact release."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import pytest
import yaml

from tools.helm import unknown_value_keys
from versions import AppRelease, versions

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


WITHDRAWN_BEFORE = (
    # What versions.json pinned for Milvus's object store until 2026-12-06: both repositories were deleted from
    # Docker Hub on 2026-09-12.
    "docker.io/minio/minio:RELEASE.2024-12-18T13-15-44Z",
    "docker.io/minio/mc:RELEASE.2024-11-21T17-21-54Z",
)


@pytest.mark.parametrize("reference", [
    *WITHDRAWN_BEFORE,
    "minio/mc:RELEASE.2024-11-21T17-21-54Z",  # a chart's short Docker Hub name is the same repository
    "index.docker.io/minio/minio:latest",
    "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
    "docker.io/bitnami/redis:7.4.2-debian-12-r0",
    "bitnami/postgresql:17",
    "docker.io/bitnamilegacy/minio:2025.7.23",
])
def test_a_withdrawn_repository_is_refused_with_why(reference: str):
    why = versions().withdrawn_images.why(reference)
    assert why and re.search(r"\d{4}-\d{2}", why), f"{reference}: refused, with the date it was withdrawn"


@pytest.mark.parametrize("reference", [
    "docker.io/pgsty/silo:RELEASE.2026-09-16T00-00-00Z",
    "docker.io/bitnamisecure/redis:latest",  # another namespace, not Bitnami's withdrawn catalog
    "quay.io/coreos/etcd:v3.5.25",
    "busybox:1.37.0",
])
def test_a_repository_that_is_not_withdrawn_passes(reference: str):
    assert versions().withdrawn_images.why(reference) is None


def test_every_withdrawn_repository_names_its_source_and_date():
    for repository, why in versions().withdrawn_images.repositories.items():
        assert re.fullmatch(r"[a-z0-9.-]+\.[a-z]+(:\d+)?/[a-z0-9._/-]+(/\*)?", repository), repository
        assert re.search(r"\d{4}-\d{2}", why) and re.search(r"[\w.-]+/[\w.-]+(#\d+|\.md)", why), (
            f"{repository}: say when and where it was read")


CHARTS = versions().charts


def archive_app_version(archive: Path) -> str:
    with tarfile.open(archive) as chart:
        top = chart.getnames()[0].split("/")[0]
        return yaml.safe_load(chart.extractfile(f"{top}/Chart.yaml"))["appVersion"]


def release_numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("v").split("."))


@pytest.mark.parametrize("name", ["argo_cd", "argo_rollouts"])
def test_an_app_release_is_a_newer_patch_of_the_archives_line_set_through_its_own_values(name: str):
    """appRelease runs a patch release the vendored archive lacks (versions.json says which fixes), never another
    line: the archive's templates were written for its own major and minor."""
    chart = getattr(CHARTS, name)
    archived, pinned = release_numbers(archive_app_version(chart.archive)), release_numbers(chart.app_release.version)
    assert pinned[:2] == archived[:2] and pinned > archived, (chart.app_release.version, archived)
    assert unknown_value_keys(chart.archive, chart.app_release_values()) == [], "image-tag values the chart defines"


def test_an_app_release_sets_every_image_tag_value_and_nothing_else():
    assert CHARTS.argo_cd.app_release_values() == {"global": {"image": {"tag": "v3.4.15"}}}
    assert CHARTS.cloudnative_pg.app_release_values() == {}, "no appRelease: the archive's own appVersion"


def test_an_app_release_of_another_form_is_refused():
    with pytest.raises(ValueError, match="version"):
        AppRelease.model_validate({"version": "3.4", "imageTagValues": ["image.tag"], "$comment": "why"})
    with pytest.raises(ValueError, match="imageTagValues"):
        AppRelease.model_validate({"version": "v3.4.15", "imageTagValues": [], "$comment": "why"})
