"""PlatformNamespace: Pod Security labels pinned to the cluster version, default-deny plus DNS."""

from __future__ import annotations

import pytest

from components.kube.namespace import PlatformNamespace, PlatformNamespaceArgs


def test_restricted_by_default_with_default_deny_and_dns(declare, k3s_cpu_facts):
    deployment = declare(
        lambda opts: PlatformNamespace("apps", PlatformNamespaceArgs(name="apps", cluster=k3s_cpu_facts, part_of="t"), opts)
    )
    labels = deployment.object("Namespace", "apps")["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.35"
    deny = deployment.object("NetworkPolicy", "default-deny")
    assert deny["metadata"]["namespace"] == "apps"
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = deployment.object("NetworkPolicy", "allow-dns")["spec"]
    assert dns["policyTypes"] == ["Egress"]
    (rule,) = dns["egress"]
    assert rule["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert sorted((p["protocol"], p["port"]) for p in rule["ports"]) == [("TCP", 53), ("UDP", 53)]
    assert deployment.registration("NetworkPolicy", "default-deny").dependencies, "created after the namespace"


def test_a_weaker_level_needs_a_reason(declare, k3s_cpu_facts):
    with pytest.raises(ValueError, match="needs a stated reason"):
        declare(
            lambda opts: PlatformNamespace(
                "sys", PlatformNamespaceArgs(name="sys", cluster=k3s_cpu_facts, part_of="t", pod_security="privileged"), opts
            )
        )
    deployment = declare(
        lambda opts: PlatformNamespace(
            "sys",
            PlatformNamespaceArgs(
                name="sys", cluster=k3s_cpu_facts, part_of="t", pod_security="privileged", pod_security_reason="hostPath"
            ),
            opts,
        )
    )
    namespace = deployment.object("Namespace", "sys")["metadata"]
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert namespace["labels"]["pod-security.kubernetes.io/warn"] == "restricted"
    assert namespace["annotations"] == {"kiban.dev/pod-security-reason": "hostPath"}


def test_a_namespace_holding_data_can_be_protected(declare, k3s_cpu_facts):
    deployment = declare(
        lambda opts: PlatformNamespace(
            "data", PlatformNamespaceArgs(name="data", cluster=k3s_cpu_facts, part_of="t", protect=True), opts
        )
    )
    assert deployment.registration("Namespace", "data").protect
    assert not deployment.registration("NetworkPolicy", "default-deny").protect
