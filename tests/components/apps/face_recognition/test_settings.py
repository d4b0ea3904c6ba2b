"""The app declares its own images and GPU workloads once (components/apps/face_recognition/settings.py); the
registry, the builds, the config's checks, the policy pack and the exports read them from there."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from components.apps.face_recognition.settings import GPU_WORKLOADS, AppImages, FaceRecognitionConfig
from policy.rules import Settings
from tools.mock_engine import available_stacks, run_program
from versions import versions

ROOT = Path(__file__).resolve().parents[4]
APP_NAMES = ("face-api", "face_api", "faceApi", "face-frontend")
OUTSIDE_THE_APP = ("components/contracts", "components/kube", "components/data", "components/clusters",
                   "components/platform", "stack_config", "policy")


def named_app_images(path: Path) -> list[str]:
    """String literals (not docstrings) of `path` that name one of the app's images."""
    tree = ast.parse(path.read_text())
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        and any(name in node.value for name in APP_NAMES)
    ]


def test_each_image_names_a_build_that_exists():
    assert AppImages.builds() == {"face_api": "face-api", "frontend": "face-frontend"}
    for build in AppImages.builds().values():
        assert (ROOT / "images" / build / "Dockerfile").is_file()
        assert versions().image_builds.of(build)


def test_no_code_outside_the_app_names_its_images():
    found = [hit for folder in OUTSIDE_THE_APP for path in (ROOT / folder).rglob("*.py") for hit in named_app_images(path)]
    assert found == []


def test_the_check_sees_a_hard_wired_image_name():
    module = ROOT / "components" / "contracts" / "images.py"
    assert named_app_images(module) == []
    probe = ROOT / "tests" / "components" / "apps" / "face_recognition" / "test_settings.py"
    assert any("'face-api'" in hit for hit in named_app_images(probe))


def test_the_policy_pack_allows_gpus_to_exactly_the_apps_gpu_workloads():
    assert tuple(Settings().gpu_workloads) == GPU_WORKLOADS
    demand = FaceRecognitionConfig(gpu=True, backend={"onnxRuntime": "cuda"}).gpu_demand()
    assert {name.split(" ")[0] for name in demand} == set(GPU_WORKLOADS)


@pytest.mark.parametrize("stack", available_stacks())
def test_the_stack_exports_every_image_the_app_declares(stack):
    exported = run_program(stack).outputs["images"]
    assert sorted(exported) == sorted(AppImages.model_fields[name].alias for name in AppImages.builds())
