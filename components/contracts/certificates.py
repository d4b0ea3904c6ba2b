"""`CertificateAuthority`: a CA kiban keeps, for the components that give a LAN service its TLS certificate."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class CertificateAuthority:
    """kiban's own CA (the build PC registry's, dev): whatever trusts it (the K3s nodes, the builder, a browser a
    person gave it to) trusts the server certificates it signs."""

    certificate: pulumi.Output[str]
    """PEM of the CA's certificate."""

    private_key: pulumi.Output[str]
    """PEM of the CA's private key (an `Output.secret`)."""
