"""PostgresDatabase's `credentials` init container, run against a real PostgreSQL 15 (Debian's, the image's major
version; `make test` installs it): a data directory initialised as the official image does it, then started with
the credentials kiban hands over now."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from components.data.postgres_database import CREDENTIALS_SCRIPT
from tools.install_tools import tool_path

BIN = tool_path("postgresql")
NOBODY = 65534
"""PostgreSQL refuses to run as root: as root, the server and the script run as `nobody` (the pod runs as uid 70)."""


def _as_server_user() -> dict:
    return {"user": NOBODY, "group": NOBODY, "extra_groups": []} if os.geteuid() == 0 else {}


def _run(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, env={**env, "PATH": f"{BIN}:/usr/bin:/bin"}, capture_output=True, text=True, **_as_server_user(), **kwargs
    )


class Volume:
    """A data volume the image's entrypoint initialised as `owner` with `database` and `password`."""

    def __init__(self, root: Path, owner: str, database: str, password: str):
        self.root = root
        self.pgdata = root / "data" / "pgdata"
        self.socket_dir = root / "run"
        self.secrets = root / "secrets"
        for d in (self.pgdata, self.socket_dir, self.secrets):
            d.mkdir(parents=True)
        (self.secrets / "password").write_text(password)
        if os.geteuid() == 0:
            for path in (root, *root.rglob("*")):
                os.chown(path, NOBODY, NOBODY)
        self.pgdata.chmod(0o700)
        env = self.env(owner, database)
        done = _run(["initdb", "--no-sync", f"--username={owner}", f"--pwfile={self.secrets / 'password'}", "-D", str(self.pgdata)], env)
        assert done.returncode == 0, done.stderr
        # What clients from other pods meet (the image appends `host all all all scram-sha-256`); the socket stays
        # trusted as initdb leaves it.
        (self.pgdata / "pg_hba.conf").write_text("local all all trust\nhost all all all scram-sha-256\n")
        self.port = _free_port()
        with self.server(env):
            created = self.psql(env, owner, "postgres", None, f'CREATE DATABASE "{database}"')
            assert created.returncode == 0, created.stderr

    def env(self, owner: str, database: str) -> dict[str, str]:
        return {
            "PGDATA": str(self.pgdata),
            "POSTGRES_USER": owner,
            "POSTGRES_DB": database,
            "POSTGRES_PASSWORD_FILE": str(self.secrets / "password"),
            "SOCKET_DIR": str(self.socket_dir),
            "TMPDIR": str(self.root),
        }

    def server(self, env: dict[str, str]) -> "_Server":
        return _Server(self, env)

    def psql(self, env: dict[str, str], user: str, database: str, password: str | None, sql: str):
        host = ["-h", "127.0.0.1", "-p", str(self.port)] if password is not None else ["-h", str(self.socket_dir), "-p", str(self.port)]
        return _run(
            ["psql", "-X", "-w", "-t", "-A", "-v", "ON_ERROR_STOP=1", *host, "-U", user, "-d", database, "-c", sql],
            {**env, "PGPASSWORD": password or ""},
        )

    def credentials(self, owner: str, database: str, password: str) -> subprocess.CompletedProcess:
        """The init container's run: the Secret now says `owner`, `database`, `password`."""
        (self.secrets / "password").write_text(password)
        script = CREDENTIALS_SCRIPT.replace("/tmp/", f"{self.root}/")
        env = {**self.env(owner, database), "PGPORT": str(self.port)}
        return _run(["/bin/sh", "-c", script], env)


class _Server:
    def __init__(self, volume: Volume, env: dict[str, str]):
        self.volume, self.env = volume, env

    def __enter__(self) -> "_Server":
        options = f"-c fsync=off -c listen_addresses=127.0.0.1 -c port={self.volume.port} -c unix_socket_directories={self.volume.socket_dir}"
        started = _run(["pg_ctl", "-D", str(self.volume.pgdata), "-w", "-l", str(self.volume.root / "server.log"), "-o", options, "start"], self.env)
        assert started.returncode == 0, started.stderr + (self.volume.root / "server.log").read_text()
        return self

    def __exit__(self, *_: object) -> None:
        _run(["pg_ctl", "-D", str(self.volume.pgdata), "-m", "fast", "-w", "stop"], self.env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def root() -> Iterator[Path]:
    # Not pytest's tmp_path: its parents are private to root, and the server runs as `nobody`.
    path = Path(tempfile.mkdtemp(prefix="kiban-postgres-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def logins(volume: Volume, owner: str, database: str, *passwords: str) -> list[bool]:
    """Whether a client from another pod logs in with each of `passwords`."""
    env = volume.env(owner, database)
    with volume.server(env):
        return [volume.psql(env, owner, database, p, "SELECT 1").returncode == 0 for p in passwords]


def test_the_binaries_are_the_images_major_version():
    done = subprocess.run([str(BIN / "postgres"), "--version"], capture_output=True, text=True, check=True)
    assert " 15." in done.stdout


def test_a_fresh_volume_is_left_to_the_images_entrypoint(root: Path):
    pgdata = root / "data" / "pgdata"
    done = subprocess.run(["/bin/sh", "-c", CREDENTIALS_SCRIPT], env={"PGDATA": str(pgdata), "PATH": "/nonexistent"})
    assert done.returncode == 0, "nothing to check before initdb, and no server binary is even looked for"
    assert not pgdata.exists()


def test_a_replaced_password_is_rotated_in_the_store(root: Path):
    volume = Volume(root, "faceuser", "faceapi", "old0password")
    done = volume.credentials("faceuser", "faceapi", "new0password")
    assert done.returncode == 0, done.stderr
    assert "new0password" not in done.stdout + done.stderr + (root / "credentials.log").read_text()
    assert not (volume.pgdata / "postmaster.pid").exists(), "the script's own server is stopped again"
    assert logins(volume, "faceuser", "faceapi", "new0password", "old0password") == [True, False]


def test_the_same_password_again_changes_nothing_clients_see(root: Path):
    volume = Volume(root, "faceuser", "faceapi", "same0password")
    assert volume.credentials("faceuser", "faceapi", "same0password").returncode == 0
    assert logins(volume, "faceuser", "faceapi", "same0password", "other0password") == [True, False]


def test_a_changed_owner_is_refused_with_what_to_do(root: Path):
    volume = Volume(root, "faceuser", "faceapi", "a0password")
    done = volume.credentials("renamed", "faceapi", "a0password")
    assert done.returncode == 1
    assert 'role "renamed" does not exist' in done.stderr
    assert "kiban:faceRecognition.postgres.username) is fixed after the first deploy" in done.stderr
    assert not (volume.pgdata / "postmaster.pid").exists()
    assert logins(volume, "faceuser", "faceapi", "a0password") == [True], "the store is untouched"


def test_a_changed_database_is_refused_with_what_to_do(root: Path):
    volume = Volume(root, "faceuser", "faceapi", "a0password")
    done = volume.credentials("faceuser", "otherdb", "a0password")
    assert done.returncode == 1
    assert 'no database "otherdb"' in done.stderr
    assert "(kiban:faceRecognition.postgres.database) is fixed after the first deploy" in done.stderr
    assert not (volume.pgdata / "postmaster.pid").exists()
