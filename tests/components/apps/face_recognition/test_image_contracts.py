"""kiban's pods against the images they run (`images/`): ports, writable paths, probes, user, environment, and the
GPU runtime hook. A change to either side that breaks the other fails here."""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path

from tests.components.apps.face_recognition.test_face_api import container_env, declare_face_api
from components.apps.face_recognition.frontend import Frontend, FrontendArgs
from stack_config.face_recognition import FrontendSettings

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
    assert {m["mountPath"] for m in container["volumeMounts"]} >= {"/tmp", "/faceapi/migrations"}
    assert "onnxruntime-gpu" in text and "sitecustomize.py" in text


def test_onnx_sessions_default_to_cuda_where_the_app_names_no_provider(monkeypatch):
    created = {}

    class FakeSession:
        def __init__(self, path, sess_options=None, providers=None, provider_options=None, **kwargs):
            created["providers"] = providers

    fake = types.SimpleNamespace(
        InferenceSession=FakeSession,
        get_available_providers=lambda: ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
    )
    monkeypatch.setitem(sys.modules, "onnxruntime", fake)
    spec = importlib.util.spec_from_file_location("kiban_sitecustomize", IMAGES / "face-api" / "sitecustomize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fake.InferenceSession("/faceapi/model.onnx")  # as the app's loader does: no providers
    assert created["providers"] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    fake.InferenceSession("/faceapi/model.onnx", providers=["CPUExecutionProvider"])
    assert created["providers"] == ["CPUExecutionProvider"], "an explicit choice is kept"
