"""Clean-up of a self-hosted registry (distribution, `registry:3`): keep `latest` and the newest version tags of every
repository, delete the other manifests; the registry's garbage collection then reclaims their blobs.

Standard library only: the scheduled clean-up container on the build PC runs this file as it is
(`python registry_cleanup.py --registry https://... --keep 5`). "Newest" is the image's own build time (its config's
`created`), so version tags and commit tags (`sha-...`) sort alike. A manifest that a kept tag also points to is
never deleted (deleting by digest removes every tag of it).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)
ALWAYS_KEPT = ("latest",)


@dataclass(frozen=True)
class Tag:
    name: str
    digest: str
    created: str
    """The image config's `created` (RFC 3339); empty for an index, which sorts oldest."""


class Registry:
    """A minimal Docker Registry HTTP API v2 client."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None, ca_file: str | None = None):
        self.url = url.rstrip("/")
        self.auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode() if username else None
        self.context = ssl.create_default_context(cafile=ca_file) if ca_file else None

    def request(self, method: str, path: str, accept: str | None = None) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(self.url + path, method=method)
        if self.auth:
            request.add_header("Authorization", self.auth)
        if accept:
            request.add_header("Accept", accept)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def json(self, path: str, accept: str | None = None) -> tuple[dict, dict]:
        status, headers, body = self.request("GET", path, accept)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}: {body[:200]!r}")
        return json.loads(body), headers

    def repositories(self) -> list[str]:
        return sorted(self.json("/v2/_catalog?n=1000")[0].get("repositories") or [])  # the registry caps n at 1000

    def tags(self, repository: str) -> list[Tag]:
        names = self.json(f"/v2/{repository}/tags/list")[0].get("tags") or []
        found = []
        for name in names:
            manifest, headers = self.json(f"/v2/{repository}/manifests/{name}", MANIFEST_TYPES)
            digest = {k.lower(): v for k, v in headers.items()}["docker-content-digest"]
            created = ""
            if "config" in manifest:
                config, _ = self.json(f"/v2/{repository}/blobs/{manifest['config']['digest']}")
                created = config.get("created", "")
            found.append(Tag(name, digest, created))
        return found

    def delete(self, repository: str, digest: str) -> None:
        status, _, body = self.request("DELETE", f"/v2/{repository}/manifests/{digest}")
        if status not in (202, 404):
            raise RuntimeError(f"DELETE {repository}@{digest}: HTTP {status}: {body[:200]!r} (is delete enabled?)")


def plan(tags: list[Tag], keep: int) -> tuple[list[Tag], list[str]]:
    """The tags kept (`latest`, then the `keep` newest others) and the digests to delete (no kept tag's)."""
    others = sorted((t for t in tags if t.name not in ALWAYS_KEPT), key=lambda t: (t.created, t.name), reverse=True)
    kept = [t for t in tags if t.name in ALWAYS_KEPT] + others[:keep]
    kept_digests = {t.digest for t in kept}
    doomed = sorted({t.digest for t in others[keep:]} - kept_digests)
    return kept, doomed


def clean(registry: Registry, keep: int, dry_run: bool = False) -> dict[str, list[str]]:
    """Delete, in every repository, the manifests no kept tag points to; returns the digests deleted."""
    deleted: dict[str, list[str]] = {}
    for repository in registry.repositories():
        kept, doomed = plan(registry.tags(repository), keep)
        print(f"{repository}: keeping {', '.join(t.name for t in kept) or 'nothing'}; deleting {len(doomed)}")
        for digest in doomed:
            if not dry_run:
                registry.delete(repository, digest)
        deleted[repository] = doomed
    return deleted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", required=True, help="https://host:port")
    parser.add_argument("--keep", type=int, default=5, help="version tags kept per repository besides latest")
    parser.add_argument("--ca-file", default=os.environ.get("REGISTRY_CA_FILE"))
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    registry = Registry(args.registry, os.environ.get("REGISTRY_USERNAME"), os.environ.get("REGISTRY_PASSWORD"), args.ca_file)
    clean(registry, args.keep, args.dry_run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
