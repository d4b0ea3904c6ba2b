"""The backend starts as the rendered dev stack runs it: the setup Job's command, then the server's, each with its
pod's environment (secrets from the rendered Secret), arguments, uid and writable paths, in the image's environment
as images/face-api/Dockerfile builds it (requirements.lock hash-checked into Python 3.12, the app at the pinned
commit), with the app's directory read-only.

Real servers: the session's PostgreSQL (a database with the rendered owner, name and password) and Milvus Lite, a Milvus
gRPC server from PyPI that the app's own pymilvus client talks to at a host and port. What differs from the cluster,
and why: the stores' host and port and the server's listen address point at this machine; the model is a stand-in
with the real one's input and output shapes (the weights are a GitHub release asset); there is no GPU, so the dev
stack's backend, which asks for CUDA, runs on the CPU and must say so.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.servers import PostgreSQL
from tests_startup.conftest import (
    Pod,
    Response,
    as_pod_user,
    free_port,
    read_only,
    request,
    wait_for_port,
    writable,
    writable_dir,
)
from tools import app_startup

CUDA_ASKED = "kiban: ONNX Runtime was asked for CUDA (MODEL_DEVICE=cuda:0) and could not use it"


@dataclass
class Start:
    """One start of the server: what it answered, and what it wrote to stderr."""

    health: Response
    login: Response | None = None
    wrong_password: Response | None = None
    cross_origin: Response | None = None
    stderr: str = ""


@dataclass
class Story:
    job: Pod
    api: Pod
    setup: subprocess.CompletedProcess
    tables: set[str]
    users: list[str]
    collections: list[str]
    aerich: list[list[str]]
    """The `aerich` table's versions after the setup Job and after each start."""
    migrations: list[dict[str, str]]
    """The migrations directory's files after the setup Job and after each start."""
    starts: list[Start]


