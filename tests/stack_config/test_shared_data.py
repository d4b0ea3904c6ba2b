"""`kiban:sharedData` and an application's `sharedData`: a store an application names must be configured, a login
the store keeps for itself is refused, and each is said with the key and what to do, before anything is declared."""

from __future__ import annotations

import pytest

from components.contracts.stores import RESERVED_LOGINS
from stack_config.shared_data import SharedDataConfig
from stack_config.stack import RESERVED_APPLICATION_NAMES
from tests.stack_config.test_hostile_config import refused
from tests.stack_config.test_loader import run_main
from tools.mock_engine import stack_config

DEV = stack_config("dev")


def with_application(**changes):
    """dev's yomu with `changes`, reading the default connection Secrets (its own `secret` names both stores)."""
    (yomu,) = DEV["kiban:argocd"]["applications"]
    yomu = {key: value for key, value in yomu.items() if key != "secret"}
    return {"kiban:argocd": {**DEV["kiban:argocd"], "applications": [{**yomu, **changes}]},
            "kiban:applicationSecrets": None}


def test_dev_runs_both_stores_for_yomu():
    assert SharedDataConfig.model_validate(DEV["kiban:sharedData"]).enabled() == {"postgres", "valkey"}
    (yomu,) = DEV["kiban:argocd"]["applications"]
    assert yomu["sharedData"] == ["postgres", "valkey"]


@pytest.mark.parametrize("store", ["postgres", "valkey"])
def test_an_application_may_not_use_a_store_the_stack_does_not_run(store):
    overrides = {**with_application(sharedData=[store]), "kiban:sharedData": {}}
    refused(overrides, "argocd.applications[0].sharedData", f"asks for the shared {store}", f"kiban:sharedData.{store}")


@pytest.mark.parametrize(
    ("name", "store"),
    [(name, store) for store, names in RESERVED_LOGINS.items() for name in sorted(names)],
)
def test_a_login_the_store_keeps_for_itself_is_refused(name, store):
    application = with_application(name=name.replace("_", "-"), namespace="yomu", sharedData=[store])
    if name in RESERVED_APPLICATION_NAMES:  # refused as an application name before its login is worked out
        refused(application, "argocd.applications[0].name", RESERVED_APPLICATION_NAMES[name])
    else:
        refused(application, "argocd.applications[0].sharedData", "which the store keeps for itself",
                "rename the application")


def test_each_store_is_named_once():
    refused(with_application(sharedData=["postgres", "postgres"]), "sharedData", "name each store once")


def test_an_unknown_store_is_refused_with_the_stores_there_are():
    refused(with_application(sharedData=["mysql"]), "sharedData", "'postgres'", "'valkey'")


def test_valkey_memory_must_leave_room_in_its_container():
    overrides = {"kiban:sharedData": {**DEV["kiban:sharedData"], "valkey": {"maxMemory": "1Gi"}}}
    refused(overrides, "kiban:sharedData.valkey", "more than half of resources.limits.memory")


def test_a_stack_without_shared_stores_declares_none():
    (yomu,) = DEV["kiban:argocd"]["applications"]
    plain = {k: v for k, v in yomu.items() if k not in ("sharedData", "secret")}
    outcome = run_main("dev", {"kiban:sharedData": {}, "kiban:argocd": {**DEV["kiban:argocd"], "applications": [plain]},
                               "kiban:applicationSecrets": None})
    assert outcome.error is None, outcome.error
    types = {r.type for r in outcome.deployment.registrations}
    assert not types & {"kiban:data:SharedPostgres", "kiban:data:SharedValkey", "kiban:platform:CloudNativePg",
                        "kiban:apps:SharedDataAccess"}
