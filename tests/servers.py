"""The real servers the tests run, each set up once per test session (pytest-xdist: once per worker that needs it)
by the fixtures in tests/conftest.py: `postgresql_server`, `valkey_server`, `registry_server` and `nginx_server`.

`make tools` installs them (tools/install_tools.py, pinned in versions.json `tools`); each fixture checks that the
server is there and that its major version is one of the images' it stands in for, and the run's header says which
servers ran (`pytest_report_header`). A server that is missing fails the test with the command that installs it:
nothing is skipped. As root, PostgreSQL (which refuses root) and the scripts run against it run as `nobody`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import stat
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from components.data.shared_valkey import PROBE_USER
from tools import install_tools
from tools.install_tools import tool_path

NOBODY = 65534
"""PostgreSQL refuses to run as root: as root, the server and everything run against its files run as `nobody`."""

INSTALL_NAMES = {"postgresql": "postgresql", "valkeyServer": "valkey-server", "nginx": "nginx",
                 "dockerRegistry": "docker-registry"}
"""tools/install_tools.py's name of each server, by its key in versions.json `tools`."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path | None = None, seconds: float = 10) -> None:
    """Until something accepts on 127.0.0.1:`port`; fails with the server's log if it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if process.poll() is not None:
                said = log.read_text() if log and log.exists() else ""
                raise AssertionError(f"the server exited with {process.returncode} before serving: {said}") from None
            time.sleep(0.05)
    raise AssertionError(f"nothing serves on 127.0.0.1:{port} after {seconds} s")


@dataclass(frozen=True)
class InstalledServer:
    """A server binary that `make tools` installed, of a major version one of its images has."""

    key: str
    binary: Path
    version: str

    @classmethod
    def find(cls, key: str) -> "InstalledServer":
        pin = install_tools.pinned_tool(key)
        link = tool_path(pin["binary"])
        if not link.exists():
            pytest.fail(f"{link} is missing: run `make tools` (or `python tools/install_tools.py {INSTALL_NAMES[key]}`)",
                        pytrace=False)
        try:
            version = install_tools.check_major(key, pin["binary"])
        except SystemExit as refused:
            pytest.fail(str(refused), pytrace=False)
        return cls(key, reachable_by_server_user(link.resolve()), version)

    def describe(self) -> str:
        pin = install_tools.pinned_tool(self.key)
        image = install_tools.from_image(self.key, pin["binary"])
        if "package" in pin:
            source = f"{pin['package']} {pin['version']}"
        elif image:
            source = f"{pin['fromImage']} of {image}, copied out by the Docker engine here"
        else:
            source = f"the distribution's {pin['distroPackage']}"
        images = ", ".join(install_tools.pinned_image(r) for r in pin["standsInFor"])
        said = f"{pin['binary']} {self.version} ({source}) for {images}"
        if self.stands_in_at_older_major:
            said += (f": an older major ({self.major}) standing in for what the majors share only, as versions.json "
                     f"tools.{self.key}.olderMajor says")
        return said

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def stands_in_at_older_major(self) -> bool:
        """Whether this is the distribution package's older major standing in (versions.json `olderMajor`), not a
        server of the images' own major."""
        pin = install_tools.pinned_tool(self.key)
        if self.major in install_tools.wanted_majors(self.key):
            return False
        return self.major == install_tools.accepted_older_major(self.key, pin["binary"])


def _others_can_reach(path: Path) -> bool:
    """Whether a user who is neither the owner nor in the group can run `path`: every folder above it searchable,
    the file itself readable and executable."""
    mode = os.stat(path).st_mode
    if not (mode & stat.S_IROTH and mode & stat.S_IXOTH):
        return False
    return all(os.stat(folder).st_mode & stat.S_IXOTH for folder in path.parents)


def reachable_by_server_user(binary: Path) -> Path:
    """`binary`, or, where the servers' user (`nobody`, as root) cannot reach it, the same binary in a copy of its
    installation that it can: a checkout under a folder only root may enter (root's home) holds `.tools` where
    `nobody` cannot run PostgreSQL's programs from. The copy lives for the test session."""
    if os.geteuid() != 0 or _others_can_reach(binary):
        return binary
    try:
        installation = binary.relative_to(install_tools.SERVERS).parts[0]
    except ValueError:
        return binary  # a distribution's binary (/usr/bin/...) is reachable already or not ours to copy
    copies = Path(tempfile.mkdtemp(prefix="kiban-servers-"))
    copies.chmod(0o755)
    atexit.register(shutil.rmtree, copies, ignore_errors=True)
    shutil.copytree(install_tools.SERVERS / installation, copies / installation, symlinks=True)
    for folder, _, _ in os.walk(copies):
        os.chmod(folder, 0o755)
    return copies / binary.relative_to(install_tools.SERVERS)


