"""ApplicationSecret: the Secret in the shape the application's own manifests read (dev's `yomu-secrets`: its
DATABASE_URL and VALKEY_URL, a generated SESSION_SECRET, and the Google OAuth values from secret settings), every
value secret; and the loader's word on the secret settings it needs."""

from __future__ import annotations

import pulumi
import pytest
from pulumi.runtime import rpc

from components.apps.delivered.application_secret import ApplicationSecret, ApplicationSecretArgs
from components.apps.delivered.shared_data_access import postgres_connection, valkey_connection
from components.contracts.endpoint import DatabaseEndpoint
from tests.stack_config.test_hostile_config import refused
from tests.stack_config.test_loader import run_main
from tools.mock_engine import run_program, stack_config

DEV = stack_config("dev")


def login(host: str, port: int, password: str) -> DatabaseEndpoint:
    """A store login (its password an Output, so made inside the mocked program)."""
    return DatabaseEndpoint(host, port, "yomu", "yomu", pulumi.Output.secret(password))


POSTGRES_HOST, VALKEY_HOST = "pg.shared-postgres.svc", "valkey.shared-valkey.svc"


def test_the_secret_holds_each_key_the_application_reads_and_nothing_else(declare):
    keys = {"DATABASE_URL": "postgres.url", "PGPASSWORD": "postgres.password", "VALKEY_URL": "valkey.url",
            "CACHE_PREFIX": "valkey.keyPrefix", "SESSION_SECRET": "generated", "GOOGLE_CLIENT_SECRET": "setting"}
    deployment = declare(
        lambda opts: ApplicationSecret(
            "yomu-secret",
            ApplicationSecretArgs(application="yomu", namespace="yomu", name="yomu-secrets", keys=keys,
                                  postgres=login(POSTGRES_HOST, 5432, "pg-pw"), valkey=login(VALKEY_HOST, 6379, "vk-pw"),
                                  settings={"GOOGLE_CLIENT_SECRET": pulumi.Output.secret("oauth-secret")}),
            opts,
        )
    )
    secret = deployment.object("Secret", "yomu-secrets")
    assert secret["metadata"]["namespace"] == "yomu" and secret["type"] == "Opaque"
    assert rpc.is_rpc_secret(secret["stringData"]), "no value in plain text in Pulumi's state"
    data = rpc.unwrap_rpc_secret(secret["stringData"])
    assert set(data) == set(keys)
    as_written = DatabaseEndpoint(POSTGRES_HOST, 5432, "yomu", "yomu", None)  # type: ignore[arg-type]
    assert data["DATABASE_URL"] == postgres_connection(as_written, "pg-pw")["DATABASE_URL"]
    assert data["DATABASE_URL"] == "postgresql://yomu:pg-pw@pg.shared-postgres.svc:5432/yomu?sslmode=require"
    assert data["PGPASSWORD"] == "pg-pw"
    as_written = DatabaseEndpoint(VALKEY_HOST, 6379, "yomu", "yomu", None)  # type: ignore[arg-type]
    assert data["VALKEY_URL"] == valkey_connection(as_written, "vk-pw")["VALKEY_URL"] == "redis://yomu:vk-pw@valkey.shared-valkey.svc:6379/0"
    assert data["CACHE_PREFIX"] == "yomu"
    assert data["GOOGLE_CLIENT_SECRET"] == "oauth-secret"
    (generated,) = deployment.of_type("random:index/randomPassword:RandomPassword")
    assert generated.inputs["length"] == 48 and generated.inputs["special"] is False
    assert data["SESSION_SECRET"] == f"mock-password-{generated.name}"


def test_a_store_value_without_its_login_is_a_programming_error(declare):
    with pytest.raises(Exception, match="no valkey login"):
        declare(lambda opts: ApplicationSecret(
            "x", ApplicationSecretArgs(application="x", namespace="x", name="x", keys={"V": "valkey.url"}), opts))


def test_dev_writes_yomu_secrets_in_the_shape_its_manifests_read():
    dev = run_program("dev")
    in_yomu = {s["metadata"]["name"] for s in dev.objects("Secret") if s["metadata"]["namespace"] == "yomu"}
    assert in_yomu == {"yomu-secrets"}, "no shared-postgres/shared-valkey beside it: the application reads one Secret"
    data = rpc.unwrap_rpc_secret(dev.object("Secret", "yomu-secrets")["stringData"])
    assert set(data) == {"DATABASE_URL", "VALKEY_URL", "SESSION_SECRET", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET",
                         "GOOGLE_REDIRECT_URI"}
    assert data["DATABASE_URL"].startswith("postgresql://yomu:") and data["DATABASE_URL"].endswith("/yomu?sslmode=require")
    assert data["VALKEY_URL"].startswith("redis://yomu:") and data["VALKEY_URL"].endswith(":6379/0")
    assert data["GOOGLE_CLIENT_SECRET"] == "<secret kiban:applicationSecrets>"


def with_yomu(**changes):
    (yomu,) = DEV["kiban:argocd"]["applications"]
    return {"kiban:argocd": {**DEV["kiban:argocd"], "applications": [{**yomu, **changes}]}}


def test_a_missing_secret_setting_is_named_with_the_command_that_sets_it():
    overrides = {**with_yomu(), "kiban:applicationSecrets": {"yomu": {"GOOGLE_CLIENT_ID": {"secure": "x"},
                                                                      "GOOGLE_REDIRECT_URI": {"secure": "y"}}}}
    refused(overrides, "argocd.applications[0].secret.keys.GOOGLE_CLIENT_SECRET is `setting` but "
            "kiban:applicationSecrets.yomu.GOOGLE_CLIENT_SECRET is not set: pulumi config set --secret --path "
            "'kiban:applicationSecrets.yomu.GOOGLE_CLIENT_SECRET' <value>")


def test_a_secret_setting_no_application_takes_is_refused():
    stored = {"yomu": {k: {"secure": "v"} for k in ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "GOOGLE_REDIRECT_URI",
                                                      "GOOGLE_CLEINT_ID")}}
    refused({**with_yomu(), "kiban:applicationSecrets": stored},
            "kiban:applicationSecrets.yomu.GOOGLE_CLEINT_ID is set but no application's secret takes it")


def test_application_secrets_in_plain_text_are_refused():
    refused({**with_yomu(), "kiban:applicationSecrets": {"yomu": {"GOOGLE_CLIENT_ID": "plain"}}},
            "kiban:applicationSecrets is stored in plain text")


@pytest.mark.parametrize(
    "secret, message",
    [
        ({"name": "yomu-secrets", "keys": {"DATABASE_URL": "mysql.url"}}, "secret.keys.DATABASE_URL"),
        ({"name": "Yomu_Secrets", "keys": {"A": "generated"}}, "secret.name"),
        ({"name": "yomu-secrets", "keys": {"A B": "generated"}}, "is not a Secret key"),
        ({"name": "yomu-secrets", "keys": {}}, "secret.keys"),
    ],
)
def test_a_bad_secret_shape_is_refused_naming_the_key(secret, message):
    outcome = run_main("dev", {**with_yomu(secret=secret), "kiban:applicationSecrets": None})
    assert outcome.error is not None and message in str(outcome.error), outcome.error


def test_a_store_value_needs_the_store():
    refused({**with_yomu(sharedData=["postgres"]), "kiban:applicationSecrets": None},
            "secret.keys.VALKEY_URL: valkey.url needs the shared valkey; add valkey to sharedData or drop the key")
