"""`ApplicationSecret`: one Secret in the shape a delivered application's own manifests read (e.g. `yomu-secrets`
with `DATABASE_URL`, `VALKEY_URL`, `SESSION_SECRET` and OAuth credentials), so the application needs no change to run
on kiban: its connection to the shared stores, values generated once, and secret settings, each under the key the
application's config names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random

from components.apps.delivered.shared_data_access import postgres_connection, valkey_connection
from components.contracts.endpoint import DatabaseEndpoint
from components.contracts.labels import platform_labels

CONNECTION_KEYS: dict[str, str] = {
    "postgres.url": "DATABASE_URL",
    "postgres.host": "PGHOST",
    "postgres.port": "PGPORT",
    "postgres.database": "PGDATABASE",
    "postgres.username": "PGUSER",
    "postgres.password": "PGPASSWORD",
    "postgres.sslmode": "PGSSLMODE",
    "valkey.url": "VALKEY_URL",
    "valkey.host": "VALKEY_HOST",
    "valkey.port": "VALKEY_PORT",
    "valkey.username": "VALKEY_USERNAME",
    "valkey.password": "VALKEY_PASSWORD",
    "valkey.keyPrefix": "VALKEY_KEY_PREFIX",
}
"""Each store value an application's Secret may hold, and the key of the default connection Secret it comes from."""

GENERATED_LENGTH = 48


@dataclass(frozen=True)
class ApplicationSecretArgs:
    """Arguments of `ApplicationSecret`."""

    application: str
    """The application's name (required)."""

    namespace: str
    """Its namespace (required; it must exist: see `opts.depends_on`)."""

    name: str
    """The Secret's name, as the application's manifests read it (required)."""

    keys: Mapping[str, str]
    """Each key and what it holds: a `CONNECTION_KEYS` source, `generated` or `setting` (required)."""

    postgres: DatabaseEndpoint | None = None
    """Its login to the shared PostgreSQL, needed by `postgres.*` keys. Default: none."""

    valkey: DatabaseEndpoint | None = None
    """Its login to the shared Valkey, needed by `valkey.*` keys. Default: none."""

    settings: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    """The secret settings of `setting` keys, by key (each an `Output.secret`). Default: none."""


class ApplicationSecret(pulumi.ComponentResource):
    """The Secret, every value secret in Pulumi's state; a `generated` value is a `RandomPassword` of its own, made
    once and kept, so pods and sessions survive an `up`."""

    secret_name: pulumi.Output[str]
    """The Secret's name, once written."""

    def __init__(self, resource_name: str, args: ApplicationSecretArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:apps:ApplicationSecret", resource_name, None, opts)
        logins = {"postgres": args.postgres, "valkey": args.valkey}
        connections = {"postgres": postgres_connection, "valkey": valkey_connection}
        values: dict[str, pulumi.Output[str]] = {}
        for key, source in args.keys.items():
            store = source.partition(".")[0]
            if source in CONNECTION_KEYS:
                login = logins[store]
                if login is None:
                    raise ValueError(f"{resource_name}: {key} is {source}, but {args.application} has no {store} login")
                connection = connections[store]
                values[key] = login.password.apply(
                    lambda password, login=login, connection=connection, source=source: connection(login, password)[
                        CONNECTION_KEYS[source]
                    ]
                )
            elif source == "generated":
                values[key] = pulumi_random.RandomPassword(
                    f"{resource_name}-{key.lower().replace('_', '-').replace('.', '-')}",
                    length=GENERATED_LENGTH,
                    special=False,
                    opts=pulumi.ResourceOptions(parent=self),
                ).result
            elif source == "setting":
                if key not in args.settings:
                    raise ValueError(f"{resource_name}: {key} is a setting, but no value was handed over for it")
                values[key] = args.settings[key]
            else:
                raise ValueError(f"{resource_name}: {key} holds {source!r}, which kiban does not know")
        secret = k8s.core.v1.Secret(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.name, namespace=args.namespace, labels=platform_labels(args.application)
            ),
            type="Opaque",
            string_data=pulumi.Output.secret(pulumi.Output.all(**values)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.secret_name = secret.metadata.name
        self.register_outputs({"secret_name": self.secret_name})
