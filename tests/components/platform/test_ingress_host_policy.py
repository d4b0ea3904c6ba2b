"""The admission policy that confines an application's Ingresses to the hosts it owns: its CEL run by a real
evaluator (cel-python) against the Ingresses an application could ship, and the rendered policy validated by
kubernetes-validate (tests/policy/test_rendered_manifests.py, strict, the stack's Kubernetes version)."""

from __future__ import annotations

import celpy
import pytest

from components.platform.argocd_application import ingress_host_policy, ingress_host_rules

HOSTS = ["yomu.homelab.internal", "yomu.example.com"]


def refused(ingress: dict, hosts: list[str] = HOSTS) -> list[str]:
    """The messages of the validations `ingress` fails, as the API server would return them."""
    environment = celpy.Environment()
    activation = {"object": celpy.json_to_cel(ingress)}
    return [
        rule["message"]
        for rule in ingress_host_rules(hosts)
        if not environment.program(environment.compile(rule["expression"])).evaluate(activation)
    ]


def ingress(rules: list[dict] | None = None, **spec) -> dict:
    body = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "yomu", "namespace": "yomu"},
            "spec": {**({"rules": rules} if rules is not None else {}), **spec}}
    return body


BACKEND = {"service": {"name": "yomu-api", "port": {"number": 80}}}
PATHS = {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": BACKEND}]}}


def test_its_own_hosts_are_admitted():
    assert refused(ingress([{"host": h, **PATHS} for h in HOSTS])) == []
    assert refused(ingress([{"host": HOSTS[0], **PATHS}], tls=[{"hosts": [HOSTS[0]], "secretName": "yomu-tls"}])) == []


@pytest.mark.parametrize(
    "body, why",
    [
        (ingress([{"host": "face.homelab.internal", **PATHS}]), "another application's or kiban's host"),
        (ingress([{"host": HOSTS[0], **PATHS}, {"host": "argocd.homelab.internal", **PATHS}]), "one foreign rule"),
        (ingress([PATHS]), "a rule without a host answers for every host"),
        (ingress([{"host": "*.homelab.internal", **PATHS}]), "a wildcard"),
        (ingress(defaultBackend=BACKEND), "a default backend answers for every host"),
        (ingress([{"host": HOSTS[0], **PATHS}], tls=[{"hosts": ["face.homelab.internal"], "secretName": "x"}]), "TLS for another host"),
        (ingress([{"host": HOSTS[0], **PATHS}], tls=[{"secretName": "x"}]), "TLS without hosts"),
    ],
)
def test_anything_else_is_refused(body, why):
    assert refused(body), why


def test_an_application_without_hosts_may_ship_no_ingress():
    assert refused(ingress([{"host": "yomu.homelab.internal", **PATHS}]), hosts=[])


def test_the_policy_is_bound_to_the_application_namespace_only():
    policy, binding = ingress_host_policy("kiban-ingress-hosts-yomu", "yomu", HOSTS)
    assert policy["failurePolicy"] == "Fail"
    (rule,) = policy["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["ingresses"] and set(rule["operations"]) == {"CREATE", "UPDATE"}
    assert binding["validationActions"] == ["Deny"] and binding["policyName"] == "kiban-ingress-hosts-yomu"
    assert binding["matchResources"] == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "yomu"}}}
