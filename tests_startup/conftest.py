"""The application's start-up, run for real from the pod specs the program renders (`make test-startup`).

Slow the first time (the backend's ~1 GB environment, the frontend's pnpm install and vite build), cached under
.tools/ by what goes into each, so a warm run starts the servers only. Not part of `make test`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.mock_engine import Deployment, run_program  # noqa: E402
from tools.manifests import pod_spec  # noqa: E402
# The suite's real servers, one per session (tests/servers.py), and the header that says which ran.
from tests.conftest import nginx_server, postgresql_server, pytest_report_header  # noqa: E402, F401

STACK = "dev"
"""The stack whose pods start here: dev runs the backend on a GPU, which this machine does not have."""
NAMESPACE = "face-recognition"
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"
"""How the Pulumi SDK marks a secret value (`{sig: ..., value: ...}`) in a mocked resource's inputs."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode} before listening:\n{log.read_text()[-4000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise AssertionError(f"not listening on {port} after {seconds}s:\n{log.read_text()[-4000:]}")


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


def request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None, method: str | None = None) -> Response:
    """One HTTP request; an error status is an answer, not an exception."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:
            return Response(answer.status, list(answer.headers.items()), answer.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, list(error.headers.items()), error.read())


# The rendered pods -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pod:
    """One container of a rendered pod, as the cluster would run it."""

    container: dict
    spec: dict
    secrets: dict[str, dict[str, str]]

    @property
    def uid(self) -> int:
        context = {**self.spec.get("securityContext", {}), **self.container.get("securityContext", {})}
        return int(context["runAsUser"])

    @property
    def gid(self) -> int:
        context = {**self.spec.get("securityContext", {}), **self.container.get("securityContext", {})}
        return int(context["runAsGroup"])

    @property
    def read_only_root(self) -> bool:
        return bool(self.container["securityContext"].get("readOnlyRootFilesystem"))

    @property
    def writable(self) -> list[str]:
        """The container's mounts of emptyDirs: the only paths it may write."""
        empty = {v["name"] for v in self.spec.get("volumes", []) if "emptyDir" in v}
        return sorted(m["mountPath"] for m in self.container.get("volumeMounts", []) if m["name"] in empty)

    def env(self) -> dict[str, str]:
        """The container's environment, secret references resolved from the rendered Secrets."""
        resolved = {}
        for var in self.container.get("env", []):
            if "value" in var:
                resolved[var["name"]] = var["value"]
            else:
                ref = var["valueFrom"]["secretKeyRef"]
                resolved[var["name"]] = self.secrets[ref["name"]][ref["key"]]
        return resolved


def _unwrap(value):
    return value["value"] if isinstance(value, dict) and SECRET_SIGNATURE in value else value


@dataclass(frozen=True)
class Rendered:
    deployment: Deployment

    def _secrets(self) -> dict[str, dict[str, str]]:
        secrets = {}
        for obj in self.deployment.objects("Secret"):
            if obj["metadata"].get("namespace") == NAMESPACE:
                data = _unwrap(obj.get("stringData", {}))
                secrets[obj["metadata"]["name"]] = {k: _unwrap(v) for k, v in data.items()}
        return secrets

    def pod(self, kind: str, name_prefix: str, container: str) -> Pod:
        (obj,) = [
            o
            for o in self.deployment.objects(kind)
            if o["metadata"].get("namespace") == NAMESPACE and o["metadata"]["name"].startswith(name_prefix)
        ]
        spec = pod_spec(obj)
        (found,) = [c for c in spec["containers"] if c["name"] == container]
        return Pod(container=found, spec=spec, secrets=self._secrets())


@pytest.fixture(scope="session")
def rendered() -> Rendered:
    return Rendered(run_program(STACK))


# Running as the pod's user ---------------------------------------------------------------------------------------


def _unsearchable_ancestor(path: Path) -> bool:
    return any(not (parent.stat().st_mode & 0o001) for parent in (*path.parents, *path.resolve().parents))


def as_pod_user(pod: Pod, *reads: Path) -> list[str]:
    """The command prefix that runs a process as the pod's uid and gid.

    As root, `setpriv` drops to them. Where what the process reads (`reads`: its interpreter or binary, what it
    serves) lies under a directory other users cannot enter (pyenv's Python or a checkout under /root), the process
    keeps CAP_DAC_READ_SEARCH alone, which lets it read and search, never write. Not as root (CI's runner), the
    process runs as this user, who is not root either.
    """
    if os.geteuid() != 0:
        return []
    caps = []
    if any(_unsearchable_ancestor(path) for path in reads):
        caps = ["--inh-caps", "+dac_read_search", "--ambient-caps", "+dac_read_search"]
    return ["setpriv", f"--reuid={pod.uid}", f"--regid={pod.gid}", "--clear-groups", *caps, "--"]


def writable_dir(pod: Pod, parent: Path, name: str) -> Path:
    """An empty directory the pod's user may write (an emptyDir)."""
    path = parent / name
    path.mkdir(parents=True)
    if os.geteuid() == 0:
        os.chown(path, pod.uid, pod.gid)
    return path


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A directory every user can enter (pytest's tmp_path is private to its owner, and the pods run as another)."""
    path = Path(tempfile.mkdtemp(prefix="kiban-startup-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def read_only(directory: Path) -> None:
    for path in (directory, *directory.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~0o222)


def writable(directory: Path) -> None:
    for path in (directory, *directory.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
