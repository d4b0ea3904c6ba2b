"""tests/servers.py's session servers do what other tests build on: PostgreSQL hands out databases with password
logins over TCP, and nginx serves a configuration a test writes."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from tests.servers import Nginx, PostgreSQL, free_port, scratch_folder


def test_each_database_has_its_own_owner_who_logs_in_with_its_password_over_tcp(postgresql_server: PostgreSQL):
    first, second = postgresql_server.database(), postgresql_server.database(password="other0password")
    assert first.name != second.name and first.user != second.user
    made = postgresql_server.psql("CREATE TABLE t (x int)", user=first.user, database=first.name, password=first.password)
    assert made.returncode == 0, made.stderr
    wrong = postgresql_server.psql("SELECT 1", user=first.user, database=first.name, password="not-the-password")
    assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr
    assert first.url == f"postgresql://{first.user}:{first.password}@127.0.0.1:{postgresql_server.port}/{first.name}"


@pytest.fixture
def prefix() -> Iterator[Path]:
    path = scratch_folder("kiban-nginx-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_nginx_serves_the_configuration_a_test_writes(nginx_server: Nginx, prefix: Path):
    port = free_port()
    (prefix / "site").mkdir()
    (prefix / "site" / "index.html").write_text("<p>kiban</p>")
    configuration = (
        "pid nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n  access_log off;\n"
        f"  server {{\n    listen 127.0.0.1:{port};\n    root {prefix / 'site'};\n"
        "    location /missing { return 404; }\n  }\n}\n"
    )
    with nginx_server.serve(configuration, port, prefix):
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/").read() == b"<p>kiban</p>"
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/missing")


def test_nginx_refuses_a_broken_configuration_before_serving(nginx_server: Nginx, prefix: Path):
    with pytest.raises(AssertionError, match="unknown directive"):
        with nginx_server.serve("events {}\nhttp { no_such_directive on; }\n", free_port(), prefix):
            pass
