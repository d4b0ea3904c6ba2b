"""What a PostgreSQL store run by an operator needs of it: the contract between the CloudNativePG operator (a
platform component) and the stores that declare `Cluster` resources (data components)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi


@dataclass(frozen=True)
class PostgresOperator:
    """The CloudNativePG operator as its clusters see it."""

    namespace: str
    """Namespace of the operator's pods."""

    labels: Mapping[str, str]
    """Labels that select the operator's pods: it calls every instance on 8000 (status) and 5432."""

    crds: Sequence[pulumi.Resource]
    """What installs the CRDs and the admission webhooks: every `Cluster` and `Database` depends on it, so a first
    `up` on an empty cluster works and a destroy removes them while the operator can still finalise them."""
