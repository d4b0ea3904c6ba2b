"""`python3 tools/build_args.py <image>`: the `--build-arg` options of `images/<image>/Dockerfile`, one per line,
from versions.json (`imageBuilds`), for builds outside `pulumi up` (the release workflow, a developer's buildx).

Reads versions.json with the standard library only, so it runs on a bare runner before any environment exists.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

VERSIONS = Path(__file__).resolve().parent.parent / "versions.json"


def build_args(image: str, versions_file: Path = VERSIONS) -> list[str]:
    pinned = json.loads(versions_file.read_text())["imageBuilds"]
    if image not in pinned or image.startswith("$"):
        images = sorted(name for name in pinned if not name.startswith("$"))
        raise SystemExit(f"versions.json pins no build arguments for images/{image}; pinned: {', '.join(images)}")
    return [f"--build-arg={name}={value}" for name, value in pinned[image].items()]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python3 tools/build_args.py <image>   (a folder under images/)")
    print("\n".join(build_args(sys.argv[1])))
