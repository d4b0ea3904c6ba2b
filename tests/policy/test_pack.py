"""The policy pack: each rule has passing and failing cases, every stack passes every rule (the same functions
the pack runs), and the CrossGuard wrappers report what the rules find."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs

from policy.pack import policies
from policy.rules import RESOURCE_RULES, STACK_RULES, Resource, Settings
from tools.mock_engine import ROOT, available_stacks, run_program, stack_config
from tools.manifests import unwrapped

DEV, PROD = Settings(environment="dev"), Settings(environment="prod")
MOVING_ALLOWED = Settings(environment="dev", allow_mutable_tags=True)
CNPG, RELEASE = "kubernetes:postgresql.cnpg.io/v1:Cluster", "kubernetes:helm.sh/v3:Release"
HARDENED = {
    "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}


def deployment(name="web", namespace="apps", image="r.example/web:1.2.3", **container: Any) -> Resource:
    spec = {"name": name, "image": image, "resources": RESOURCES, "securityContext": HARDENED, **container}
    pod = {"containers": [spec], "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}}
    return Resource(
        "kubernetes:apps/v1:Deployment",
        name,
        {"metadata": {"name": name, "namespace": namespace}, "spec": {"template": {"spec": pod}}},
    )


def with_pod(resource: Resource, **pod: Any) -> Resource:
    props = copy.deepcopy(dict(resource.props))
    props["spec"]["template"]["spec"].update(pod)
    return Resource(resource.type, resource.name, props, resource.protect)


CASES = [
    # (rule, settings, resource, violations expected)
    ("immutable-images", PROD, deployment(), 0),
    ("immutable-images", PROD, deployment(image="r.example/web@sha256:" + "a" * 64), 0),
    ("immutable-images", PROD, deployment(image="r.example/web:latest"), 1),
    ("immutable-images", PROD, deployment(image="r.example/web:main"), 1),
    ("immutable-images", PROD, deployment(image="r.example/web:latest-2"), 1),
    ("immutable-images", PROD, deployment(image="docker.io/pgsty/mc:RELEASE.2026-09-16T00-00-00Z"), 0),
    ("immutable-images", PROD, deployment(image="r.example/web"), 1),
    ("immutable-images", DEV, deployment(image="r.example/web:latest"), 1),
    ("immutable-images", MOVING_ALLOWED, deployment(image="r.example/web:latest"), 0),
    # A line that follows its newest release moves as surely as `latest`.
    *(("immutable-images", PROD, deployment(image=f"r.example/web:{tag}"), 1)
      for tag in ("15", "3", "v2", "24-alpine", "alpine3.22", "stable-1.2", "1234567")),
    *(("immutable-images", PROD, deployment(image=f"r.example/web:{tag}"), 0)
      for tag in ("15.18-alpine", "v2.6.11-gpu", "12.6.3-cudnn-runtime-ubuntu24.04", "3.13.9-alpine3.22",
                  "sha-0123456789ab", "17.6-202511110801-standard-trixie", "v1.0.0")),
    # CloudNativePG's operand image, and images a Helm release's values set.
    ("immutable-images", PROD, Resource(CNPG, "pg", {"spec": {"imageName": "ghcr.io/cloudnative-pg/postgresql:17"}}), 1),
    ("immutable-images", DEV, Resource(CNPG, "pg", {"spec": {"imageName": "ghcr.io/cloudnative-pg/postgresql:17.6-202511110801-standard-trixie"}}), 0),
    ("immutable-images", PROD, Resource(RELEASE, "r", {"values": {"server": {"image": {"repository": "q.io/x", "tag": "latest"}}}}), 1),
    ("immutable-images", PROD, Resource(RELEASE, "r", {"values": {"redis": {"image": "docker.io/library/redis:8"}}}), 1),
    ("immutable-images", PROD, Resource(RELEASE, "r", {"values": {"server": {"image": {"repository": "q.io/x", "tag": "v3.4.4"}}}}), 0),
    ("no-withdrawn-images", PROD, deployment(), 0),
    ("no-withdrawn-images", DEV, deployment(image="docker.io/minio/minio:RELEASE.2024-12-18T13-15-44Z"), 1),
    ("no-withdrawn-images", PROD, deployment(image="minio/mc:RELEASE.2024-11-21T17-21-54Z"), 1),
    ("no-withdrawn-images", PROD, deployment(image="docker.io/pgsty/silo:RELEASE.2026-09-16T00-00-00Z"), 0),
    ("no-withdrawn-images", PROD, Resource(RELEASE, "r", {"values": {"redis": {"image": {"registry": "docker.io", "repository": "bitnami/redis", "tag": "8.2.1"}}}}), 1),
    ("no-withdrawn-images", DEV, Resource(CNPG, "pg", {"spec": {"imageName": "ghcr.io/cloudnative-pg/postgresql:17.6-202511110801-standard-trixie"}}), 0),
    ("container-resources", PROD, deployment(), 0),
    ("container-resources", PROD, deployment(resources={"requests": {"cpu": "1"}}), 1),
    ("pod-security-restricted", PROD, deployment(), 0),
    ("pod-security-restricted", PROD, deployment(securityContext={"privileged": True}), 1),
    ("pod-security-restricted", PROD, deployment(namespace="nvidia-device-plugin", securityContext={"privileged": True}), 0),
    ("gpu-placement", PROD, with_pod(deployment(name="face-api", resources={**RESOURCES, "limits": {"memory": "1Gi", "nvidia.com/gpu": "1"}}),
                                     tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists"}]), 0),
    ("gpu-placement", PROD, deployment(name="face-api", resources={**RESOURCES, "limits": {"memory": "1Gi", "nvidia.com/gpu": "1"}}), 1),
    ("gpu-placement", PROD, with_pod(deployment(name="miner", resources={**RESOURCES, "limits": {"memory": "1Gi", "nvidia.com/gpu": "1"}}),
                                     tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists"}]), 1),
    ("secrets-by-reference", PROD, deployment(env=[{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]), 0),
    ("secrets-by-reference", PROD, deployment(env=[{"name": "POSTGRES_PASSWORD_FILE", "value": "/run/secrets/p"}]), 0),
    ("secrets-by-reference", PROD, deployment(env=[{"name": "DB_PASSWORD", "value": "hunter2"}]), 1),
    ("secrets-by-reference", PROD, deployment(env=[{"name": "JWT_SECRET", "value": "x"}]), 1),
    ("prod-applications-sync-by-hand", PROD, Resource("kubernetes:argoproj.io/v1alpha1:Application", "a", {"spec": {"syncPolicy": {"retry": {}}}}), 0),
    ("prod-applications-sync-by-hand", PROD, Resource("kubernetes:argoproj.io/v1alpha1:Application", "a", {"spec": {"syncPolicy": {"automated": {}}}}), 1),
    ("prod-applications-sync-by-hand", DEV, Resource("kubernetes:argoproj.io/v1alpha1:Application", "a", {"spec": {"syncPolicy": {"automated": {}}}}), 0),
    ("no-public-load-balancer", PROD, Resource("kubernetes:core/v1:Service", "s", {"metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}}), 0),
    ("no-public-load-balancer", PROD, Resource("kubernetes:core/v1:Service", "s", {"metadata": {"name": "s"}, "spec": {"type": "LoadBalancer"}}), 1),
    ("no-public-load-balancer", PROD, Resource("kubernetes:core/v1:Service", "s", {"metadata": {"name": "s", "annotations": {"networking.gke.io/load-balancer-type": "Internal"}}, "spec": {"type": "LoadBalancer"}}), 0),
    ("prod-no-image-updater", PROD, Resource("kubernetes:argocd-image-updater.argoproj.io/v1alpha1:ImageUpdater", "u", {"spec": {}}), 1),
    ("prod-no-image-updater", PROD, Resource("kubernetes:helm.sh/v3:Release", "u", {"chart": "argocd-image-updater"}), 1),
    ("prod-no-image-updater", PROD, Resource("kubernetes:helm.sh/v3:Release", "cd", {"chart": "argo-cd"}), 0),
    ("prod-no-image-updater", DEV, Resource("kubernetes:argocd-image-updater.argoproj.io/v1alpha1:ImageUpdater", "u", {"spec": {}}), 0),
    ("prod-no-secret-logging", PROD, deployment(env=[{"name": "LOGURU_LEVEL", "value": "WARNING"}], command=["faceapi", "--log-level", "warning"]), 0),
    ("prod-no-secret-logging", PROD, deployment(env=[{"name": "LOGURU_LEVEL", "value": "DEBUG"}]), 1),
    ("prod-no-secret-logging", PROD, deployment(command=["faceapi", "--log-level", "info"]), 1),
    ("prod-no-secret-logging", PROD, deployment(args=["--log-level=trace"]), 1),
    ("prod-no-secret-logging", DEV, deployment(env=[{"name": "LOGURU_LEVEL", "value": "DEBUG"}]), 0),
    ("no-public-load-balancer", Settings(public_load_balancers=("default/s",)), Resource("kubernetes:core/v1:Service", "s", {"metadata": {"name": "s"}, "spec": {"type": "LoadBalancer"}}), 0),
]


@pytest.mark.parametrize("rule, settings, resource, expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_resource_rules_pass_and_fail(rule, settings, resource, expected):
    assert bool(RESOURCE_RULES[rule](resource, settings)) == bool(expected)


def test_every_resource_rule_has_a_passing_and_a_failing_case():
    for name in RESOURCE_RULES:
        outcomes = {len(RESOURCE_RULES[name](r, s)) > 0 for rule, s, r, _ in CASES if rule == name}
        assert outcomes == {True, False}, name


DENY = Resource("kubernetes:networking.k8s.io/v1:NetworkPolicy", "d", {"metadata": {"namespace": "apps"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
ALLOW = Resource("kubernetes:networking.k8s.io/v1:NetworkPolicy", "a", {"metadata": {"namespace": "apps"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{}]}})
STATEFUL = Resource("kubernetes:apps/v1:StatefulSet", "db", {"metadata": {"name": "db", "namespace": "data"}})
NAMESPACE = Resource("kubernetes:core/v1:Namespace", "data", {"metadata": {"name": "data"}})
GPU_POOL = Resource("gcp:container/nodePool:NodePool", "gpu", {"nodeConfig": {"guestAccelerators": [{"type": "nvidia-l4"}]}})


def protected(r: Resource) -> Resource:
    return Resource(r.type, r.name, r.props, protect=True)


def test_default_deny_everywhere():
    rule = STACK_RULES["default-deny-everywhere"]
    assert rule([deployment(), DENY], PROD) == []
    assert rule([deployment(), ALLOW], PROD) == ["namespace apps runs pods without a default-deny NetworkPolicy"]
    assert rule([deployment()], PROD)


def test_prod_data_protected():
    rule = STACK_RULES["prod-data-protected"]
    everything = [protected(STATEFUL), protected(NAMESPACE), protected(GPU_POOL)]
    assert rule(everything, PROD) == []
    assert len(rule([STATEFUL, NAMESPACE, GPU_POOL], PROD)) == 3
    assert rule([STATEFUL, NAMESPACE, GPU_POOL], DEV) == [], "dev's data may be thrown away"
    # An operator's PostgreSQL: its Cluster, its databases and the namespace holding them.
    cluster = Resource("kubernetes:postgresql.cnpg.io/v1:Cluster", "shared", {"metadata": {"name": "shared", "namespace": "pg"}})
    database = Resource("kubernetes:postgresql.cnpg.io/v1:Database", "yomu", {"metadata": {"name": "yomu", "namespace": "pg"}})
    namespace = Resource("kubernetes:core/v1:Namespace", "pg", {"metadata": {"name": "pg"}})
    assert len(rule([cluster, database, namespace], PROD)) == 3
    assert rule([protected(cluster), protected(database), protected(namespace)], PROD) == []


def stack_settings(stack: str) -> Settings:
    config = json.loads((ROOT / "policy" / f"config.{stack}.json").read_text())
    assert set(config) == set(RESOURCE_RULES) | set(STACK_RULES), "every policy is configured for the stack"
    (shared,) = {json.dumps(c, sort_keys=True) for c in config.values()}
    return Settings.from_config(json.loads(shared))


@pytest.fixture(scope="module")
def stacks() -> dict[str, list[Resource]]:
    return {
        stack: [Resource(r.type, r.name, unwrapped(r.inputs), r.protect) for r in run_program(stack).registrations if r.custom]
        for stack in available_stacks()
    }


@pytest.mark.parametrize("stack", available_stacks())
def test_every_stack_passes_every_policy(stack, stacks):
    settings = stack_settings(stack)
    assert settings.environment == stack
    problems = [p for rule in RESOURCE_RULES.values() for r in stacks[stack] for p in rule(r, settings)]
    problems += [p for rule in STACK_RULES.values() for p in rule(stacks[stack], settings)]
    assert problems == []


# dev without its build PC registry, so without kiban's CA: its Argo CD UI has no certificate, so no host either.
WITHOUT_REGISTRY = {
    "kiban:registry": None,
    "kiban:argocd": {k: v for k, v in stack_config("dev")["kiban:argocd"].items() if k != "host"},
}


def test_prod_settings_would_catch_dev(stacks):
    prod = stack_settings("prod")
    # dev follows latest pinned to the digest it points to at `up`, which prod's rule accepts...
    pinned = [p for r in stacks["dev"] for p in RESOURCE_RULES["immutable-images"](r, prod)]
    assert not [p for p in pinned if "face-api" in p or "frontend" in p], pinned
    # ...and without a registry to read that digest from, dev's moving tag itself would reach the pods: prod refuses it.
    unpinned = [Resource(r.type, r.name, unwrapped(r.inputs), r.protect)
                for r in run_program("dev", WITHOUT_REGISTRY).registrations if r.custom]
    caught = [p for r in unpinned for p in RESOURCE_RULES["immutable-images"](r, prod)]
    assert any("'latest' moves" in p for p in caught), "dev follows latest, which prod refuses"
    assert STACK_RULES["prod-data-protected"](stacks["dev"], prod), "dev protects nothing"


def _options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def test_the_crossguard_wrappers_report_what_the_rules_find():
    by_name = {p.name: p for p in policies()}
    assert set(by_name) == set(RESOURCE_RULES) | set(STACK_RULES)
    bad = deployment(image="r.example/web:latest")
    reported: list[str] = []
    args = ResourceValidationArgs(bad.type, bad.props, "urn:x", bad.name, _options(), None, {"environment": "prod"})
    by_name["immutable-images"].validate(args, lambda message, urn: reported.append(message))
    assert len(reported) == 1 and "'latest' moves" in reported[0]
    reported.clear()
    resource = PolicyResource(STATEFUL.type, STATEFUL.props, "urn:db", "db", _options(protect=False), None, None, [], {})
    stack_args = StackValidationArgs([resource], {"environment": "prod"})
    by_name["prod-data-protected"].validate(stack_args, lambda message, urn: reported.append(message))
    assert reported == ["StatefulSet data/db is a data store and is not protected in prod"]


def test_prods_promises_are_checked_again_by_the_pack_where_the_config_was_told_otherwise():
    """The config refuses these on a production stack; a stack file that says `environment: development` gets them
    past the config, and the pack, configured for prod, still reports each."""
    prod_config = stack_config("prod")
    face = prod_config["kiban:faceRecognition"]
    application = {**prod_config["kiban:argocd"]["applications"][0], "targetRevision": "main"}
    overrides = {
        "kiban:environment": "development",
        "kiban:argocd": {**prod_config["kiban:argocd"], "autoSync": True, "imageUpdater": {}, "applications": [application]},
        "kiban:faceRecognition": {**face, "backend": {**face["backend"], "logLevel": "debug", "allowSensitiveLogs": True}},
        "kiban:dataSafety": {"protect": False},
    }
    resources = [Resource(r.type, r.name, unwrapped(r.inputs), r.protect) for r in run_program("prod", overrides).registrations if r.custom]
    settings = stack_settings("prod")
    for rule in ("prod-no-image-updater", "prod-no-secret-logging", "prod-applications-sync-by-hand"):
        assert [p for r in resources for p in RESOURCE_RULES[rule](r, settings)], rule
    assert STACK_RULES["prod-data-protected"](resources, settings)


# --- every policy fails on each stack it applies to ----------------------------------------------------------------
# Each breaker changes one of the stack's own resources the way a careless edit would; the policy must catch it on
# every stack it covers (and a prod-only policy must stay silent on dev).

PODS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")


def _replace(resources: list[Resource], index: int, edit) -> list[Resource]:
    props = copy.deepcopy(dict(resources[index].props))
    protect = edit(props)
    changed = Resource(resources[index].type, resources[index].name, props,
                       resources[index].protect if protect is None else protect)
    return [*resources[:index], changed, *resources[index + 1:]]


def _first(resources: list[Resource], wanted) -> int:
    found = [i for i, r in enumerate(resources) if wanted(r)]
    assert found, "the stack has nothing this breaker changes"
    return found[0]


def _container(props: dict) -> dict:
    return props["spec"]["template"]["spec"]["containers"][0]


def _namespace(r: Resource) -> str:
    return (r.props.get("metadata") or {}).get("namespace", "default")


def _break_tag(props):
    container = _container(props)
    container["image"] = container["image"].split("@")[0].rsplit(":", 1)[0] + ":15"


def _break_withdrawn(props):
    _container(props)["image"] = "docker.io/minio/minio:RELEASE.2024-12-18T13-15-44Z"  # deleted on 2026-09-12


def _break_resources(props):
    _container(props).pop("resources", None)


def _break_security(props):
    _container(props).setdefault("securityContext", {})["privileged"] = True


def _break_gpu(props):
    _container(props).setdefault("resources", {}).setdefault("limits", {})["nvidia.com/gpu"] = "1"


def _break_secret(props):
    _container(props).setdefault("env", []).append({"name": "API_TOKEN", "value": "hunter2"})


def _break_logging(props):
    _container(props).setdefault("env", []).append({"name": "LOGURU_LEVEL", "value": "DEBUG"})


def _break_sync(props):
    props["spec"].setdefault("syncPolicy", {})["automated"] = {"prune": True}


def _break_service(props):
    props["spec"]["type"] = "LoadBalancer"


def _is_default_deny(r: Resource) -> bool:
    return r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy" and not STACK_RULES["default-deny-everywhere"](
        [deployment(namespace=_namespace(r)), r], PROD)


def _drop_default_deny(resources: list[Resource]) -> list[Resource]:
    """The stack without the default-deny policies of the first namespace that runs pods."""
    namespace = _namespace(resources[_first(resources, lambda r: r.type in PODS)])
    return [r for r in resources if not (_is_default_deny(r) and _namespace(r) == namespace)]


BREAKERS = {
    "immutable-images": lambda rs, s: _replace(rs, _first(rs, lambda r: r.type in PODS), _break_tag),
    "no-withdrawn-images": lambda rs, s: _replace(rs, _first(rs, lambda r: r.type in PODS), _break_withdrawn),
    "container-resources": lambda rs, s: _replace(rs, _first(rs, lambda r: r.type in PODS), _break_resources),
    "pod-security-restricted": lambda rs, s: _replace(
        rs, _first(rs, lambda r: r.type in PODS and _namespace(r) not in s.pod_security_exceptions), _break_security),
    "gpu-placement": lambda rs, s: _replace(
        rs, _first(rs, lambda r: r.type in PODS and (r.props.get("metadata") or {}).get("name") not in s.gpu_workloads),
        _break_gpu),
    "secrets-by-reference": lambda rs, s: _replace(rs, _first(rs, lambda r: r.type in PODS), _break_secret),
    "prod-applications-sync-by-hand": lambda rs, s: _replace(
        rs, _first(rs, lambda r: r.type == "kubernetes:argoproj.io/v1alpha1:Application"), _break_sync),
    "no-public-load-balancer": lambda rs, s: _replace(
        rs, _first(rs, lambda r: r.type == "kubernetes:core/v1:Service"), _break_service),
    "default-deny-everywhere": lambda rs, s: _drop_default_deny(rs),
    "prod-data-protected": lambda rs, s: [Resource(r.type, r.name, r.props, False) for r in rs],
    "prod-no-image-updater": lambda rs, s: [*rs, Resource(RELEASE, "image-updater", {"chart": "argocd-image-updater"})],
    "prod-no-secret-logging": lambda rs, s: _replace(rs, _first(rs, lambda r: r.type in PODS), _break_logging),
}
PROD_ONLY = {"prod-applications-sync-by-hand", "prod-data-protected", "prod-no-image-updater", "prod-no-secret-logging"}


def _findings(rule: str, resources: list[Resource], settings: Settings) -> list[str]:
    if rule in STACK_RULES:
        return STACK_RULES[rule](resources, settings)
    return [p for r in resources for p in RESOURCE_RULES[rule](r, settings)]


def test_every_policy_has_a_breaker():
    assert set(BREAKERS) == set(RESOURCE_RULES) | set(STACK_RULES)


@pytest.mark.parametrize("rule", sorted(BREAKERS))
@pytest.mark.parametrize("stack", available_stacks())
def test_every_policy_fails_on_each_stack_it_applies_to(stack, rule, stacks):
    settings = stack_settings(stack)
    assert _findings(rule, stacks[stack], settings) == [], "the stack as it stands passes"
    found = _findings(rule, BREAKERS[rule](stacks[stack], settings), settings)
    if rule in PROD_ONLY and stack != "prod":
        assert found == [], f"{rule} applies to prod only"
    else:
        assert found, f"{rule} lets a broken {stack} through"
