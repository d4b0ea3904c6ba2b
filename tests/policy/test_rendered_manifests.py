"""Policies over everything the program declares, for every stack: whatever components add is checked too.

- every Kubernetes object validates against its stack's Kubernetes version (kubernetes-validate, strict), and every
  custom resource against its CRD schema (`tools/crd_schema.py`, unknown fields are errors);
- checkov finds no failed check, scans something, and every skip carries a reason;
- every pod meets Pod Security Standard `restricted`, unless its namespace enforces a lower level and says why;
- every namespace starts from a default-deny NetworkPolicy for ingress and egress;
- every Helm chart is pinned to a version and names its repository.
"""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

from tests.policy.conftest import STACKS, RenderedStack
from policy import pod_security
from tools.crd_schema import known_kinds, schema_errors
from tools.custom_workloads import with_stand_ins
from tools.render import object_path

POD_SECURITY_REASON = "kiban.dev/pod-security-reason"
ENFORCE = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"
CHECKOV_SKIP_ANNOTATION = "checkov.io/skip"
CHECKOV_SKIP_VALUE = re.compile(r"^(?P<check>CKV2?_K8S_\d+)=(?P<reason>[^=]*[^=\s][^=]*)$")
CHECKOV_NO_REASON = "No comment provided"  # what checkov reports for `checkov.io/skipN: CKV_K8S_NN` alone
HELM_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
REPOSITORY_URL = re.compile(r"^(https|oci)://\S+$")


def test_there_are_stacks_to_check():
    assert STACKS, "no Pulumi.<stack>.yaml found: the policy suite would check nothing"


def name_of(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{obj.get('kind')} {where}{metadata.get('name')}"


def namespaces_of(rendered: RenderedStack) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in rendered.objects if o["kind"] == "Namespace"}


# --- schema -------------------------------------------------------------------------------------------------


def test_every_object_validates_strictly_against_the_stack_kubernetes_version(rendered: RenderedStack):
    assert rendered.objects, f"{rendered.stack} declares no Kubernetes objects"
    failures = []
    custom = known_kinds()
    for obj in rendered.objects:
        where = f"{object_path(obj)} ({name_of(obj)})"
        if (obj["apiVersion"], obj["kind"]) in custom:
            failures += [f"{where}: {error} (CRD schema)" for error in schema_errors(obj)]
            continue
        try:
            kubernetes_validate.validate(obj, rendered.kubernetes_patch_version, strict=True)
        except ValidationError as error:
            path = ".".join(str(p) for p in error.path) or "(object)"
            failures.append(f"{where}: {path}: {error.message}")
        except SchemaNotFoundError as error:
            failures.append(
                f"{where}: {error.message}; kubernetes-validate knows only built-in kinds, so a custom resource "
                "needs its CRD schema under schemas/ before it can pass this policy"
            )
    assert not failures, (
        f"{len(failures)} object(s) of stack {rendered.stack} do not validate against Kubernetes "
        f"{rendered.kubernetes_patch_version} (strict):\n" + "\n".join(failures)
    )


