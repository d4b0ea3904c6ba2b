"""kiban's pods against the images they run (`images/`): ports, writable paths, probes, user, environment, and the
GPU runtime hook. A change to either side that breaks the other fails here."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

from tests.components.apps.face_recognition.test_face_api import container_env, declare_face_api
from components.apps.face_recognition.frontend import Frontend, FrontendArgs
from components.apps.face_recognition.settings import FrontendSettings
from versions import versions

IMAGES = Path(__file__).resolve().parents[4] / "images"


def dockerfile(name: str) -> str:
    return (IMAGES / name / "Dockerfile").read_text()


def exposed(text: str) -> int:
    (port,) = re.findall(r"^EXPOSE (\d+)$", text, re.M)
    return int(port)


def frontend_pod(declare):
    deployment = declare(
        lambda opts: Frontend(
            "frontend",
            FrontendArgs(namespace="face-recognition", part_of="face-recognition", image="r/face-frontend:1.0.0",
                         settings=FrontendSettings()),
            opts,
        )
    )
    return deployment.object("Deployment", "frontend")["spec"]["template"]["spec"]


def test_the_frontend_pod_meets_kibans_frontend_image(declare):
    nginx = (IMAGES / "face-frontend" / "nginx.conf").read_text()
    (listen,) = re.findall(r"^\s*listen (\d+);", nginx, re.M)
    (container,) = frontend_pod(declare)["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": int(listen)}]
    assert exposed(dockerfile("face-frontend")) == int(listen) == 8080
    assert "location = /health" in nginx
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    writable = {m["mountPath"] for m in container["volumeMounts"]}
    written = re.findall(r"^\s*(?:pid|\w+_temp_path) (/[^;\s]+);", nginx, re.M)
    assert written and all(any(path.startswith(w + "/") for w in writable) for path in written), (written, writable)
    assert "/var/cache/nginx" in writable, "the unprivileged nginx image's cache directory"
    assert "env" not in container, "the image needs no environment"
    assert "proxy_pass" not in nginx, "no /api proxy: the Ingress routes /api"
    assert re.search(r"^USER 101$", dockerfile("face-frontend"), re.M)


def test_the_backend_pod_meets_kibans_backend_image(declare):
    container, env = container_env(declare_face_api(declare))
    text = dockerfile("face-api")
    assert exposed(text) == container["ports"][0]["containerPort"] == 8000
    (cmd,) = re.findall(r"^CMD (\[.*\])$", text, re.M)
    assert container["command"][0] == "faceapi" and '"faceapi"' in cmd, "the image's own entry point"
    assert re.search(r"^USER \d+$", text, re.M), "a numeric non-root user"
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp"}
    assert "python /tmp/bake_migrations.py" in text, "the migrations are in the image: nothing written under /faceapi"


def locked() -> dict[str, str]:
    """images/face-api/requirements.lock as {package: version}, each entry checked to be exact and hashed."""
    text = (IMAGES / "face-api" / "requirements.lock").read_text()
    entries = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M)
    names = re.findall(r"^([A-Za-z0-9_.-]+)", text, re.M)
    assert len(entries) == len(names) > 0, "every requirement pinned exactly, with its hashes"
    return {name.lower(): version for name, version, _ in entries}


def test_the_backend_image_carries_what_onnx_runtime_needs_to_run_on_cuda():
    text = dockerfile("face-api")
    pinned = versions().image_builds.face_api
    (base,) = re.findall(r"^FROM \$\{(\w+)\}$", text, re.M)
    # onnxruntime-gpu 1.19 to 1.22 on PyPI are CUDA 12 / cuDNN 9 builds: without those libraries on the image the
    # CUDA provider fails to load and every session runs on the CPU.
    assert re.fullmatch(r"docker\.io/nvidia/cuda:12\.[\d.]+-cudnn-runtime-ubuntu24\.04", pinned[base]), pinned[base]
    packages = locked()
    assert re.fullmatch(r"1\.(19|2[0-2])\.\d+", packages["onnxruntime-gpu"]), "a CUDA 12 build of ONNX Runtime"
    assert "onnxruntime" not in packages, "the CPU-only runtime would shadow the CUDA one"
    assert int(packages["numpy"].split(".")[0]) < 2, "the app asks for numpy<2"
    wanted = (IMAGES / "face-api" / "requirements.in").read_text()
    assert f"onnxruntime-gpu=={packages['onnxruntime-gpu']}" in wanted, "the lock resolves requirements.in"


def test_the_backend_image_installs_exactly_the_lock_before_the_app():
    text = dockerfile("face-api")
    assert "COPY --from=kiban requirements.lock /tmp/requirements.lock" in text
    assert "pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock" in text
    assert "pip install --no-cache-dir --no-deps --no-build-isolation -e ." in text, "the app adds no package"
    assert "pip check" in text, "a lock that no longer covers the app fails the build"
    assert "setuptools" in locked(), "the app's build backend, for the install without build isolation"
    # The ~450 MB dependency layer first: a new app commit changes only the layers after it.
    assert text.index("--require-hashes -r /tmp/requirements.lock") < text.index("COPY backend/")


def test_the_lock_pairs_aerich_with_a_tortoise_orm_it_supports():
    packages = locked()
    # init_sql.py uses `async with Command(...)`, which aerich has from 0.9; aerich 0.9 needs tortoise-orm<1.
    aerich = tuple(int(n) for n in packages["aerich"].split(".")[:2])
    assert aerich >= (0, 9) and int(packages["tortoise-orm"].split(".")[0]) < 1, packages
    assert "tortoise-orm<1" in (IMAGES / "face-api" / "requirements.in").read_text().splitlines()


def test_the_backend_image_keeps_its_hook_and_model_where_the_app_reads_them():
    text = dockerfile("face-api")
    instructions = [line for line in text.splitlines() if not line.startswith("#")]
    assert not [line for line in instructions if "requirements.txt" in line], (
        "the app's requirements.txt pins numpy 1.24.2: no build for Python 3.12"
    )
    (venv,) = re.findall(r"PATH=(/\S+)/bin:\$PATH", text)
    (files, into) = hook_copy(text)
    assert into == f"{venv}/lib/python3.12/site-packages/" and set(files) == {"kiban_onnx_cuda.py", "kiban_onnx_cuda.pth"}
    assert (IMAGES / "face-api" / "kiban_onnx_cuda.pth").read_text() == "import kiban_onnx_cuda\n"
    model = re.search(r"^ADD (?:--chmod=(\d+) )?\S+ /faceapi/model\.onnx$", text, re.M)
    assert model and model.group(1) and int(model.group(1)[-1]) & 4, "the model readable by the non-root user"


def hook_copy(text: str) -> tuple[list[str], str]:
    """What the backend's Dockerfile copies from kiban's folder into its venv's site-packages, and where."""
    (copy,) = [line.split()[2:] for line in text.splitlines() if line.startswith("COPY --from=kiban") and "site-packages" in line]
    return copy[:-1], copy[-1]


