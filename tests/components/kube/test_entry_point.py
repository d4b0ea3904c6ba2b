"""EntryPoint: /api to the backend, / to the frontend, the cluster's ingress class, TLS when configured."""

from __future__ import annotations

import pulumi
from pulumi.runtime import rpc

from components.kube.entry_point import EntryPoint, EntryPointArgs, Route
from components.contracts.tls import ExistingTlsSecret, TlsCertificate

ROUTES = (Route("/api", "face-api", 8000), Route("/", "frontend", 8080))
CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def declare_entry(declare, facts, tls=None):
    """`tls` is a function that makes the resolved TLS (Outputs need the mock engine running)."""
    return declare(
        lambda opts: EntryPoint(
            "face-recognition",
            EntryPointArgs(
                namespace="face-recognition",
                part_of="face-recognition",
                host="face.example.com",
                cluster=facts,
                routes=ROUTES,
                tls=tls() if tls else None,
            ),
            opts,
        )
    )


def test_routes_on_k3s_use_the_traefik_class(declare, k3s_cpu_facts):
    ingress = declare_entry(declare, k3s_cpu_facts).object("Ingress", "face-recognition")
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "traefik"
    assert "annotations" not in ingress["metadata"]
    (rule,) = spec["rules"]
    assert rule["host"] == "face.example.com"
    paths = [(p["path"], p["pathType"], p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"]) for p in rule["http"]["paths"]]
    assert paths == [("/api", "Prefix", "face-api", 8000), ("/", "Prefix", "frontend", 8080)]
    assert "tls" not in spec


def test_gke_names_its_class_by_annotation_and_turns_off_http_with_tls(declare, gke_gpu_facts):
    ingress = declare_entry(declare, gke_gpu_facts, tls=lambda: ExistingTlsSecret("face-tls")).object("Ingress", "face-recognition")
    assert "ingressClassName" not in ingress["spec"]
    assert ingress["metadata"]["annotations"] == {
        "kubernetes.io/ingress.class": "gce",
        "kubernetes.io/ingress.allow-http": "false",
    }
    assert ingress["spec"]["tls"] == [{"hosts": ["face.example.com"], "secretName": "face-tls"}]


def test_certificate_from_config_becomes_a_tls_secret_with_a_secret_key(declare, k3s_cpu_facts):
    deployment = declare_entry(
        declare, k3s_cpu_facts, tls=lambda: TlsCertificate(CERT, pulumi.Output.secret("PRIVATE KEY"))
    )
    secret = deployment.object("Secret", "face-recognition-tls")
    assert secret["type"] == "kubernetes.io/tls"
    assert rpc.is_rpc_secret(secret["stringData"])
    assert rpc.unwrap_rpc_secret(secret["stringData"]) == {"tls.crt": CERT, "tls.key": "PRIVATE KEY"}
    ingress = deployment.object("Ingress", "face-recognition")
    assert ingress["spec"]["tls"][0]["secretName"] == "face-recognition-tls"

