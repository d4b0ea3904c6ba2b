"""The registry's supervisor against the real registry binary (tests/servers.py RegistryBinary; the run's header says
which): it serves, and one maintenance deletes the old manifests through the API, stops the server, collects the
garbage and serves again."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from images.registry.registry_cleanup import Registry
from images.registry.registry_maintenance import RegistryServer, maintain, seconds_until
from tests.images.registry.test_registry_cleanup import blob_files, push_image
from tests.servers import RegistryBinary


@pytest.fixture
def server(registry_server: RegistryBinary, tmp_path: Path):
    config, storage, url = registry_server.config(tmp_path)
    served = RegistryServer(str(registry_server.binary), str(config), url, log=subprocess.DEVNULL)
    served.start()
    yield served, storage
    served.stop()


def tags(url: str, repository: str) -> list[str]:
    return sorted(json.loads(urllib.request.urlopen(f"{url}/v2/{repository}/tags/list").read())["tags"])


def test_a_maintenance_cleans_collects_garbage_while_stopped_and_serves_again(server):
    served, storage = server
    url = served.url
    images = {
        version: push_image(url, "face-api", [version, "latest"] if version == "sha-4" else [version], f"2026-0{i}-01T00:00:00Z")
        for i, version in enumerate(["sha-1", "sha-2", "sha-3", "sha-4"], start=1)
    }
    before = blob_files(storage)
    first_process = served.process

    deleted = maintain(served, Registry(url), keep=2)

    assert sorted(deleted["face-api"]) == sorted(images[v]["manifest"] for v in ("sha-1", "sha-2"))
    assert served.process is not first_process and served.process.poll() is None, "a new server runs"
    assert tags(url, "face-api") == ["latest", "sha-3", "sha-4"], "served again, with the kept tags"
    after = blob_files(storage)
    gone = {images[v][b].split(":")[1] for v in ("sha-1", "sha-2") for b in ("layer", "config")}
    assert gone <= before and not gone & after, "the deleted images' blobs are reclaimed"
    assert {images[v][b].split(":")[1] for v in ("sha-3", "sha-4") for b in ("layer", "config")} <= after
    push_image(url, "face-api", ["sha-5"], "2026-05-01T00:00:00Z")
    assert "sha-5" in tags(url, "face-api"), "pushes work after the maintenance"


def test_garbage_collection_refuses_to_run_while_serving(server):
    served, _ = server
    with pytest.raises(RuntimeError, match="in flight"):
        served.garbage_collect()


@pytest.mark.parametrize(
    "now, daily_at, expected_hours",
    [
        ("2026-03-01T03:00:00", "04:00", 1),
        ("2026-03-01T04:00:00", "04:00", 24),  # just run: tomorrow
        ("2026-03-01T23:30:00", "00:30", 1),
    ],
)
def test_the_next_run_is_the_next_daily_time_in_utc(now, daily_at, expected_hours):
    moment = dt.datetime.fromisoformat(now).replace(tzinfo=dt.timezone.utc)
    assert seconds_until(daily_at, moment) == expected_hours * 3600


def test_a_stopped_server_answers_nothing(server):
    served, _ = server
    served.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(served.url + "/v2/", timeout=2)
