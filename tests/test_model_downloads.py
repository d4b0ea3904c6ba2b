"""What kiban's Dockerfiles download from the internet is pinned and checked where its source can be read: the
frontend's face models from one commit of face-api.js, each against its SHA-256 in versions.json. The download
step itself runs here (with a stand-in `wget` serving local files): it passes with the pinned checksums and fails
the build on a changed file. What cannot be checked yet is named in images/README.md."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from versions import versions

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "images"
UNVERIFIED = {
    # URL: why it is not checked yet (images/README.md says the same)
    "https://github.com/lijunjie2232/faceapi/releases/download/v1.0.0/model_s3_v1.onnx":
        "a GitHub release asset, which cannot be read from where kiban is developed: its checksum is unknown",
}


def run_instructions(dockerfile: Path) -> list[str]:
    """Every RUN and ADD instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    return [line for line in text.splitlines() if line.startswith(("RUN ", "ADD "))]


def test_every_download_is_pinned_and_checked_or_named_as_unverified():
    downloads = 0
    readme = (IMAGES / "README.md").read_text()
    for dockerfile in sorted(IMAGES.glob("*/Dockerfile")):
        args = versions().image_builds.of(dockerfile.parent.name)
        for instruction in run_instructions(dockerfile):
            for url in re.findall(r"https?://[^\s\"']+", instruction):
                downloads += 1
                if url in UNVERIFIED:
                    assert url in readme, f"{url}: images/README.md says it is unverified, and why"
                    continue
                commit = re.search(r"\$\{(\w+_COMMIT)\}", url)
                assert commit and re.fullmatch(r"[0-9a-f]{40}", args[commit.group(1)]), f"{url}: from one commit"
                checked = re.findall(r"\"\$(\w+_SHA256)\"", instruction)
                assert checked and "sha256sum -c" in instruction, f"{url}: checked against a pinned SHA-256"
                assert all(re.fullmatch(r"[0-9a-f]{64}", args[name]) for name in checked)
    assert downloads >= 2


def download_step() -> str:
    (step,) = [i for i in run_instructions(IMAGES / "face-frontend" / "Dockerfile") if "sha256sum -c" in i]
    return step.removeprefix("RUN ")


def run_download(tmp_path: Path, served: dict[str, bytes]) -> subprocess.CompletedProcess:
    """The frontend's download step under `sh`, with a `wget` that serves `served` by file name and a `pnpm` that
    does nothing, and the pinned build arguments in the environment."""
    www, bin_dir, work = tmp_path / "www", tmp_path / "bin", tmp_path / "app"
    for directory in (www, bin_dir, work):
        directory.mkdir()
    for name, content in served.items():
        (www / name).write_bytes(content)
    fakes = {
        "wget": f'#!/bin/sh\n# wget -q -O OUT URL\ncase "$4" in */{versions().image_builds.of("face-frontend")["FACE_MODELS_COMMIT"]}/weights/*) ;; *) exit 8;; esac\n'
                f'cp "{www}/$(basename "$4")" "$3"\n',
        "pnpm": "#!/bin/sh\nexit 0\n",
    }
    for name, script in fakes.items():
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(stat.S_IRWXU)
    env = {**os.environ, **versions().image_builds.of("face-frontend"), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    # Build arguments are substituted by the shell as the Dockerfile's RUN does (they are environment variables).
    return subprocess.run(["sh", "-c", download_step()], cwd=work, env=env, capture_output=True, text=True)


MANIFEST, SHARD = "tiny_face_detector_model-weights_manifest.json", "tiny_face_detector_model-shard1"


@pytest.fixture
def pinned_files(monkeypatch) -> dict[str, bytes]:
    """Files whose SHA-256s stand in for the pinned ones (the real models cannot be fetched here)."""
    files = {MANIFEST: b'[{"weights": []}]', SHARD: bytes(range(256)) * 4}
    args = dict(versions().image_builds.of("face-frontend"))
    args["TINY_FACE_DETECTOR_MANIFEST_SHA256"] = hashlib.sha256(files[MANIFEST]).hexdigest()
    args["TINY_FACE_DETECTOR_SHARD1_SHA256"] = hashlib.sha256(files[SHARD]).hexdigest()
    original = versions().image_builds.of
    monkeypatch.setattr(type(versions().image_builds), "of",
                        lambda self, image: args if image == "face-frontend" else original(image))
    return files


def test_the_download_step_passes_with_the_pinned_files(tmp_path, pinned_files):
    result = run_download(tmp_path, pinned_files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "app" / "public" / "models" / SHARD).read_bytes() == pinned_files[SHARD]


def test_the_download_step_fails_the_build_on_a_changed_file(tmp_path, pinned_files):
    result = run_download(tmp_path, {**pinned_files, SHARD: pinned_files[SHARD] + b"\0"})
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr
