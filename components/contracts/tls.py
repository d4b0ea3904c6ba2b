"""TLS for an entry point, resolved once from the stack config: the key is already paired with its certificate."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class TlsCertificate:
    """A certificate from stack config with its private key (a secret setting)."""

    certificate: str
    """PEM certificate chain."""

    private_key: pulumi.Output[str]
    """PEM private key (`Output.secret`)."""


@dataclass(frozen=True)
class ExistingTlsSecret:
    """A `kubernetes.io/tls` Secret something else keeps (cert-manager, a person)."""

    secret_name: str


IngressTls = TlsCertificate | ExistingTlsSecret
