"""`DatabaseEndpoint`: how a client reaches and logs in to a data store kiban runs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class DatabaseEndpoint:
    """Where a data store listens and whom to log in as; the password is an `Output.secret`."""

    host: str
    """In-cluster DNS name of the store's Service."""

    port: int
    """TCP port clients connect to."""

    database: str
    """Database clients use."""

    username: str
    """User clients log in as."""

    password: pulumi.Output[str]
    """That user's password (`Output.secret`): copy it into the client's own Secret, never into env literals."""
