"""The data capability: each delivered application reaches exactly the shared stores its entry names, and waits
only for its own part of each (its login and database), never for the whole store."""

from __future__ import annotations

from types import SimpleNamespace

from capabilities.data import SharedData


def store(name: str, applications: list[str]) -> SimpleNamespace:
    """What SharedData reads of a running store: each application's login, the store's pods, and what of it each
    application's access waits for."""
    return SimpleNamespace(
        logins={app: f"{name}-login-{app}" for app in applications},
        pods=f"{name}-pods",
        access_after={app: (f"{name}-server", f"{name}-login-of-{app}") for app in applications},
    )


def test_an_application_gets_the_stores_it_names_and_waits_on_its_own_part_only():
    shared = SharedData(postgres=store("postgres", ["yomu", "notes"]), valkey=store("valkey", ["yomu"]))
    yomu = shared.access("yomu", ["postgres", "valkey"])
    assert set(yomu) == {"postgres", "valkey"}
    assert yomu["postgres"].login == "postgres-login-yomu" and yomu["postgres"].pods == "postgres-pods"
    assert yomu["postgres"].after == ("postgres-server", "postgres-login-of-yomu")  # not notes' login
    notes = shared.access("notes", ["postgres"])
    assert set(notes) == {"postgres"} and notes["postgres"].after == ("postgres-server", "postgres-login-of-notes")


def test_no_store_named_or_none_running_gives_no_access():
    shared = SharedData(postgres=store("postgres", ["yomu"]), valkey=None)
    assert shared.access("yomu", []) == {}
    assert set(shared.access("yomu", ["postgres", "valkey"])) == {"postgres"}  # the config refuses this pairing