class Servers:
    """The session's PostgreSQL with the pods' database, owner and password (a UTF8 database, as the image
    initialises), and Milvus Lite on this machine."""

    def __init__(self, postgresql: PostgreSQL, root: Path, env: dict[str, str]):
        self.root = root
        self.env = env
        self.postgresql = postgresql
        owner, database, password = env["SQL_USERNAME"], env["SQL_DATABASE"], env["SQL_PASSWORD"]
        for statement in (
            f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{password}'",
            f"CREATE DATABASE \"{database}\" OWNER \"{owner}\" ENCODING 'UTF8' LOCALE 'C' TEMPLATE template0",
        ):
            done = postgresql.psql(statement)
            assert done.returncode == 0, done.stderr
        self.milvus_port = free_port()

    def sql(self, query: str) -> list[str]:
        done = self.postgresql.psql(
            query, user=self.env["SQL_USERNAME"], database=self.env["SQL_DATABASE"], password=self.env["SQL_PASSWORD"]
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    def collections(self) -> list[str]:
        script = (
            "import json, sys; from pymilvus import MilvusClient; "
            "c = MilvusClient(uri=sys.argv[1], db_name=sys.argv[2]); print(json.dumps(c.list_collections()))"
        )
        uri = f"http://127.0.0.1:{self.milvus_port}"
        done = subprocess.run(
            [str(app_startup.helpers().python), "-c", script, uri, self.env["MILVUS_DB_DB_NAME"]],
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    @contextmanager
    def running(self) -> Iterator[None]:
        (self.root / "milvus").mkdir()
        log = self.root / "milvus.log"
        with log.open("w") as out:
            milvus = subprocess.Popen(
                [str(app_startup.helpers().milvus_lite), "server", "--data-dir", str(self.root / "milvus"),
                 "--host", "127.0.0.1", "--port", str(self.milvus_port)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            wait_for_port(self.milvus_port, milvus, 120, log)
            yield
        finally:
            milvus.terminate()
            milvus.wait(timeout=30)


class Container:
    """The image's root filesystem for one pod: the backend's WORKDIR and venv read-only, the pod's emptyDirs
    writable (one mounted inside the WORKDIR hides what the image has there, as a mount does)."""

    def __init__(self, backend: app_startup.Backend, pod: Pod, root: Path):
        self.backend, self.pod, self.root = backend, pod, root
        self.tmp = writable_dir(pod, root, "tmp") if "/tmp" in pod.writable else None
        self.mounted: list[tuple[Path, Path]] = []
        for path in pod.writable:
            if path == "/tmp":
                continue
            relative = Path(path).relative_to(backend.image_workdir) if path.startswith(backend.image_workdir + "/") else None
            assert relative is not None, f"{path}: a writable path the start-up test does not map to this machine"
            self.mounted.append((backend.workdir / relative, root / "hidden" / relative))

    def local(self, value: str) -> str:
        image_dir = self.backend.image_workdir
        return str(self.backend.workdir) + value[len(image_dir):] if value.startswith(image_dir + "/") else value

    def env(self, servers: Servers) -> dict[str, str]:
        env = {**self.backend.image_env, **{k: self.local(v) for k, v in self.pod.env().items()}}
        env.update(SQL_HOST=servers.postgresql.host, SQL_PORT=str(servers.postgresql.port))
        env.update(MILVUS_DB_HOST="127.0.0.1", MILVUS_DB_PORT=str(servers.milvus_port))
        # No user entry for the pod's uid: HOME is `/`, which the read-only root does not let it write.
        env["HOME"] = "/"
        env["TMPDIR"] = str(self.tmp) if self.tmp else str(self.backend.workdir)
        return env

    def command(self, argv: list[str], env: dict[str, str]) -> list[str]:
        executable = shutil.which(argv[0], path=env["PATH"])
        assert executable, f"{argv[0]} is not on the image's PATH {env['PATH']}"
        reads = (self.backend.venv / "bin" / "python", self.backend.workdir)
        return [*as_pod_user(self.pod, *reads), executable, *argv[1:]]

    @contextmanager
    def filesystem(self) -> Iterator[None]:
        for image_dir, hidden in self.mounted:
            hidden.parent.mkdir(parents=True, exist_ok=True)
            if image_dir.exists():
                image_dir.rename(hidden)
            writable_dir(self.pod, image_dir.parent, image_dir.name)
        read_only(self.backend.workdir)
        read_only(self.backend.venv)
        for image_dir, _ in self.mounted:
            writable(image_dir)
        try:
            yield
        finally:
            writable(self.backend.workdir)
            writable(self.backend.venv)
            for image_dir, hidden in self.mounted:
                shutil.rmtree(image_dir)
                if hidden.exists():
                    hidden.rename(image_dir)


def migration_files(backend: app_startup.Backend) -> dict[str, str]:
    directory = backend.workdir / "migrations"
    return {str(p.relative_to(directory)): p.read_text() for p in sorted(directory.rglob("*.py"))} if directory.exists() else {}


def serve(container: Container, servers: Servers, log: Path, check) -> Start:
    """Start the server as the pod's command does, on a free port here; `check(base_url)` talks to it."""
    argv = list(container.pod.container["command"]) + list(container.pod.container.get("args", []))
    (port,) = [p["containerPort"] for p in container.pod.container["ports"]]
    assert argv[argv.index("--port") + 1] == str(int(port)) and argv[argv.index("--host") + 1] == "0.0.0.0"
    here = free_port()
    argv[argv.index("--port") + 1], argv[argv.index("--host") + 1] = str(here), "127.0.0.1"
    env = container.env(servers)
    with log.open("w") as err:
        server = subprocess.Popen(
            container.command(argv, env), cwd=container.backend.workdir, env=env,
            stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
        )
    try:
        wait_for_port(here, server, 300, log)
        start = check(f"http://127.0.0.1:{here}")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    start.stderr = log.read_text()
    return start


def first_start(api: Pod):
    def check(base: str) -> Start:
        env = api.env()
        login_url = f"{base}{env['API_V1_STR']}/user/login"

        def login(password: str) -> Response:
            form = urllib.parse.urlencode({"username": env["ADMIN_USERNAME"], "password": password}).encode()
            return request(login_url, form, {"Content-Type": "application/x-www-form-urlencoded"})

        return Start(
            health=request(f"{base}/health"),
            login=login(env["ADMIN_PASSWORD"]),
            wrong_password=login(env["ADMIN_PASSWORD"] + "x"),
            cross_origin=request(
                login_url, method="OPTIONS",
                headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
            ),
        )

    return check


def again(base: str) -> Start:
    return Start(health=request(f"{base}/health"))


@pytest.fixture(scope="module")
def story(rendered, postgresql_server: PostgreSQL) -> Iterator[Story]:
    job = rendered.pod("Job", "face-api-setup-", "setup")
    api = rendered.pod("Rollout", "face-api", "face-api")
    backend = app_startup.backend(int(api.env()["MODEL_EMB_DIM"]))
    root = Path(tempfile.mkdtemp(prefix="kiban-face-api-"))
    root.chmod(0o755)
    try:
        servers = Servers(postgresql_server, root, api.env())
        with servers.running():
            job_container, api_container = Container(backend, job, root / "job"), Container(backend, api, root / "api")
            env = job_container.env(servers)
            with job_container.filesystem():
                setup = subprocess.run(
                    job_container.command(list(job.container["command"]), env), cwd=backend.workdir, env=env,
                    capture_output=True, text=True, timeout=600,
                )
            assert setup.returncode == 0, f"the setup Job failed:\n{setup.stderr[-6000:]}"
            aerich = [servers.sql("SELECT version FROM aerich ORDER BY id")]
            migrations = [migration_files(backend)]
            starts = []
            for number, check in enumerate((first_start(api), again)):
                with api_container.filesystem():
                    starts.append(serve(api_container, servers, root / f"server-{number}.log", check))
                    migrations.append(migration_files(backend))
                aerich.append(servers.sql("SELECT version FROM aerich ORDER BY id"))
            yield Story(
                job=job,
                api=api,
                setup=setup,
                tables=set(servers.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")),
                users=servers.sql("SELECT username || ':' || is_admin FROM users"),
                collections=servers.collections(),
                aerich=aerich,
                migrations=migrations,
                starts=starts,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_setup_job_creates_the_tables_the_collection_and_the_administrator(story: Story):
    assert story.setup.returncode == 0, story.setup.stderr[-6000:]
    assert {"aerich", "users"} <= story.tables
    assert story.users == [f"{story.job.env()['ADMIN_USERNAME']}:true"]
    assert story.collections == ["face_features"]


def test_the_setup_job_loads_the_model_on_the_cpu(story: Story):
    assert story.job.env()["MODEL_DEVICE"] == "cpu", "the Job runs on any node, without a GPU"
    assert "asked for CUDA" not in story.setup.stderr


def test_the_backend_answers_health_at_every_start(story: Story):
    assert [start.health.status for start in story.starts] == [200, 200], story.starts[-1].stderr[-4000:]
    assert json.loads(story.starts[0].health.body) == {"status": "healthy"}


def test_the_administrator_logs_in_with_the_generated_password(story: Story):
    first = story.starts[0]
    assert first.login.status == 200, first.login.body
    assert json.loads(first.login.body)["data"]["token"]
    assert first.wrong_password.status == 401


def test_no_other_origin_may_call_the_api_from_a_browser(story: Story):
    answer = story.starts[0].cross_origin
    assert answer.status == 400 and not answer.header_values("access-control-allow-origin"), answer


def test_a_start_writes_no_migration(story: Story):
    assert story.aerich[0], "the setup Job applied the image's migration"
    assert story.aerich[1] == story.aerich[2] == story.aerich[0], "no new aerich row at a start"
    assert story.migrations[0] and story.migrations[1] == story.migrations[2] == story.migrations[0]


def test_on_the_cpu_the_loader_says_the_cuda_provider_was_asked_for(story: Story):
    assert story.api.env()["MODEL_DEVICE"] == "cuda:0", "the dev stack's backend runs on the GPU"
    for start in story.starts:
        assert CUDA_ASKED in start.stderr, start.stderr[-4000:]


def test_the_pods_ran_as_the_images_user_with_a_read_only_root(story: Story):
    dockerfile = (app_startup.BACKEND_IMAGE / "Dockerfile").read_text()
    for pod in (story.job, story.api):
        assert pod.read_only_root
        assert f"\nUSER {pod.uid}\n" in dockerfile
        assert "/faceapi/migrations" not in pod.writable, "the migrations are in the image"
