"""DeliveredApplication: a hardened namespace kiban owns, an AppProject fencing the application in, and the
Application: automated with prune and self-heal in dev, by hand in prod, retried with backoff, after the CRDs."""

from __future__ import annotations

import pulumi_kubernetes as k8s
import pytest
from pydantic import ValidationError

from components.platform.argocd_application import DeliveredApplication, DeliveredApplicationArgs
from stack_config.argocd import ArgoApplication, ArgoCdConfig
from tools.crd_schema import schema_errors
from tools.render import restore_integers

APP = ArgoApplication.model_validate(
    {"name": "yomu", "repoUrl": "https://github.com/example/yomu.git", "path": "k8s/yomu", "targetRevision": "v1.0.0",
     "namespace": "yomu", "clusterResources": ["rbac.authorization.k8s.io/ClusterRole"]},
    by_name=False,
)


def declare_application(declare, facts, auto_sync: bool, writes_back: bool = False):
    def build(opts):
        crds = k8s.core.v1.ConfigMap("stand-in-for-the-argocd-release", opts=opts)
        DeliveredApplication(
            "yomu",
            DeliveredApplicationArgs(application=APP, cluster=facts, auto_sync=auto_sync, crds=[crds],
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
    assert application["spec"]["source"] == {"repoURL": APP.repo_url, "path": "k8s/yomu", "targetRevision": "v1.0.0"}


def test_the_project_fences_the_application_in(declare, k3s_cpu_facts):
    spec = declare_application(declare, k3s_cpu_facts, True).object("AppProject", "yomu")["spec"]
    assert spec["sourceRepos"] == [APP.repo_url]
    assert spec["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": "yomu"}]
    assert spec["clusterResourceWhitelist"] == [{"group": "rbac.authorization.k8s.io", "kind": "ClusterRole"}]


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
