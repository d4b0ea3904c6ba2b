"""The registry clean-up against a real registry binary (tests/servers.py RegistryBinary: the pinned image's major, or
the distribution's 2.8 standing in for the HTTP API the two majors share; the run's header says which): push images
with several tags through the HTTP API, clean up, garbage-collect with the registry stopped, and check what is left,
down to the blob files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest

from images.registry.registry_cleanup import Registry, Tag, clean, plan
from tests.servers import RegistryBinary
from tools.install_tools import image_major
from versions import versions

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture
def registry(registry_server: RegistryBinary, tmp_path: Path):
    """A registry of this test's own, served by the real binary (tests/servers.py)."""
    with registry_server.serve(tmp_path) as served:
        yield served


Send = Callable[[urllib.request.Request], Any]


def put_blob(url: str, repository: str, data: bytes, send: Send = urllib.request.urlopen) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    start = send(urllib.request.Request(f"{url}/v2/{repository}/blobs/uploads/", method="POST"))
    location = start.headers["Location"]
    separator = "&" if "?" in location else "?"
    target = (location if location.startswith("http") else url + location) + f"{separator}digest={digest}"
    send(urllib.request.Request(target, data=data, method="PUT", headers={"Content-Type": "application/octet-stream"}))
    return digest


def push_image(url: str, repository: str, tags: list[str], created: str,
               send: Send = urllib.request.urlopen) -> dict[str, str]:
    """One image (a layer and a config with its build time), under `tags`; returns its blobs' digests. `send` makes
    each request (a registry that wants credentials or TLS gets a sender that adds them)."""
    layer = put_blob(url, repository, f"layer of {created}".encode(), send)
    config = json.dumps({"created": created, "architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer]}}).encode()
    config_digest = put_blob(url, repository, config, send)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config), "digest": config_digest},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(f"layer of {created}"), "digest": layer}],
    }).encode()
    for tag in tags:
        send(urllib.request.Request(f"{url}/v2/{repository}/manifests/{tag}", data=manifest, method="PUT",
                                    headers={"Content-Type": MANIFEST}))
    return {"manifest": "sha256:" + hashlib.sha256(manifest).hexdigest(), "config": config_digest, "layer": layer}


def blob_files(storage: Path) -> set[str]:
    return {p.parent.name for p in storage.rglob("blobs/sha256/*/*/data")}


def test_the_plan_keeps_latest_and_the_newest_and_never_a_kept_digest():
    tags = [Tag("latest", "d5", "2026-05"), Tag("1.0.5", "d5", "2026-05"), Tag("1.0.4", "d4", "2026-04"),
            Tag("sha-abc", "d3", "2026-03"), Tag("1.0.2", "d2", "2026-02"), Tag("1.0.1", "d1", "2026-01")]
    kept, doomed = plan(tags, keep=2)
    assert [t.name for t in kept] == ["latest", "1.0.5", "1.0.4"]
    assert doomed == ["d1", "d2", "d3"]
    assert plan([Tag("latest", "d1", "1"), Tag("old", "d1", "0")], keep=0) == ([Tag("latest", "d1", "1")], []), (
        "a digest a kept tag points to stays"
    )


def test_the_binary_is_of_the_images_major_or_the_distributions_declared_stand_in(registry_server: RegistryBinary):
    installed = registry_server.server
    image = versions().image_builds.of("registry")["REGISTRY_IMAGE"]
    older = versions().tools.docker_registry.older_major
    if installed.major != image_major(image):
        assert installed.stands_in_at_older_major and older is not None and installed.major == older.major, (
            installed.describe())
        assert "standing in" in installed.describe(), "the run's header says a stand-in ran"


def test_clean_up_and_garbage_collection_on_a_real_registry(registry, registry_server: RegistryBinary):
    url, storage, config, process = registry
    images = {}
    for index, version in enumerate(["1.0.0", "1.0.1", "1.0.2", "1.0.3"]):
        tags = [version, "latest"] if version == "1.0.3" else [version]
        images[version] = push_image(url, "face-api", tags, f"2026-0{index + 1}-01T00:00:00Z")
    push_image(url, "face-frontend", ["1.0.0"], "2025-12-01T00:00:00Z")
    before = blob_files(storage)

    deleted = clean(Registry(url), keep=2)
    assert sorted(deleted["face-api"]) == sorted([images["1.0.0"]["manifest"], images["1.0.1"]["manifest"]])
    assert deleted["face-frontend"] == []
    remaining = json.loads(urllib.request.urlopen(f"{url}/v2/face-api/tags/list").read())["tags"]
    assert sorted(remaining) == ["1.0.2", "1.0.3", "latest"]

    process.terminate()  # never collect while a push can be in flight
    process.wait(timeout=10)
    subprocess.run([str(registry_server.binary), "garbage-collect", str(config)], check=True, capture_output=True)
    after = blob_files(storage)
    hexes = {v: {d.split(":")[1] for d in blobs.values()} for v, blobs in images.items()}
    assert hexes["1.0.0"] | hexes["1.0.1"] <= before
    # The deleted images' layers and configs are gone; the kept images' blobs all stay.
    assert {images[v][b].split(":")[1] for v in ("1.0.0", "1.0.1") for b in ("layer", "config")} <= before - after
    assert hexes["1.0.2"] | hexes["1.0.3"] <= after
