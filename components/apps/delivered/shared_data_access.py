"""`SharedDataAccess`: one delivered application's way into the shared stores: its connection Secrets in its own
namespace (seed 002: no secret in an image, Kubernetes Secrets at run time) and the policies that let its pods
reach the stores through both namespaces' default-deny."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.endpoint import DatabaseEndpoint
from components.contracts.labels import platform_labels
from components.kube.network_access import AllowTraffic, AllowTrafficArgs, PodGroup

POSTGRES_SECRET = "shared-postgres"
VALKEY_SECRET = "shared-valkey"


def postgres_connection(login: DatabaseEndpoint, password: str) -> dict[str, str]:
    """`DATABASE_URL` and libpq's own variables; TLS required (CloudNativePG always serves it)."""
    return {
        "DATABASE_URL": (
            f"postgresql://{login.username}:{password}@{login.host}:{login.port}/{login.database}?sslmode=require"
        ),
        "PGHOST": login.host,
        "PGPORT": str(login.port),
        "PGDATABASE": login.database,
        "PGUSER": login.username,
        "PGPASSWORD": password,
        "PGSSLMODE": "require",
    }


def valkey_connection(login: DatabaseEndpoint, password: str) -> dict[str, str]:
    """`VALKEY_URL` (the `redis://` scheme every Redis and Valkey client reads) and its parts; `VALKEY_KEY_PREFIX`
    is the only prefix the user's keys and channels may have."""
    return {
        "VALKEY_URL": f"redis://{login.username}:{password}@{login.host}:{login.port}/0",
        "VALKEY_HOST": login.host,
        "VALKEY_PORT": str(login.port),
        "VALKEY_USERNAME": login.username,
        "VALKEY_PASSWORD": password,
        "VALKEY_KEY_PREFIX": login.database,
    }


def postgres_environment(login: DatabaseEndpoint) -> pulumi.Output[dict[str, str]]:
    """`postgres_connection` of the login's generated password, secret."""
    return pulumi.Output.secret(login.password.apply(lambda password: postgres_connection(login, password)))


def valkey_environment(login: DatabaseEndpoint) -> pulumi.Output[dict[str, str]]:
    """`valkey_connection` of the login's generated password, secret."""
    return pulumi.Output.secret(login.password.apply(lambda password: valkey_connection(login, password)))


@dataclass(frozen=True)
class StoreAccess:
    """One shared store as an application sees it."""

    login: DatabaseEndpoint
    """The application's own login (host, port, database or key prefix, user, password)."""

    pods: PodGroup
    """The store's pods, which the application's pods may reach on `login.port`."""

    after: Sequence[pulumi.Resource] = ()
    """What of the store the access waits for (its namespace, the server, the application's own login): the
    store's `access_after[application]`. Default: nothing."""


@dataclass(frozen=True)
class SharedDataAccessArgs:
    """Arguments of `SharedDataAccess`."""

    application: str
    """The application's name (required)."""

    namespace: str
    """Its namespace (required; it must exist: see `after`)."""

    postgres: StoreAccess | None = None
    """Its login to the shared PostgreSQL. Default: none."""

    valkey: StoreAccess | None = None
    """Its login to the shared Valkey. Default: none."""

    connection_secrets: bool = True
    """Write the Secrets `shared-postgres`/`shared-valkey`; false where the application reads its connection from a
    Secret of its own shape (`ApplicationSecret`). Default: true."""

    after: Sequence[pulumi.Resource] = ()
    """What creates the namespace (the application's `DeliveredApplication`). Default: nothing."""


class SharedDataAccess(pulumi.ComponentResource):
    """The Secret `shared-postgres` and/or `shared-valkey` in the application's namespace (its manifests read them
    with `envFrom`), and for each store an egress policy there and an ingress policy at the store."""

    secret_names: dict[str, pulumi.Output[str]]
    """The Secrets written, by store."""

    def __init__(self, resource_name: str, args: SharedDataAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:apps:SharedDataAccess", resource_name, None, opts)
        if args.postgres is None and args.valkey is None:
            raise ValueError(f"{resource_name}: {args.application} uses no shared store")
        clients = PodGroup(namespace=args.namespace, labels={})  # every pod of the application
        stores = [
            (store, name, access, environment)
            for store, name, access, environment in (
                ("postgres", POSTGRES_SECRET, args.postgres, postgres_environment),
                ("valkey", VALKEY_SECRET, args.valkey, valkey_environment),
            )
            if access is not None
        ]
        self.secret_names = {}
        for store, name, access, environment in stores:
            after = pulumi.ResourceOptions(parent=self, depends_on=[*args.after, *access.after])
            if args.connection_secrets:
                secret = k8s.core.v1.Secret(
                    f"{resource_name}-{store}",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=name, namespace=args.namespace, labels=platform_labels(args.application)
                    ),
                    type="Opaque",
                    string_data=environment(access.login),
                    opts=after,
                )
                self.secret_names[store] = secret.metadata.name
            AllowTraffic(
                f"{resource_name}-to-shared-{store}",
                AllowTrafficArgs(
                    source=clients,
                    destination=access.pods,
                    ports=[access.login.port],
                    description=f"{args.application} uses the shared {store}",
                ),
                opts=after,
            )
        self.register_outputs({})
