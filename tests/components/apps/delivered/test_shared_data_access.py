"""SharedDataAccess: a delivered application's connection Secrets in its own namespace (secret, complete, nothing in
plain text) and the two policies per store that let its pods through both namespaces' default-deny."""

from __future__ import annotations

import pulumi
import pytest
from pulumi.runtime import rpc

from components.apps.delivered.shared_data_access import (
    POSTGRES_SECRET,
    VALKEY_SECRET,
    SharedDataAccess,
    SharedDataAccessArgs,
    StoreAccess,
)
from components.contracts.endpoint import DatabaseEndpoint
from components.kube.network_access import PodGroup

def postgres() -> StoreAccess:
    return StoreAccess(
        DatabaseEndpoint("shared-postgres-rw.shared-postgres.svc.cluster.local", 5432, "read_later", "read_later",
                         pulumi.Output.secret("pg-password-0123456789")),
        PodGroup("shared-postgres", {"cnpg.io/cluster": "shared-postgres"}),
    )


def valkey() -> StoreAccess:
    return StoreAccess(
        DatabaseEndpoint("shared-valkey.shared-valkey.svc.cluster.local", 6379, "read-later:", "read-later",
                         pulumi.Output.secret("valkey-password-0123456789")),
        PodGroup("shared-valkey", {"app.kubernetes.io/name": "shared-valkey"}),
    )


def access(declare, *stores: str):
    """`SharedDataAccess` for `read-later` with the named stores (built inside the mocked program)."""
    makers = {"postgres": postgres, "valkey": valkey}
    return declare(
        lambda opts: SharedDataAccess(
            "read-later-shared-data",
            SharedDataAccessArgs(
                application="read-later", namespace="read-later", **{store: makers[store]() for store in stores}
            ),
            opts,
        )
    )


@pytest.fixture
def both(declare):
    return access(declare, "postgres", "valkey")


def test_the_postgres_secret_holds_a_complete_connection(both):
    secret = both.object("Secret", POSTGRES_SECRET)
    assert secret["metadata"]["namespace"] == "read-later"
    assert rpc.is_rpc_secret(secret["stringData"])
    data = rpc.unwrap_rpc_secret(secret["stringData"])
    assert data["DATABASE_URL"] == (
        "postgresql://read_later:pg-password-0123456789@shared-postgres-rw.shared-postgres.svc.cluster.local:5432/"
        "read_later?sslmode=require"
    )
    assert (data["PGHOST"], data["PGPORT"], data["PGDATABASE"], data["PGUSER"]) == (
        "shared-postgres-rw.shared-postgres.svc.cluster.local", "5432", "read_later", "read_later")
    assert data["PGPASSWORD"] == "pg-password-0123456789" and data["PGSSLMODE"] == "require"


def test_the_valkey_secret_holds_a_complete_connection(both):
    data = rpc.unwrap_rpc_secret(both.object("Secret", VALKEY_SECRET)["stringData"])
    assert data["VALKEY_URL"] == (
        "redis://read-later:valkey-password-0123456789@shared-valkey.shared-valkey.svc.cluster.local:6379/0"
    )
    assert data["VALKEY_KEY_PREFIX"] == "read-later:" and data["VALKEY_USERNAME"] == "read-later"


def test_its_pods_may_reach_each_store_on_its_port_only(both):
    policies = {p["metadata"]["name"]: p for p in both.objects("NetworkPolicy")}
    out = policies["allow-read-later-shared-data-to-shared-postgres-out"]
    assert out["metadata"]["namespace"] == "read-later" and out["spec"]["podSelector"] == {"matchLabels": {}}
    (rule,) = out["spec"]["egress"]
    assert [p["port"] for p in rule["ports"]] == [5432]
    assert rule["to"][0]["podSelector"] == {"matchLabels": {"cnpg.io/cluster": "shared-postgres"}}
    inbound = policies["allow-read-later-shared-data-to-shared-postgres-in"]
    assert inbound["metadata"]["namespace"] == "shared-postgres"
    (rule,) = inbound["spec"]["ingress"]
    assert rule["from"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "read-later"}}
    valkey_in = policies["allow-read-later-shared-data-to-shared-valkey-in"]["spec"]["ingress"][0]
    assert [p["port"] for p in valkey_in["ports"]] == [6379]
    assert len(policies) == 4


def test_only_the_stores_it_uses(declare):
    only_valkey = access(declare, "valkey")
    assert [s["metadata"]["name"] for s in only_valkey.objects("Secret")] == [VALKEY_SECRET]
    assert len(only_valkey.objects("NetworkPolicy")) == 2
    with pytest.raises(ValueError, match="uses no shared store"):
        access(declare)
