"""PostgresDatabase's `credentials` init container, run against the session's real PostgreSQL (tests/servers.py;
its major version is one of the images' it stands in for, the run's header says which): a data directory as the
official image's entrypoint leaves it, then started with the credentials kiban hands over now."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from components.data.postgres_database import CREDENTIALS_SCRIPT
from tests.servers import PostgreSQL, free_port, give_to_server_user, scratch_folder
from tools.install_tools import image_major
from versions import versions


class Volume:
    """A data volume the image's entrypoint initialised as `owner` with `database` and `password`."""

    def __init__(self, postgresql: PostgreSQL, root: Path, owner: str, database: str, password: str):
        self.postgresql = postgresql
        self.root = root
        self.pgdata = root / "data" / "pgdata"
        self.socket_dir = root / "run"
        self.secrets = root / "secrets"
        for d in (self.pgdata.parent, self.socket_dir, self.secrets):
            d.mkdir(parents=True)
        (self.secrets / "password").write_text(password)
        give_to_server_user(root)
        postgresql.data_directory(self.pgdata, owner, database, password)
        self.port = free_port()

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

    def run(self, args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
        return self.postgresql.run(args, env, **kwargs)

    def psql(self, env: dict[str, str], user: str, database: str, password: str | None, sql: str):
        return self.postgresql.psql(sql, user=user, database=database, port=self.port, socket_dir=self.socket_dir,
                                    password=password, env=env)

    def credentials(self, owner: str, database: str, password: str) -> subprocess.CompletedProcess:
        """The init container's run: the Secret now says `owner`, `database`, `password`."""
        (self.secrets / "password").write_text(password)
        script = CREDENTIALS_SCRIPT.replace("/tmp/", f"{self.root}/")
        env = {**self.env(owner, database), "PGPORT": str(self.port)}
        return self.run(["/bin/sh", "-c", script], env)


class _Server:
    def __init__(self, volume: Volume, env: dict[str, str]):
        self.volume, self.env = volume, env

    def __enter__(self) -> "_Server":
        options = f"-c fsync=off -c listen_addresses=127.0.0.1 -c port={self.volume.port} -c unix_socket_directories={self.volume.socket_dir}"
        started = self.volume.run(["pg_ctl", "-D", str(self.volume.pgdata), "-w", "-l", str(self.volume.root / "server.log"), "-o", options, "start"], self.env)
        assert started.returncode == 0, started.stderr + (self.volume.root / "server.log").read_text()
        return self

    def __exit__(self, *_: object) -> None:
        self.volume.run(["pg_ctl", "-D", str(self.volume.pgdata), "-m", "fast", "-w", "stop"], self.env)


@pytest.fixture
def root() -> Iterator[Path]:
    path = scratch_folder("kiban-postgres-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def volume(postgresql_server: PostgreSQL, root: Path):
    """`volume(owner, database, password)`: a Volume under this test's root."""
    return lambda owner, database, password: Volume(postgresql_server, root, owner, database, password)


def logins(volume: Volume, owner: str, database: str, *passwords: str) -> list[bool]:
    """Whether a client from another pod logs in with each of `passwords`."""
    env = volume.env(owner, database)
    with volume.server(env):
        return [volume.psql(env, owner, database, p, "SELECT 1").returncode == 0 for p in passwords]


def test_the_server_is_of_the_major_version_of_an_image_kiban_runs(postgresql_server: PostgreSQL):
    """The script runs in the postgres image, the shared cluster's backup against CloudNativePG's operand: the
    server standing in for them has the major version of one of them, or a newer one where versions.json says why
    that is good enough (the run's header says which server ran)."""
    running = postgresql_server.psql("SHOW server_version_num")
    assert running.returncode == 0, running.stderr
    majors = {image_major(versions().images.postgres), image_major(versions().images.cnpg_postgres)}
    major = int(running.stdout) // 10000
    newer = versions().tools.postgresql.accepts_newer_major and major > max(majors)
    assert major in majors or newer, f"PostgreSQL {major} stands in for {sorted(majors)}"


def test_a_fresh_volume_is_left_to_the_images_entrypoint(root: Path):
    pgdata = root / "data" / "pgdata"
    done = subprocess.run(["/bin/sh", "-c", CREDENTIALS_SCRIPT], env={"PGDATA": str(pgdata), "PATH": "/nonexistent"})
    assert done.returncode == 0, "nothing to check before initdb, and no server binary is even looked for"
    assert not pgdata.exists()


def test_a_replaced_password_is_rotated_in_the_store(volume, root: Path):
    volume = volume("faceuser", "faceapi", "old0password")
    done = volume.credentials("faceuser", "faceapi", "new0password")
    assert done.returncode == 0, done.stderr
    assert "new0password" not in done.stdout + done.stderr + (root / "credentials.log").read_text()
    assert not (volume.pgdata / "postmaster.pid").exists(), "the script's own server is stopped again"
    assert logins(volume, "faceuser", "faceapi", "new0password", "old0password") == [True, False]


def test_the_same_password_again_changes_nothing_clients_see(volume, root: Path):
    volume = volume("faceuser", "faceapi", "same0password")
    assert volume.credentials("faceuser", "faceapi", "same0password").returncode == 0
    assert logins(volume, "faceuser", "faceapi", "same0password", "other0password") == [True, False]


def test_a_changed_owner_is_refused_with_what_to_do(volume, root: Path):
    volume = volume("faceuser", "faceapi", "a0password")
    done = volume.credentials("renamed", "faceapi", "a0password")
    assert done.returncode == 1
    assert 'role "renamed" does not exist' in done.stderr
    assert "kiban:faceRecognition.postgres.username) is fixed after the first deploy" in done.stderr
    assert not (volume.pgdata / "postmaster.pid").exists()
    assert logins(volume, "faceuser", "faceapi", "a0password") == [True], "the store is untouched"


def test_a_changed_database_is_refused_with_what_to_do(volume, root: Path):
    volume = volume("faceuser", "faceapi", "a0password")
    done = volume.credentials("faceuser", "otherdb", "a0password")
    assert done.returncode == 1
    assert 'no database "otherdb"' in done.stderr
    assert "(kiban:faceRecognition.postgres.database) is fixed after the first deploy" in done.stderr
    assert not (volume.pgdata / "postmaster.pid").exists()
