"""The frontend as the rendered dev stack runs it: the app's frontend built as images/face-frontend/Dockerfile builds
it (kiban's package.json, `pnpm install --frozen-lockfile` with the pinned pnpm, the vite build), served by a real
nginx with kiban's nginx.conf, as the pod's uid, with only the pod's emptyDirs writable.

What differs from the cluster, and why: the machine's Node.js builds (the image's is NODE_IMAGE); the session's nginx (tests/servers.py, from PyPI) instead of the
nginx-unprivileged image (the same configuration language); the image's /etc/nginx/mime.types, which that nginx does
not ship, replaced by the types of the files the build holds, as nginx's own mime.types names them; the image's paths
mapped to this machine's; a free port instead of 8080; and stand-in face models (the Dockerfile downloads the real
ones from GitHub).
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.servers import Nginx
from tests_startup.conftest import Pod, as_pod_user, free_port, read_only, request, wait_for_port, writable, writable_dir
from tools import app_startup

NGINX_CONF = app_startup.FRONTEND_IMAGE / "nginx.conf"
IMMUTABLE = "public, max-age=31536000, immutable"
MIME_TYPES = """types {
    text/html html;
    text/css css;
    application/javascript js;
    application/json json;
    image/svg+xml svg;
    image/x-icon ico;
}
"""
"""The types of what vite's build and the face models hold, as nginx's mime.types (the image's) names them."""


def image_copies() -> dict[str, str]:
    """What the final stage of the Dockerfile copies where: {path in the image: what it is}."""
    text = (app_startup.FRONTEND_IMAGE / "Dockerfile").read_text().split("FROM ${NGINX_IMAGE}")[1]
    return {dest: src for src, dest in re.findall(r"^COPY --from=\S+ (\S+) (\S+)$", text, re.M)}


@dataclass
class Served:
    pod: Pod
    base: str
    models: tuple[str, ...]
    workers: int
    dist: Path


def configuration(pod: Pod, dist: Path, writable_dirs: dict[str, Path], port: int, mime_types: Path) -> str:
    """kiban's nginx.conf with the image's paths as this machine has them; any other absolute path fails."""
    text = re.sub(r"#.*", "", NGINX_CONF.read_text())
    copies = image_copies()
    assert copies["/etc/nginx/nginx.conf"] == "nginx.conf" and copies["/usr/share/nginx/html"] == "/app/dist"
    (listen,) = re.findall(r"^\s*listen (\d+);", text, re.M)
    (container_port,) = [int(p["containerPort"]) for p in pod.container["ports"]]
    assert int(listen) == container_port
    text = re.sub(r"^(\s*)listen \d+;", rf"\1listen 127.0.0.1:{port};", text, flags=re.M)
    mapping = {"/usr/share/nginx/html": str(dist), "/etc/nginx/mime.types": str(mime_types)}
    mapping.update({image: str(here) for image, here in writable_dirs.items()})
    for path in sorted(set(re.findall(r"(?<![\w$])(/[\w./-]+)", text)), key=len, reverse=True):
        if path.startswith(("/dev/std", "/health", "/api", "/assets/", "/index.html")) or path == "/":
            continue
        owner = next((image for image in mapping if path == image or path.startswith(image + "/")), None)
        assert owner, f"nginx.conf uses {path}, which is neither in the image's copies nor a writable mount of the pod"
        text = re.sub(rf"(?<![\w$]){re.escape(path)}(?![\w.-])", mapping[owner] + path[len(owner):], text)
    return text


@pytest.fixture(scope="module")
def served(rendered, nginx_server: Nginx) -> Iterator[Served]:
    pod = rendered.pod("Rollout", "frontend", "frontend")
    build = app_startup.frontend()
    root = Path(tempfile.mkdtemp(prefix="kiban-frontend-"))
    root.chmod(0o755)
    try:
        writable_dirs = {path: writable_dir(pod, root, path.strip("/").replace("/", "-")) for path in pod.writable}
        assert "/tmp" in writable_dirs, "nginx writes its pid and temporary files under /tmp"
        port = free_port()
        etc = root / "etc"
        etc.mkdir()
        (etc / "mime.types").write_text(MIME_TYPES)
        (etc / "nginx.conf").write_text(configuration(pod, build.dist, writable_dirs, port, etc / "mime.types"))
        read_only(etc)
        read_only(build.dist)
        log = root / "nginx.log"
        # The image's CMD; `-e stderr` and `-p` because this nginx's built-in error log and prefix are not the image's.
        argv = [str(nginx_server.binary), "-e", "stderr", "-p", str(writable_dirs["/tmp"]), "-c", str(etc / "nginx.conf"),
                "-g", "daemon off;"]
        log.touch()
        if os.geteuid() == 0:
            os.chown(log, pod.uid, pod.gid)  # nginx reopens /dev/stderr: the pod's own stream, as a container's is
        with log.open("w") as out:
            nginx = subprocess.Popen([*as_pod_user(pod, nginx_server.binary, build.dist, etc), *argv], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_port(port, nginx, 60, log)
            children = subprocess.run(["pgrep", "-P", str(nginx.pid)], capture_output=True, text=True).stdout.split()
            yield Served(pod, f"http://127.0.0.1:{port}", build.stand_in_models, len(children), build.dist)
        finally:
            if nginx.poll() is None:
                os.killpg(nginx.pid, signal.SIGTERM)
            nginx.wait(timeout=30)
    finally:
        writable(build.dist)
        shutil.rmtree(root, ignore_errors=True)


def test_health_answers(served: Served):
    answer = request(f"{served.base}/health")
    assert (answer.status, answer.body) == (200, b"healthy\n")


def test_the_app_and_its_routes_are_the_spa(served: Served):
    index = (served.dist / "index.html").read_bytes()
    for path in ("/", "/login", "/admin/users"):
        answer = request(f"{served.base}{path}")
        assert (answer.status, answer.body) == (200, index), path


def test_the_face_models_are_served(served: Served):
    assert served.models, "the build requires the face models"
    for name in served.models:
        answer = request(f"{served.base}/models/{name}")
        assert answer.status == 200 and answer.body == (served.dist / "models" / name).read_bytes(), name


def test_the_api_is_not_nginxs(served: Served):
    for path in ("/api", "/api/v1/user/login", "/api/v1/health"):
        assert request(f"{served.base}{path}").status == 404, path
    assert request(f"{served.base}/api/v1/user/login", data=b"username=a&password=b").status == 404


def test_one_cache_control_header_and_gzip(served: Served):
    (script,) = [p.name for p in (served.dist / "assets").glob("*.js") if p.stat().st_size > 1024][:1]
    answer = request(f"{served.base}/assets/{script}", headers={"Accept-Encoding": "gzip"})
    assert answer.status == 200 and answer.header_values("Cache-Control") == [IMMUTABLE]
    assert answer.header_values("Content-Encoding") == ["gzip"]
    assert gzip.decompress(answer.body) == (served.dist / "assets" / script).read_bytes()
    assert request(f"{served.base}/").header_values("Cache-Control") == ["no-cache"], "index.html is revalidated"


def test_one_worker_for_a_fraction_of_a_cpu(served: Served):
    assert served.pod.container["resources"]["limits"]["cpu"] == "250m"
    assert served.workers == 1