# --- checkov ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_scans_the_rendered_manifests(stack, checkov_scans):
    scan = checkov_scans(stack)
    assert scan.summary.get("parsing_errors", 0) == 0, (
        f"checkov could not parse {scan.summary['parsing_errors']} rendered file(s) of {stack} in {scan.directory}: "
        f"{scan.results.get('parsing_errors')}"
    )
    assert scan.summary.get("resource_count", 0) > 0, (
        f"checkov scanned no resource in {stack}'s rendered manifests ({scan.directory}); an empty scan passes "
        f"every check, so it proves nothing. Summary: {scan.summary}"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_finds_no_failed_check(stack, checkov_scans):
    scan = checkov_scans(stack)
    failed = scan.results.get("failed_checks") or []
    lines = [
        f"{c['check_id']} {c.get('check_name', '')}: {c.get('resource')} in {c.get('file_path')}" for c in failed
    ]
    assert not failed, f"checkov: {len(failed)} failed check(s) in stack {stack}:\n" + "\n".join(sorted(lines))


@pytest.mark.parametrize("stack", STACKS)
def test_every_checkov_skip_states_its_reason(stack, checkov_scans, renders):
    # The annotations first: checkov cannot parse a reason containing "=" (it crashes on the whole scan).
    malformed = [
        f"{name_of(obj)}: {key}: {value!r}"
        for obj in renders(stack).objects
        for key, value in ((obj.get("metadata") or {}).get("annotations") or {}).items()
        if key.startswith(CHECKOV_SKIP_ANNOTATION) and not CHECKOV_SKIP_VALUE.match(str(value))
    ]
    assert not malformed, (
        "checkov skip annotations must read `CKV_K8S_NN=<reason>` (a non-empty reason without '='):\n"
        + "\n".join(malformed)
    )

    scan = checkov_scans(stack)
    unexplained = []
    for skipped in scan.results.get("skipped_checks") or []:
        reason = ((skipped.get("check_result") or {}).get("suppress_comment") or "").strip()
        if not reason or reason == CHECKOV_NO_REASON:
            unexplained.append(f"{skipped['check_id']}: {skipped.get('resource')} in {skipped.get('file_path')}")
    assert not unexplained, f"checkov checks skipped without a reason in {stack}:\n" + "\n".join(unexplained)


# --- Pod Security Standards ---------------------------------------------------------------------------------


def test_namespaces_below_restricted_state_why(rendered: RenderedStack):
    problems = []
    for name, namespace in namespaces_of(rendered).items():
        metadata = namespace["metadata"]
        labels = metadata.get("labels") or {}
        level = labels.get(ENFORCE)
        if level not in pod_security.LEVELS:
            problems.append(f"namespace {name}: label {ENFORCE}={level!r} is not one of {pod_security.LEVELS}")
            continue
        if labels.get(ENFORCE_VERSION) != f"v{rendered.kubernetes_version}":
            problems.append(
                f"namespace {name}: {ENFORCE_VERSION}={labels.get(ENFORCE_VERSION)!r}, but the cluster runs "
                f"v{rendered.kubernetes_version}"
            )
        reason = ((metadata.get("annotations") or {}).get(POD_SECURITY_REASON) or "").strip()
        if level != "restricted" and not reason:
            problems.append(f"namespace {name} enforces {level!r} without a {POD_SECURITY_REASON} annotation")
    assert not problems, "\n".join(problems)


def pod_security_level(obj: dict[str, Any], namespaces: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """The level an object must meet, and why: `restricted` unless its namespace enforces less and says why."""
    namespace = namespaces.get((obj.get("metadata") or {}).get("namespace") or "default")
    if namespace is None:
        return "restricted", "its namespace is not declared by kiban"
    metadata = namespace["metadata"]
    level = (metadata.get("labels") or {}).get(ENFORCE)
    reason = ((metadata.get("annotations") or {}).get(POD_SECURITY_REASON) or "").strip()
    if level in ("baseline", "privileged") and reason:
        return level, f"namespace {metadata['name']} enforces {level}: {reason}"
    return "restricted", f"namespace {metadata['name']} enforces {level!r}"


def test_every_pod_meets_restricted_unless_its_namespace_says_why(rendered: RenderedStack):
    namespaces = namespaces_of(rendered)
    failures = []
    for obj in with_stand_ins(rendered.objects):
        if not pod_security.is_pod_bearing(obj):
            continue
        level, why = pod_security_level(obj, namespaces)
        violations = pod_security.check(obj, level, version=rendered.kubernetes_version)  # type: ignore[arg-type]
        if violations:
            failures.append(
                f"{name_of(obj)} ({object_path(obj)}) fails Pod Security {level} v{rendered.kubernetes_version} "
                f"({why}):\n" + "\n".join(f"    {v}" for v in violations)
            )
    assert not failures, "\n".join(failures)


# --- network ------------------------------------------------------------------------------------------------


def is_default_deny(policy: dict[str, Any]) -> bool:
    """Selects every pod of its namespace, governs both directions, and allows nothing."""
    spec = policy.get("spec") or {}
    selector = spec.get("podSelector")
    selects_all = selector is not None and not selector.get("matchLabels") and not selector.get("matchExpressions")
    return (
        selects_all
        and {"Ingress", "Egress"} <= set(spec.get("policyTypes") or [])
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def test_every_namespace_has_a_default_deny_network_policy(rendered: RenderedStack):
    deny = {
        o["metadata"].get("namespace")
        for o in rendered.objects
        if o["kind"] == "NetworkPolicy" and is_default_deny(o)
    }
    missing = sorted(set(namespaces_of(rendered)) - deny)
    assert not missing, (
        f"namespaces of {rendered.stack} without a default-deny NetworkPolicy (podSelector {{}}, policyTypes "
        f"Ingress and Egress, no rules): {missing}"
    )


# --- Helm ---------------------------------------------------------------------------------------------------


def test_helm_charts_are_pinned_and_name_their_repository(rendered: RenderedStack):
    problems = []
    for release in (r for r in rendered.deployment.registrations if r.type in HELM_TYPES):
        inputs = release.inputs
        chart = str(inputs.get("chart") or "")
        version = str(inputs.get("version") or "")
        repository = str((inputs.get("repositoryOpts") or {}).get("repo") or "")
        where = f"{release.type} {release.name} (chart {chart!r})"
        if not EXACT_VERSION.match(version):
            problems.append(f"{where}: version {version!r} is not an exact chart version such as 1.2.3")
        if not (REPOSITORY_URL.match(repository) or chart.startswith("oci://")):
            problems.append(
                f"{where}: names no repository (repositoryOpts.repo {repository!r}; expected an https:// or "
                "oci:// URL, or an oci:// chart reference)"
            )
    assert not problems, "\n".join(problems)
