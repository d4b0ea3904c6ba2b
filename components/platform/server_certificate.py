"""`issue_server_certificate`: a key and a TLS server certificate signed by kiban's CA, for a service on the LAN."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_tls as tls

from components.contracts.certificates import CertificateAuthority

CERT_VALIDITY_HOURS = 2 * 365 * 24
CERT_RENEWAL_HOURS = 30 * 24
"""An `up` within 30 days of a certificate's expiry issues a new one."""


@dataclass(frozen=True)
class ServerCertificate:
    certificate: pulumi.Output[str]
    """PEM of the certificate."""

    private_key: pulumi.Output[str]
    """PEM of its private key (an `Output.secret`)."""


def issue_server_certificate(
    name: str,
    authority: CertificateAuthority,
    *,
    common_name: str,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str] = (),
    opts: pulumi.ResourceOptions,
) -> ServerCertificate:
    """`<name>-key`, `<name>-csr` and `<name>-certificate` (ECDSA P-256, two years, renewed by an `up` in its last
    30 days) for `dns_names` and `ip_addresses`, signed by `authority`. `opts` must carry the `tls` provider."""
    key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
    request = tls.CertRequest(
        f"{name}-csr",
        private_key_pem=key.private_key_pem,
        dns_names=list(dns_names),
        ip_addresses=list(ip_addresses),
        subject=tls.CertRequestSubjectArgs(common_name=common_name, organization="kiban"),
        opts=opts,
    )
    certificate = tls.LocallySignedCert(
        f"{name}-certificate",
        cert_request_pem=request.cert_request_pem,
        ca_private_key_pem=authority.private_key,
        ca_cert_pem=authority.certificate,
        validity_period_hours=CERT_VALIDITY_HOURS,
        early_renewal_hours=CERT_RENEWAL_HOURS,
        allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
        opts=opts,
    )
    return ServerCertificate(certificate=certificate.cert_pem, private_key=pulumi.Output.secret(key.private_key_pem))
