"""`kiban:sharedData`: the data stores shared by the applications Argo CD delivers (the homelab's shared PostgreSQL
and Valkey). An application asks for them with `sharedData` in its `kiban:argocd.applications` entry; kiban then
creates its database and login, or its Valkey user, and writes the connection into a Secret of its namespace."""

from __future__ import annotations

from components.contracts.settings import ConfigModel
from components.contracts.stores import SharedPostgresSettings, SharedStore, SharedValkeySettings


class SharedDataConfig(ConfigModel):
    """The shared stores; each is created only when it is configured."""

    postgres: SharedPostgresSettings | None = None
    """The shared PostgreSQL. Default: unset, none."""

    valkey: SharedValkeySettings | None = None
    """The shared Valkey. Default: unset, none."""

    def enabled(self) -> set[SharedStore]:
        """The stores this stack runs."""
        return {store for store in ("postgres", "valkey") if getattr(self, store) is not None}
