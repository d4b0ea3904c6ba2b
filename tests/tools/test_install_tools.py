"""tools/install_tools.py: a Debian pin the mirrors no longer carry fails with what they carry and where to pin it,
instead of apt's own error; a pin they carry is installed exactly."""

from __future__ import annotations

import pytest

from tools import install_tools


@pytest.fixture
def apt(monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(install_tools.os, "geteuid", lambda: 0)
    monkeypatch.setattr(install_tools, "apt_update_once", lambda: None)
    monkeypatch.setattr(install_tools, "available_versions", lambda package: ["7.0.15-1~deb12u8"])
    monkeypatch.setattr(install_tools.subprocess, "run", lambda args, **kwargs: calls.append(args))
    return calls


def test_a_superseded_pin_says_what_to_pin_instead(apt):
    pin = {"package": "redis-server", "version": "7.0.15-1~deb12u7"}
    with pytest.raises(SystemExit) as refused:
        install_tools.apt_install(pin, "the ACL test needs redis-server")
    message = str(refused.value)
    assert "redis-server=7.0.15-1~deb12u7" in message and "7.0.15-1~deb12u8" in message and "versions.json" in message
    assert apt == [], "nothing installed"


def test_a_carried_pin_is_installed_exactly(apt):
    install_tools.apt_install({"package": "redis-server", "version": "7.0.15-1~deb12u8"}, "why")
    (command,) = apt
    assert command[-1] == "redis-server=7.0.15-1~deb12u8"


def test_madison_output_is_read_as_versions(monkeypatch):
    listed = (
        "redis-server | 5:7.0.15-1~deb12u7 | http://deb.debian.org/debian bookworm/main amd64 Packages\n"
        "redis-server | 5:7.0.11-1+deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages\n"
    )

    class Done:
        stdout = listed

    monkeypatch.setattr(install_tools.subprocess, "run", lambda *a, **k: Done())
    assert install_tools.available_versions("redis-server") == ["5:7.0.15-1~deb12u7", "5:7.0.11-1+deb12u1"]
