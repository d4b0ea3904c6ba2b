"""DeliveredApplication: a hardened namespace kiban owns with only the traffic the application asks for, an AppProject
fencing the application in (its namespace, application kinds only), an admission policy pinning its Ingresses to
the hosts it owns (its CEL run by a real evaluator), and the Application: automated with prune and self-heal in dev,
by hand in prod, retried with backoff, after the CRDs."""

from __future__ import annotations

import pulumi_kubernetes as k8s
import pytest
from pydantic import ValidationError

from components.platform.argocd_application import DeliveredApplication, DeliveredApplicationArgs
from components.platform.argocd_settings import ArgoApplication, ArgoCdConfig
from tools.crd_schema import schema_errors
from tools.manifests import restore_integers

APP = ArgoApplication.model_validate(
    {"name": "yomu", "repoUrl": "https://github.com/example/yomu.git", "path": "k8s/yomu", "targetRevision": "v1.0.0",
     "namespace": "yomu", "clusterResources": ["scheduling.k8s.io/PriorityClass"], "sourceType": "kustomize",
     "ingress": {"hosts": ["yomu.homelab.internal", "yomu.example.com"], "ports": [3000]},
     "egress": {"internet": True, "destinations": [{"name": "smtp-relay", "cidr": "192.168.0.25/32", "ports": [587]}]}},
    by_name=False,
)


def declare_application(declare, facts, auto_sync: bool, writes_back: bool = False, app: ArgoApplication = APP):
    def build(opts):
        crds = k8s.core.v1.ConfigMap("stand-in-for-the-argocd-release", opts=opts)
        DeliveredApplication(
            "yomu",
            DeliveredApplicationArgs(application=app, cluster=facts, auto_sync=auto_sync, crds=[crds],
                                     image_updater_writes_back=writes_back),
            opts,
        )

    return declare(build)


@pytest.mark.parametrize("auto_sync", [True, False], ids=["dev", "prod"])
def test_application_and_project_pass_their_crd_schemas(declare, k3s_cpu_facts, auto_sync):
    deployment = declare_application(declare, k3s_cpu_facts, auto_sync)
    application = restore_integers(deployment.object("Application", "yomu"))
    project = restore_integers(deployment.object("AppProject", "yomu"))
    assert schema_errors(application) == [] and schema_errors(project) == []
    policy = application["spec"]["syncPolicy"]
    assert policy["syncOptions"] == ["CreateNamespace=false"], "kiban owns the namespace"
    assert policy["retry"] == {"limit": 3, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}
    if auto_sync:
        assert policy["automated"] == {"prune": True, "selfHeal": True}
    else:
        assert "automated" not in policy, "prod: a person syncs each release"
    assert application["spec"]["source"] == {
        "repoURL": APP.repo_url, "path": "k8s/yomu", "targetRevision": "v1.0.0", "kustomize": {}
    }, "the source type is said, so Image Updater sees a kustomize application"


def test_the_project_fences_the_application_in(declare, k3s_cpu_facts):
    spec = declare_application(declare, k3s_cpu_facts, True).object("AppProject", "yomu")["spec"]
    assert spec["sourceRepos"] == [APP.repo_url]
    assert spec["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": "yomu"}]
    assert spec["clusterResourceWhitelist"] == [{"group": "scheduling.k8s.io", "kind": "PriorityClass"}]
    allowed = {(k["group"], k["kind"]) for k in spec["namespaceResourceWhitelist"]}
    assert ("apps", "Deployment") in allowed and ("batch", "Job") in allowed and ("networking.k8s.io", "Ingress") in allowed
    assert not any(group == "*" or kind == "*" for group, kind in allowed), "no wildcard: only application kinds"
    for group, kind in [("networking.k8s.io", "NetworkPolicy"), ("", "ResourceQuota"), ("", "LimitRange"),
                        ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"),
                        ("", "Secret"), ("argoproj.io", "Application")]:
        assert (group, kind) not in allowed, kind


@pytest.mark.parametrize(
    "key, kind, reason",
    [
        ("namespacedResources", "networking.k8s.io/NetworkPolicy", "default-deny"),
        ("namespacedResources", "ResourceQuota", "quotas"),
        ("namespacedResources", "rbac.authorization.k8s.io/RoleBinding", "RBAC"),
        ("namespacedResources", "Secret", "kiban writes"),
        ("clusterResources", "rbac.authorization.k8s.io/ClusterRole", "RBAC"),
        ("clusterResources", "admissionregistration.k8s.io/ValidatingWebhookConfiguration", "webhooks"),
        ("clusterResources", "apiextensions.k8s.io/CustomResourceDefinition", "CRD"),
    ],
)
def test_kinds_that_would_let_an_application_out_are_refused_with_the_reason(key, kind, reason):
    base = {"name": "yomu", "repoUrl": "https://github.com/example/yomu.git", "targetRevision": "main", "namespace": "yomu"}
    with pytest.raises(ValidationError, match=f"(?s){key}.*{reason}"):
        ArgoCdConfig.model_validate({"applications": [{**base, key: [kind]}]}, by_name=False)


