"""The release flow's bookkeeping, so prod runs what git says (seed 001: a release changes prod's version in git).

    python3 tools/release.py check-tag v1.4.2        # exit 1 unless the tag is a version the CI identity trusts
    python3 tools/release.py app                     # the application's repository and pinned commit (versions.json)
    python3 tools/release.py record v1.4.2 [FILE]    # rewrite prod's images in FILE (Pulumi.prod.yaml) to that version

`release.yml` builds the images of the application's commit pinned in versions.json (`appStartup.application`),
pushes them as `:<release tag>` and `:sha-<commit>`, then opens a pull request made by `record`; merging it is what
deploys prod (`deploy-prod.yml`, behind the `production` environment). Standard library only: it runs on a bare
runner.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent
PROD = ROOT / "Pulumi.prod.yaml"
VERSIONS = ROOT / "versions.json"
RELEASE_TAG = re.compile(r"v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z][0-9A-Za-z.-]*)?")
"""A release tag: `v<major>.<minor>.<patch>`, optionally a pre-release (`v2.0.0-rc.1`). The CI identity maps only
`refs/tags/v*` to the images account; this is the stricter form the release workflow accepts."""
IMAGE_KEYS = ("faceApi", "frontend")
_IMAGE_LINE = re.compile(r"^(?P<head>\s+(?P<key>faceApi|frontend):\s*)(?P<repository>[^\s:@#]+(?::\d+)?/[^\s:@#]+)(?P<ref>[:@][^\s#]*)(?P<tail>.*)$")


class ReleaseError(ValueError):
    """A release that cannot be recorded, with what to do."""


def check_tag(tag: str) -> str:
    if not RELEASE_TAG.fullmatch(tag):
        raise ReleaseError(f"release tag {tag!r} is not v<major>.<minor>.<patch>[-<pre-release>]: publish a release tagged e.g. v1.4.2")
    return tag


def app_pin(versions_file: Path = VERSIONS) -> tuple[str, str]:
    """The application's repository (`owner/name`, as actions/checkout takes it) and the commit kiban's images are
    built from (versions.json `appStartup.application`, which the start-up tests run too)."""
    application = json.loads(versions_file.read_text())["appStartup"]["application"]
    repository = re.fullmatch(r"https://github\.com/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(\.git)?", application["repository"])
    if repository is None:
        raise ReleaseError(f"versions.json appStartup.application.repository {application['repository']!r} is not a GitHub repository URL")
    return repository.group(1), application["commit"]


def record(stack_file: str, tag: str) -> str:
    """`stack_file` (Pulumi.prod.yaml's text) with `kiban:images.faceApi` and `.frontend` at `tag`, every other line
    untouched (comments included). Refuses a file whose images it cannot find, rather than writing nothing."""
    check_tag(tag)
    lines = stack_file.splitlines(keepends=True)
    inside, found = False, set()
    for index, line in enumerate(lines):
        if re.match(r"^\s{2}kiban:images:\s*(#.*)?$", line):
            inside = True
            continue
        if inside and re.match(r"^\s{0,2}\S", line):
            inside = False
        match = _IMAGE_LINE.match(line.rstrip("\n")) if inside else None
        if match:
            ending = line[len(line.rstrip("\n")):]
            lines[index] = f"{match['head']}{match['repository']}:{tag}{match['tail']}{ending}"
            found.add(match["key"])
    missing = [key for key in IMAGE_KEYS if key not in found]
    if missing:
        raise ReleaseError(f"kiban:images.{', kiban:images.'.join(missing)} not found as `<key>: <repository>:<tag>` lines under kiban:images")
    return "".join(lines)


def main(argv: Sequence[str]) -> int:
    try:
        if len(argv) == 3 and argv[1] == "check-tag":
            check_tag(argv[2])
        elif len(argv) == 2 and argv[1] == "app":
            print(*app_pin())
        elif len(argv) in (3, 4) and argv[1] == "record":
            path = Path(argv[3]) if len(argv) == 4 else PROD
            path.write_text(record(path.read_text(), argv[2]))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except ReleaseError as error:
        print(f"::error::{error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