DEBIAN_PYTHON = Path("/usr/bin/python3")
"""The distribution's Python: Debian's on a Debian machine, Ubuntu's on CI's runner and in the backend image."""


def test_a_debian_or_ubuntu_python_imports_the_onnx_hook_where_the_image_puts_it(tmp_path):
    # Debian's and Ubuntu's Python ship /usr/lib/python3.X/sitecustomize.py, which comes before a venv's
    # site-packages: a sitecustomize.py copied there is never imported. Checked with the machine's own Python.
    stdlib = subprocess.run(
        [str(DEBIAN_PYTHON), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert (Path(stdlib) / "sitecustomize.py").exists(), f"{DEBIAN_PYTHON} is not a Debian or Ubuntu Python"
    venv = tmp_path / "venv"
    subprocess.run([str(DEBIAN_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
    (site_packages,) = venv.glob("lib/python3.*/site-packages")
    files, _ = hook_copy(dockerfile("face-api"))
    for name in files:
        shutil.copy(IMAGES / "face-api" / name, site_packages / name)
    loaded = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import json, sys; print(json.dumps([getattr(m, '__file__', None) for m in list(sys.modules.values())]))"],
        capture_output=True, text=True, check=True,
    )
    hooks = {str(site_packages / name) for name in files if name.endswith(".py")}
    assert hooks and hooks <= set(json.loads(loaded.stdout)), "kiban's hook is imported at the interpreter's start"


def test_the_frontend_image_builds_from_what_the_app_repository_really_has():
    text = dockerfile("face-frontend")
    package = json.loads((IMAGES / "face-frontend" / "package.json").read_text())
    # The app's repository ignores frontend/package.json: kiban's stands in for it.
    assert "COPY --from=kiban package.json ./" in text and "COPY frontend/package" not in text
    # After the app's files: a checkout that holds a package.json of its own (git-ignored there) does not replace it.
    assert text.index("COPY frontend/ .") < text.index("COPY --from=kiban package.json ./") < text.index("pnpm install")
    assert package["scripts"]["build"] == "vite build"
    # The face models go to public/models under the build's root, so vite ships them (their pins and checksums:
    # tests/test_model_downloads.py).
    (workdir,) = re.findall(r"^WORKDIR (\S+)$", text.split("FROM ${NGINX_IMAGE}")[0], re.M)
    assert workdir == "/app" and "-O public/models/tiny_face_detector_model-shard1" in text
    assert re.search(r'VITE_API_BASE_URL=""', text), "the API on the same origin"


def load_hook(monkeypatch, cuda_loads: dict):
    created = {}

    class FakeSession:
        def __init__(self, path, sess_options=None, providers=None, provider_options=None, **kwargs):
            created["providers"] = providers
            # ONNX Runtime drops a provider it cannot load (no GPU, no CUDA libraries) and runs on the rest; without
            # providers, onnxruntime-gpu 1.22 runs on the CPU.
            names = [p[0] if isinstance(p, tuple) else p for p in providers or ["CPUExecutionProvider"]]
            self._used = [p for p in names if cuda_loads["ok"] or p != "CUDAExecutionProvider"]

        def get_providers(self):
            return self._used

    fake = types.SimpleNamespace(InferenceSession=FakeSession)
    monkeypatch.setitem(sys.modules, "onnxruntime", fake)
    spec = importlib.util.spec_from_file_location("kiban_onnx_cuda", IMAGES / "face-api" / "kiban_onnx_cuda.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    return fake, created


def test_onnx_sessions_run_where_model_device_says(monkeypatch, capsys):
    cuda_loads = {"ok": True}
    fake, created = load_hook(monkeypatch, cuda_loads)
    monkeypatch.setenv("MODEL_DEVICE", "cuda:1")
    fake.InferenceSession("/faceapi/model.onnx")  # as the app's loader does: no providers
    assert created["providers"] == [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
    assert capsys.readouterr().err == ""
    fake.InferenceSession("/faceapi/model.onnx", providers=["CPUExecutionProvider"])
    assert created["providers"] == ["CPUExecutionProvider"], "an explicit choice is kept"
    assert capsys.readouterr().err == "", "a CPU session asked for is no surprise"
    cuda_loads["ok"] = False
    fake.InferenceSession("/faceapi/model.onnx")
    assert "was asked for CUDA (MODEL_DEVICE=cuda:1)" in capsys.readouterr().err, "a GPU pod on the CPU says so"
    monkeypatch.setenv("MODEL_DEVICE", "cpu")
    fake.InferenceSession("/faceapi/model.onnx")
    assert created["providers"] is None and capsys.readouterr().err == "", "the setup Job's CPU session, as asked"