def test_the_namespace_admits_the_ingress_controller_and_lets_the_application_out_as_configured(declare, k3s_cpu_facts):
    deployment = declare_application(declare, k3s_cpu_facts, True)
    policies = {p["metadata"]["name"]: p["spec"] for p in deployment.objects("NetworkPolicy")}
    inbound = policies["allow-yomu-from-ingress-in"]
    assert inbound["podSelector"] == {"matchLabels": {}} and inbound["policyTypes"] == ["Ingress"], "every pod"
    (rule,) = inbound["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 3000}]
    source = k3s_cpu_facts.ingress.source
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": dict(source.namespace_labels)},
                             "podSelector": {"matchLabels": dict(source.pod_labels)}}], "Traefik's pods only"
    outbound = policies["allow-yomu-out"]
    assert outbound["podSelector"] == {} and outbound["policyTypes"] == ["Egress"]
    internet, relay = outbound["egress"]
    v4 = internet["to"][0]["ipBlock"]
    assert v4["cidr"] == "0.0.0.0/0" and {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(v4["except"])
    assert internet["ports"] == [{"protocol": "TCP", "port": 443}]
    assert relay == {"to": [{"ipBlock": {"cidr": "192.168.0.25/32"}}], "ports": [{"protocol": "TCP", "port": 587}]}


def test_an_application_that_asks_for_nothing_gets_no_traffic(declare, k3s_cpu_facts):
    quiet = APP.model_copy(update={"ingress": None, "egress": APP.egress.model_copy(update={"internet": False, "destinations": []})})
    names = {p["metadata"]["name"] for p in declare_application(declare, k3s_cpu_facts, True, app=quiet).objects("NetworkPolicy")}
    assert names == {"default-deny", "allow-dns"}


def test_baseline_pod_security_needs_a_reason_and_lands_on_the_namespace(declare, k3s_cpu_facts):
    base = {"name": "yomu", "repoUrl": "https://github.com/example/yomu.git", "targetRevision": "main", "namespace": "yomu"}
    with pytest.raises(ValidationError, match="podSecurity: baseline needs podSecurityReason"):
        ArgoApplication.model_validate({**base, "podSecurity": "baseline"}, by_name=False)
    relaxed = ArgoApplication.model_validate(
        {**base, "podSecurity": "baseline", "podSecurityReason": "its image runs as root"}, by_name=False
    )
    labels = declare_application(declare, k3s_cpu_facts, True, app=relaxed).object("Namespace", "yomu")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_hosts_have_one_owner():
    base = {"repoUrl": "https://github.com/example/a.git", "targetRevision": "main"}
    a = {**base, "name": "a", "namespace": "a", "ingress": {"hosts": ["a.example.com"], "ports": [80]}}
    b = {**base, "name": "b", "namespace": "b", "ingress": {"hosts": ["b.example.com", "a.example.com"], "ports": [80]}}
    with pytest.raises(ValidationError, match=r"applications\[1\].ingress.hosts: 'a.example.com' belongs to application 'a'"):
        ArgoCdConfig.model_validate({"applications": [a, b]}, by_name=False)
    with pytest.raises(ValidationError, match=r"'argocd.example.com' belongs to Argo CD"):
        ArgoCdConfig.model_validate(
            {"host": "argocd.example.com", "applications": [{**a, "ingress": {"hosts": ["argocd.example.com"], "ports": [80]}}]},
            by_name=False,
        )
    for host in ("10.0.0.1", "*.example.com", "Yomu.example.com"):
        with pytest.raises(ValidationError, match="ingress.hosts"):
            ArgoCdConfig.model_validate({"applications": [{**a, "ingress": {"hosts": [host], "ports": [80]}}]}, by_name=False)


def test_namespace_is_hardened_and_the_custom_resources_wait_for_the_crds(declare, k3s_cpu_facts):
    deployment = declare_application(declare, k3s_cpu_facts, True)
    labels = deployment.object("Namespace", "yomu")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {p["metadata"]["name"] for p in deployment.objects("NetworkPolicy")} >= {"default-deny", "allow-dns"}
    for kind in ("Application", "AppProject"):
        dependencies = deployment.registration(kind, "yomu").dependencies
        assert any(d.endswith("::stand-in-for-the-argocd-release") for d in dependencies), kind
    assert deployment.registration("AppProject", "yomu").urn in deployment.registration("Application", "yomu").dependencies
    assert deployment.object("Application", "yomu")["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]


def test_argocd_write_back_is_kept_by_ignoring_exactly_its_fields(declare, k3s_cpu_facts):
    written = declare_application(declare, k3s_cpu_facts, True, writes_back=True).registration("Application", "yomu")
    assert set(written.ignore_changes) == {"spec.source.kustomize.images", "spec.source.helm.parameters"}
    assert declare_application(declare, k3s_cpu_facts, True).registration("Application", "yomu").ignore_changes == ()


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"name": "Yomu"}, "applications.0.name"),
        ({"repoUrl": "ftp://x"}, "is not a git repository URL"),
        ({"targetRevision": "main branch"}, "is not a git revision"),
        ({"clusterResources": ["clusterrole"]}, "group/Kind"),
        ({"repo_url": "https://x/y.git"}, "repo_url"),
    ],
)
def test_a_bad_application_entry_is_refused_naming_the_key(entry, message):
    base = {"name": "yomu", "repoUrl": "https://github.com/example/yomu.git", "targetRevision": "main", "namespace": "yomu"}
    with pytest.raises(ValidationError, match=message):
        ArgoCdConfig.model_validate({"autoSync": True, "applications": [{**base, **entry}]}, by_name=False)


def test_two_applications_never_share_a_namespace():
    app = {"name": "a", "repoUrl": "https://github.com/example/a.git", "targetRevision": "main", "namespace": "shared"}
    with pytest.raises(ValidationError, match="the namespace"):
        ArgoCdConfig.model_validate({"applications": [app, {**app, "name": "b"}]}, by_name=False)
