"""The images capability: the registry with the images resolved only once they can exist, kiban's CA only where
the build PC's registry makes one, and which stacks need a foundation phase first."""

from __future__ import annotations

import pytest

from capabilities.images import OwnImages, needs_foundation, registry_and_images
from stack_config import load_stack_config
from tools.mock_engine import run_under_mocks, stack_config
from versions import versions


def composed(stack: str, overrides: dict | None = None) -> OwnImages:
    from capabilities.cloud import cloud

    found: list[OwnImages] = []

    def program() -> None:
        config = load_stack_config()
        found.append(registry_and_images(config, cloud(config.stack, versions()), versions()))

    run_under_mocks(program, stack=stack, config=stack_config(stack, overrides))
    return found[0]


def test_the_build_pc_registry_brings_kibans_ca_and_its_tls_provider():
    dev = composed("dev")
    assert dev.ca is not None and dev.registry.build_pc is not None
    assert dev.ca.authority is dev.registry.build_pc.certificate_authority
    assert dev.registry.images is not None and set(dev.registry.images) == {"face_api", "frontend"}


def test_artifact_registry_has_no_ca():
    prod = composed("prod")
    assert prod.ca is None and prod.registry.build_pc is None
    assert prod.registry.images is not None


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_foundation_reads_no_image(stack):
    foundation = composed(stack, {"kiban:phase": "foundation"})
    assert foundation.registry.images is None  # pushed after the foundation: no digest read before they exist


@pytest.mark.parametrize(("stack", "registry", "needed"), [
    ("dev", None, True),  # the build PC's registry, created by the first up
    ("prod", None, True),  # Artifact Registry, created by the first up, pushed to by the release workflow
    ("prod", {"kind": "external"}, False),  # images that exist before kiban runs
])
def test_which_stacks_need_a_foundation_first(stack, registry, needed):
    overrides = {"kiban:registry": registry} if registry else {}
    found: list[bool] = []
    run_under_mocks(lambda: found.append(needs_foundation(load_stack_config().stack)), stack=stack,
                    config=stack_config(stack, overrides))
    assert found == [needed]