def as_server_user() -> dict:
    """subprocess options that run a command as the servers' user (`nobody` when the tests run as root)."""
    return {"user": NOBODY, "group": NOBODY, "extra_groups": []} if os.geteuid() == 0 else {}


def scratch_folder(prefix: str) -> Path:
    """A new folder the servers' user owns. Not pytest's tmp_path: its parents are private to root, and as root the
    servers run as `nobody`."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    return path


def give_to_server_user(root: Path) -> None:
    if os.geteuid() == 0:
        for path in (root, *root.rglob("*")):
            os.chown(path, NOBODY, NOBODY, follow_symlinks=False)


# PostgreSQL


@dataclass(frozen=True)
class Database:
    """A database and its owner's login on the session's PostgreSQL, reached over TCP with a password."""

    host: str
    port: int
    name: str
    user: str
    password: str

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.name}"


class PostgreSQL:
    """One PostgreSQL for the test session: one `initdb`, whose data directory is the template of everything else.

    - `database()`: a new database with its own owner on the session's running server (127.0.0.1, a free port,
      password logins as the official image allows them: `host all all all scram-sha-256`).
    - `data_directory()`: a stopped server's data directory of its own, as the official image's entrypoint leaves a
      volume it initialised as `owner` with `database` and `password`, for tests that start a server on it
      themselves (the credentials script does).
    - `run()`: one of the server's programs (psql, pg_ctl, pg_dumpall, ...) as the server's user.
    """

    SUPERUSER = "postgres"

    def __init__(self, server: InstalledServer, root: Path):
        self.server = server
        self.bin = server.binary.parent
        self.root = root
        try:
            reached = self.run(["postgres", "--version"]).returncode == 0
        except OSError:  # exec refused: a folder on the way is closed to the server's user
            reached = False
        if not reached:
            pytest.fail(f"as root, PostgreSQL runs as `nobody`, who cannot run {self.bin}: every folder above it must "
                        "be open to other users (reachable_by_server_user copies .tools/servers where it is not)",
                        pytrace=False)
        self.template = root / "template"
        password = root / "template-password"
        password.write_text("template0password")
        give_to_server_user(root)
        # A 1 MB WAL segment instead of 16 keeps the template, which every data directory copies, small.
        done = self.run(["initdb", "--no-sync", f"--username={self.SUPERUSER}", f"--pwfile={password}",
                         "--auth-local=trust", "--auth-host=scram-sha-256", "--wal-segsize=1", "-D", str(self.template)])
        assert done.returncode == 0, done.stdout + done.stderr
        # What clients from other pods meet (the image appends `host all all all scram-sha-256`); the socket stays
        # trusted as initdb leaves it.
        (self.template / "pg_hba.conf").write_text("local all all trust\nhost all all all scram-sha-256\n")
        self.host = "127.0.0.1"
        self.port = free_port()
        self.socket_dir = root / "run"
        self.data = root / "server"
        self._copy_template(self.data)
        self.socket_dir.mkdir()
        give_to_server_user(root)
        self._start(self.data, self.port, self.socket_dir, listen=self.host)
        self._databases = 0

    @property
    def major(self) -> int:
        return int(self.server.version.split(".")[0])

    def run(self, args: list[str], env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
        """`args` with the server's programs first on PATH, as the server's user."""
        return subprocess.run(args, env={**(env or {}), "PATH": f"{self.bin}:/usr/bin:/bin"}, capture_output=True,
                              text=True, **as_server_user(), **kwargs)

    def psql(self, sql: str, *, user: str = SUPERUSER, database: str = "postgres", port: int | None = None,
             socket_dir: Path | None = None, password: str | None = None, env: dict[str, str] | None = None):
        """One statement per `-c`, with ON_ERROR_STOP: over the socket (trusted) or, with `password`, over TCP."""
        port = port or self.port
        host = ["-h", self.host] if password is not None else ["-h", str(socket_dir or self.socket_dir)]
        return self.run(["psql", "-X", "-w", "-t", "-A", "-v", "ON_ERROR_STOP=1", *host, "-p", str(port), "-U", user,
                         "-d", database, "-c", sql], {**(env or {}), "PGPASSWORD": password or ""})

    def database(self, owner: str | None = None, password: str = "test0password") -> Database:
        """A new database owned by a new login role (names unique within the session)."""
        self._databases += 1
        name = f"db{self._databases}"
        owner = owner or f"owner{self._databases}"
        for sql in (f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{password}'", f'CREATE DATABASE "{name}" OWNER "{owner}"'):
            done = self.psql(sql)
            assert done.returncode == 0, done.stderr
        return Database(self.host, self.port, name, owner, password)

    def data_directory(self, pgdata: Path, owner: str, database: str, password: str) -> None:
        """At `pgdata` (its parent must exist and be the server user's): the template as the image's entrypoint leaves
        a volume it initialised with `POSTGRES_USER=owner`, `POSTGRES_DB=database` and the owner's `password`."""
        self._copy_template(pgdata)
        socket_dir = Path(tempfile.mkdtemp(prefix="kiban-pg-socket-"))
        give_to_server_user(socket_dir)
        port = free_port()
        self._start(pgdata, port, socket_dir, listen="")
        try:
            steps = []
            if owner != self.SUPERUSER:
                # The bootstrap superuser takes the owner's name, as initdb --username=<owner> would have named it.
                steps += [(self.SUPERUSER, "CREATE ROLE kiban_setup SUPERUSER LOGIN"),
                          ("kiban_setup", f'ALTER ROLE "{self.SUPERUSER}" RENAME TO "{owner}"'),
                          (owner, "DROP ROLE kiban_setup")]
            steps += [(owner, f"ALTER ROLE \"{owner}\" PASSWORD '{password}'"), (owner, f'CREATE DATABASE "{database}" STRATEGY = FILE_COPY')]
            for user, sql in steps:
                done = self.psql(sql, user=user, port=port, socket_dir=socket_dir)
                assert done.returncode == 0, done.stderr
        finally:
            self._stop(pgdata)
            shutil.rmtree(socket_dir, ignore_errors=True)

    def stop(self) -> None:
        self._stop(self.data)

    def _copy_template(self, pgdata: Path) -> None:
        shutil.copytree(self.template, pgdata, symlinks=True)
        give_to_server_user(pgdata)
        pgdata.chmod(0o700)

    def _start(self, pgdata: Path, port: int, socket_dir: Path, listen: str) -> None:
        options = f"-c fsync=off -c listen_addresses='{listen}' -c port={port} -c unix_socket_directories={socket_dir}"
        log = pgdata.parent / f"{pgdata.name}.log"
        done = self.run(["pg_ctl", "-D", str(pgdata), "-w", "-l", str(log), "-o", options, "start"])
        assert done.returncode == 0, done.stderr + (log.read_text() if log.exists() else "")

    def _stop(self, pgdata: Path) -> None:
        self.run(["pg_ctl", "-D", str(pgdata), "-m", "fast", "-w", "stop"])


# Valkey


VALKEY_PASSWORDS = {PROBE_USER: "probe-password-0123456789", "yomu": "yomu-password-0123456789",
                    "notes": "notes-pw-0123456789"}
"""The session Valkey's users besides `default`: the probe and two applications (tests/components/data/
test_shared_valkey.py)."""


class Valkey:
    """One Valkey for the test session, running the shared Valkey's generated configuration and ACL file
    (components/data/shared_valkey.py) with only its places moved: a folder of the session's and a free loopback
    port. Its users are `VALKEY_PASSWORDS`'."""

    def __init__(self, server: InstalledServer, folder: Path):
        from components.data.shared_valkey import CONFIG_DIR, DATA_DIR, PORT, acl_file, server_configuration
        from components.contracts.stores import SharedValkeySettings

        self.server = server
        self.folder = folder
        self.port = free_port()
        (folder / "users.acl").write_text(acl_file(VALKEY_PASSWORDS))
        configuration = server_configuration(SharedValkeySettings(maxMemory="64Mi", resources={
            "requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}}))
        configuration = (
            configuration.replace(f"port {PORT}", f"port {self.port}")
            .replace(f"dir {DATA_DIR}", f"dir {folder}")
            .replace(f"aclfile {CONFIG_DIR}/users.acl", f"aclfile {folder / 'users.acl'}")
            .replace("bind * -::*", "bind 127.0.0.1")
        )
        assert f"port {self.port}" in configuration and f"dir {folder}" in configuration, "the places moved"
        (folder / "valkey.conf").write_text(configuration)
        log = folder / "server.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen([str(server.binary), str(folder / "valkey.conf")], stdout=out,
                                            stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process, log)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# The registry


def dockerfile_environment(dockerfile: Path) -> dict[str, str]:
    """The `ENV NAME=value` lines of a Dockerfile: what its image's processes run with."""
    found = {}
    for line in dockerfile.read_text().splitlines():
        if line.startswith("ENV "):
            for assignment in line.removeprefix("ENV ").split():
                name, separator, value = assignment.partition("=")
                assert separator, f"{dockerfile}: write ENV as NAME=value ({line!r})"
                found[name] = value
    return found


REGISTRY_DOCKERFILE = Path(__file__).resolve().parents[1] / "images" / "registry" / "Dockerfile"


class RegistryBinary:
    """The registry image's binary (or the distribution's older major standing in: `server.describe()` says which):
    each test serves its own registry with it (the clean-up tests stop it to collect garbage), on a folder and a free
    loopback port of its own, with the environment kiban's registry image gives it (its Dockerfile's ENV)."""

    def __init__(self, server: InstalledServer):
        self.server = server
        self.binary = server.binary

    @staticmethod
    def environment(**more: str) -> dict[str, str]:
        """This process's environment, with the registry image's ENV and `more` over it."""
        return {**os.environ, **dockerfile_environment(REGISTRY_DOCKERFILE), **more}

    @staticmethod
    def config(folder: Path) -> tuple[Path, Path, str]:
        """A registry configuration with deletes enabled on a free loopback port: (config file, storage, url)."""
        port = free_port()
        storage = folder / "storage"
        config = folder / "config.yml"
        config.write_text(
            "version: 0.1\n"
            f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n"
        )
        return config, storage, f"http://127.0.0.1:{port}"

    @contextlib.contextmanager
    def serve(self, folder: Path) -> Iterator[tuple[str, Path, Path, subprocess.Popen]]:
        """A plain-HTTP registry serving from `folder`: (url, storage, config, process); stopped afterwards."""
        config, storage, url = self.config(folder)
        with self.serve_file(config, int(url.rsplit(":", 1)[1])) as (process, _):
            urllib.request.urlopen(url + "/v2/", timeout=5)
            yield url, storage, config, process

    @contextlib.contextmanager
    def serve_file(self, config: Path, port: int, **environment: str) -> Iterator[tuple[subprocess.Popen, Path]]:
        """`registry serve <config>` (which listens on 127.0.0.1:`port`), with the image's environment and
        `environment` over it: (process, its log file beside the config); stopped afterwards."""
        log = config.parent / "registry.log"
        with log.open("wb") as out:
            process = subprocess.Popen([str(self.binary), "serve", str(config)], stdout=out, stderr=subprocess.STDOUT,
                                       env=self.environment(**environment))
        try:
            wait_for_port(port, process, log)
            yield process, log
        finally:
            process.terminate()
            process.wait(timeout=10)


# nginx


class Nginx:
    """nginx: each test serves its own configuration with it (`serve`), as the servers' user, as the frontend's
    unprivileged image runs it."""

    def __init__(self, server: InstalledServer):
        self.server = server
        self.binary = server.binary

    @contextlib.contextmanager
    def serve(self, configuration: str, port: int, prefix: Path) -> Iterator[subprocess.Popen]:
        """nginx in the foreground with `configuration` (a whole nginx.conf that listens on 127.0.0.1:`port`),
        relative paths under `prefix` (a `scratch_folder()`: as root, nginx runs as `nobody`, who must write there
        and read what it serves); checked with `nginx -t` first, stopped afterwards."""
        conf = prefix / "nginx.conf"
        conf.write_text(configuration)
        give_to_server_user(prefix)
        command = [str(self.binary), "-p", f"{prefix}/", "-c", str(conf), "-g", "daemon off;"]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, **as_server_user())
        assert checked.returncode == 0, checked.stderr
        log = prefix / "nginx.out"
        with log.open("wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **as_server_user())
        try:
            wait_for_port(port, process, log)
            yield process
        finally:
            process.terminate()
            process.wait(timeout=10)
