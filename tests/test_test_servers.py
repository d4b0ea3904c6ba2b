"""The test servers run as `nobody` when the suite runs as root (PostgreSQL refuses root): a checkout under a folder
only root may enter (a clone in root's home, as CI may make) must still let `nobody` run them."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests import servers
from tools import install_tools


@pytest.fixture
def open_folder():
    """A folder others may enter (pytest's tmp_path lies under a folder private to its user)."""
    folder = Path(tempfile.mkdtemp(prefix="kiban-test-servers-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_server_under_a_folder_only_root_may_enter_is_run_from_a_copy_nobody_reaches(open_folder, monkeypatch):
    private = open_folder / "home-of-root"
    binary = private / ".tools" / "servers" / "a_server-1.0" / "bin" / "server"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\necho served\n")
    binary.chmod(0o755)
    private.chmod(0o700)
    monkeypatch.setattr(install_tools, "SERVERS", private / ".tools" / "servers")

    reachable = servers.reachable_by_server_user(binary)

    run = subprocess.run([str(reachable)], capture_output=True, text=True, **servers.as_server_user())
    assert run.stdout == "served\n", run.stderr
    if os.geteuid() == 0:
        assert reachable != binary, "nobody cannot enter a 0700 folder of root's: the binary is copied out"
        assert reachable.parts[-3:] == binary.parts[-3:], "the same binary of the same installation"
        with pytest.raises(PermissionError):
            subprocess.run([str(binary)], **servers.as_server_user())
    else:
        assert reachable == binary, "the tests' own user runs the servers: nothing to copy"


def test_a_reachable_server_is_used_where_it_is(open_folder, monkeypatch):
    binary = open_folder / "servers" / "a_server-1.0" / "server"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setattr(install_tools, "SERVERS", open_folder / "servers")
    assert servers.reachable_by_server_user(binary) == binary
