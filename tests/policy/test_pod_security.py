"""tools/pod_security.py: a compliant pod passes, and every control fails the manifest that breaks it."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pulumi_kubernetes as k8s
import pytest

from components.kube.pod_spec import ContainerSpec, RunAs, SecretFiles, WritablePath, pod_spec
from components.contracts.workloads import compute
from policy.pod_security import (
    NEWEST_VERSION,
    NotPodBearing,
    UnsupportedVersion,
    Violation,
    check,
    parse_version,
    pod_template,
    safe_sysctls,
)

VERSION = f"{NEWEST_VERSION[0]}.{NEWEST_VERSION[1]}"

SECURE_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 10001.0,  # Pulumi's mocks hand numbers over as floats
    "seccompProfile": {"type": "RuntimeDefault"},
}


def secure_container(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": "registry.example/app:1.0.0",
        "securityContext": copy.deepcopy(SECURE_CONTEXT),
        "ports": [{"name": "http", "containerPort": 8080.0, "hostPort": 0.0}],
        "readinessProbe": {"httpGet": {"path": "/health", "port": "http", "host": ""}},
        "livenessProbe": {"tcpSocket": {"port": 8080.0}},
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
    }


def compliant_pod() -> dict[str, Any]:
    """A pod that sets every restricted field to an allowed value, in every kind of container."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "compliant",
            "namespace": "apps",
            "annotations": {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"},
        },
        "spec": {
            "hostNetwork": False,
            "hostPID": False,
            "hostIPC": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001.0,
                "runAsGroup": 10001.0,
                "fsGroup": 10001.0,
                "seccompProfile": {"type": "RuntimeDefault"},
                "appArmorProfile": {"type": "RuntimeDefault"},
                "seLinuxOptions": {"type": "container_t"},
                "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
            },
            "initContainers": [secure_container("init")],
            "containers": [secure_container("app")],
            "ephemeralContainers": [secure_container("debug")],
            "volumes": [
                {"name": "config", "configMap": {"name": "app"}},
                {"name": "csi", "csi": {"driver": "secrets-store.csi.k8s.io"}},
                {"name": "downward", "downwardAPI": {"items": []}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                {"name": "token", "projected": {"sources": []}},
                {"name": "creds", "secret": {"secretName": "app"}},
            ],
        },
    }


def wrap(kind: str, pod: dict[str, Any]) -> dict[str, Any]:
    """`pod` as the template of a workload of `kind`."""
    template = {"metadata": {**pod["metadata"], "labels": {"app": "x"}}, "spec": pod["spec"]}
    del template["metadata"]["name"]
    api = {"Job": "batch/v1", "CronJob": "batch/v1", "ReplicationController": "v1", "PodTemplate": "v1"}
    head = {"apiVersion": api.get(kind, "apps/v1"), "kind": kind, "metadata": {"name": "w", "namespace": "apps"}}
    if kind == "CronJob":
        return {**head, "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}}
    if kind == "PodTemplate":
        return {**head, "template": template}
    return {**head, "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template}}


def controls(violations: list[Violation]) -> set[tuple[str, str]]:
    return {(v.control, v.level) for v in violations}


def test_compliant_pod_meets_restricted_and_baseline():
    pod = compliant_pod()
    assert check(pod, "restricted", version=VERSION) == []
    assert check(pod, "baseline", version=VERSION) == []


@pytest.mark.parametrize(
    "kind,spec_path",
    [
        ("Deployment", "spec.template.spec"),
        ("StatefulSet", "spec.template.spec"),
        ("DaemonSet", "spec.template.spec"),
        ("ReplicaSet", "spec.template.spec"),
        ("ReplicationController", "spec.template.spec"),
        ("Job", "spec.template.spec"),
        ("CronJob", "spec.jobTemplate.spec.template.spec"),
        ("PodTemplate", "template.spec"),
    ],
)
def test_workloads_are_checked_through_their_pod_template(kind, spec_path):
    compliant = wrap(kind, compliant_pod())
    assert pod_template(compliant).path == spec_path
    assert check(compliant, version=VERSION) == []

    broken = compliant_pod()
    broken["spec"]["containers"][0]["securityContext"]["privileged"] = True
    broken["metadata"]["annotations"]["container.apparmor.security.beta.kubernetes.io/app"] = "unconfined"
    violations = check(wrap(kind, broken), version=VERSION)
    fields = {v.field for v in violations}
    assert f"{spec_path}.containers[app].securityContext.privileged" in fields
    metadata_path = spec_path.removesuffix(".spec") + ".metadata"
    assert f"{metadata_path}.annotations[container.apparmor.security.beta.kubernetes.io/app]" in fields


def test_objects_without_a_pod_are_refused():
    with pytest.raises(NotPodBearing):
        check({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {}}, version=VERSION)


def test_privileged_level_allows_everything():
    pod = compliant_pod()
    pod["spec"]["hostNetwork"] = True
    pod["spec"]["containers"][0]["securityContext"]["privileged"] = True
    assert check(pod, "privileged", version=VERSION) == []


def test_unknown_level_is_refused():
    with pytest.raises(ValueError, match="unknown Pod Security level"):
        check(compliant_pod(), "strict", version=VERSION)  # type: ignore[arg-type]


# --- one violating manifest per control ---------------------------------------------------------------------


def pod_field(**values: Any) -> Callable[[dict], None]:
    def mutate(pod: dict) -> None:
        pod["spec"].update(values)

    return mutate


def pod_context(**values: Any) -> Callable[[dict], None]:
    def mutate(pod: dict) -> None:
        pod["spec"]["securityContext"].update(values)

    return mutate


def container_context(list_name: str = "containers", **values: Any) -> Callable[[dict], None]:
    def mutate(pod: dict) -> None:
        pod["spec"][list_name][0]["securityContext"].update(values)

    return mutate


def container_field(list_name: str = "containers", **values: Any) -> Callable[[dict], None]:
    def mutate(pod: dict) -> None:
        pod["spec"][list_name][0].update(values)

    return mutate


def drop_key(where: str, key: str) -> Callable[[dict], None]:
    """Remove `key` from the pod's securityContext (`where="pod"`) or from every container's."""

    def mutate(pod: dict) -> None:
        if where == "pod":
            pod["spec"]["securityContext"].pop(key, None)
        else:
            for list_name in ("initContainers", "containers", "ephemeralContainers"):
                for container in pod["spec"][list_name]:
                    container["securityContext"].pop(key, None)

    return mutate


def both(*mutations: Callable[[dict], None]) -> Callable[[dict], None]:
    def mutate(pod: dict) -> None:
        for m in mutations:
            m(pod)

    return mutate


def add_volume(volume: dict) -> Callable[[dict], None]:
    def mutate(pod: dict) -> None:
        pod["spec"]["volumes"].append(volume)

    return mutate


def annotate(key: str, value: str) -> Callable[[dict], None]:
    def mutate(pod: dict) -> None:
        pod["metadata"]["annotations"][key] = value

    return mutate


C = "spec.containers[app]"
I = "spec.initContainers[init]"
E = "spec.ephemeralContainers[debug]"
P = "spec.securityContext"

VIOLATIONS = [
    # (id, mutation, control, level that introduces it, field, container)
    ("hostProcess pod", pod_context(windowsOptions={"hostProcess": True}), "HostProcess", "baseline",
     f"{P}.windowsOptions.hostProcess", None),
    ("hostProcess container", container_context(windowsOptions={"hostProcess": True}), "HostProcess", "baseline",
     f"{C}.securityContext.windowsOptions.hostProcess", "app"),
    ("hostNetwork", pod_field(hostNetwork=True), "Host Namespaces", "baseline", "spec.hostNetwork", None),
    ("hostPID", pod_field(hostPID=True), "Host Namespaces", "baseline", "spec.hostPID", None),
    ("hostIPC", pod_field(hostIPC=True), "Host Namespaces", "baseline", "spec.hostIPC", None),
    ("privileged", container_context(privileged=True), "Privileged Containers", "baseline",
     f"{C}.securityContext.privileged", "app"),
    ("privileged init", container_context("initContainers", privileged=True), "Privileged Containers", "baseline",
     f"{I}.securityContext.privileged", "init"),
    ("privileged ephemeral", container_context("ephemeralContainers", privileged=True), "Privileged Containers",
     "baseline", f"{E}.securityContext.privileged", "debug"),
    ("capability outside baseline", container_context(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]}),
     "Capabilities", "baseline", f"{C}.securityContext.capabilities.add", "app"),
    ("hostPath volume", add_volume({"name": "host", "hostPath": {"path": "/var/run"}}), "HostPath Volumes",
     "baseline", "spec.volumes[host].hostPath", None),
    ("hostPort", container_field(ports=[{"name": "http", "containerPort": 8080.0, "hostPort": 8080.0}]),
     "Host Ports", "baseline", f"{C}.ports[http].hostPort", "app"),
    ("hostPort init", container_field("initContainers", ports=[{"containerPort": 80.0, "hostPort": 80.0}]),
     "Host Ports", "baseline", f"{I}.ports[80].hostPort", "init"),
    ("probe httpGet host", container_field(livenessProbe={"httpGet": {"path": "/", "port": 80.0, "host": "10.0.0.1"}}),
     "Host Probes / Lifecycle Hooks", "baseline", f"{C}.livenessProbe.httpGet.host", "app"),
    ("probe tcpSocket host", container_field(startupProbe={"tcpSocket": {"port": 80.0, "host": "node"}}),
     "Host Probes / Lifecycle Hooks", "baseline", f"{C}.startupProbe.tcpSocket.host", "app"),
    ("lifecycle host", container_field(lifecycle={"postStart": {"httpGet": {"port": 80.0, "host": "169.254.169.254"}}}),
     "Host Probes / Lifecycle Hooks", "baseline", f"{C}.lifecycle.postStart.httpGet.host", "app"),
    ("apparmor annotation", annotate("container.apparmor.security.beta.kubernetes.io/app", "unconfined"),
     "AppArmor", "baseline", "metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]", None),
    ("apparmor pod field", pod_context(appArmorProfile={"type": "Unconfined"}), "AppArmor", "baseline",
     f"{P}.appArmorProfile.type", None),
    ("apparmor container field", container_context(appArmorProfile={"type": "Unconfined"}), "AppArmor", "baseline",
     f"{C}.securityContext.appArmorProfile.type", "app"),
    ("selinux type", pod_context(seLinuxOptions={"type": "spc_t"}), "SELinux", "baseline",
     f"{P}.seLinuxOptions.type", None),
    ("selinux user", container_context(seLinuxOptions={"user": "system_u"}), "SELinux", "baseline",
     f"{C}.securityContext.seLinuxOptions.user", "app"),
    ("selinux role", container_context("initContainers", seLinuxOptions={"role": "system_r"}), "SELinux",
     "baseline", f"{I}.securityContext.seLinuxOptions.role", "init"),
    ("procMount", container_context(procMount="Unmasked"), "/proc Mount Type", "baseline",
     f"{C}.securityContext.procMount", "app"),
    ("seccomp unconfined pod", pod_context(seccompProfile={"type": "Unconfined"}), "Seccomp", "baseline",
     f"{P}.seccompProfile.type", None),
    ("seccomp unconfined container", container_context(seccompProfile={"type": "Unconfined"}), "Seccomp",
     "baseline", f"{C}.securityContext.seccompProfile.type", "app"),
    ("unsafe sysctl", pod_context(sysctls=[{"name": "kernel.msgmax", "value": "65536"}]), "Sysctls", "baseline",
     f"{P}.sysctls[kernel.msgmax]", None),
    ("nfs volume", add_volume({"name": "share", "nfs": {"server": "nas", "path": "/x"}}), "Volume Types",
     "restricted", "spec.volumes[share]", None),
    ("gitRepo volume", add_volume({"name": "src", "gitRepo": {"repository": "https://x"}}), "Volume Types",
     "restricted", "spec.volumes[src]", None),
    ("hostPath is not a restricted volume type", add_volume({"name": "host", "hostPath": {"path": "/"}}),
     "Volume Types", "restricted", "spec.volumes[host]", None),
    ("allowPrivilegeEscalation true", container_context(allowPrivilegeEscalation=True), "Privilege Escalation",
     "restricted", f"{C}.securityContext.allowPrivilegeEscalation", "app"),
    ("allowPrivilegeEscalation unset", drop_key("containers", "allowPrivilegeEscalation"), "Privilege Escalation",
     "restricted", f"{E}.securityContext.allowPrivilegeEscalation", "debug"),
    ("runAsNonRoot false pod", pod_context(runAsNonRoot=False), "Running as Non-root", "restricted",
     f"{P}.runAsNonRoot", None),
    ("runAsNonRoot false container despite pod", container_context("initContainers", runAsNonRoot=False),
     "Running as Non-root", "restricted", f"{I}.securityContext.runAsNonRoot", "init"),
    ("runAsNonRoot unset at pod and container", both(drop_key("pod", "runAsNonRoot"),
                                                     drop_key("containers", "runAsNonRoot")),
     "Running as Non-root", "restricted", f"{C}.securityContext.runAsNonRoot", "app"),
    ("runAsUser 0 pod", pod_context(runAsUser=0.0), "Running as Non-root user", "restricted", f"{P}.runAsUser",
     None),
    ("runAsUser 0 container", container_context("ephemeralContainers", runAsUser=0), "Running as Non-root user",
     "restricted", f"{E}.securityContext.runAsUser", "debug"),
    ("seccomp unset at pod and container", both(drop_key("pod", "seccompProfile"),
                                                drop_key("containers", "seccompProfile")),
     "Seccomp", "restricted", f"{I}.securityContext.seccompProfile.type", "init"),
    ("seccomp unknown type", container_context(seccompProfile={"type": "Bogus"}), "Seccomp", "restricted",
     f"{C}.securityContext.seccompProfile.type", "app"),
    ("capabilities not dropping ALL", container_context(capabilities={"drop": ["NET_RAW"]}), "Capabilities",
     "restricted", f"{C}.securityContext.capabilities.drop", "app"),
    ("capabilities unset", container_context("initContainers", capabilities=None), "Capabilities", "restricted",
     f"{I}.securityContext.capabilities.drop", "init"),
    ("capability baseline allows but restricted does not", container_context(
        capabilities={"drop": ["ALL"], "add": ["CHOWN"]}), "Capabilities", "restricted",
     f"{C}.securityContext.capabilities.add", "app"),
]


@pytest.mark.parametrize(
    "mutate,control,level,field,container", [v[1:] for v in VIOLATIONS], ids=[v[0] for v in VIOLATIONS]
)
def test_each_control_fails_its_violating_manifest(mutate, control, level, field, container):
    pod = compliant_pod()
    mutate(pod)

    restricted = check(pod, "restricted", version=VERSION)
    expected = [v for v in restricted if (v.control, v.level, v.field) == (control, level, field)]
    assert expected, f"no {level} {control} violation at {field}; got: {[str(v) for v in restricted]}"
    assert all(v.container == container for v in expected), expected
    assert all(field in str(v) and (container is None or f"container {container!r}" in str(v)) for v in expected)

    baseline = check(pod, "baseline", version=VERSION)
    if level == "baseline":
        assert any(v.control == control and v.field == field for v in baseline), baseline
    else:
        assert not any(v.level == "restricted" for v in baseline)
        assert (control, "restricted") not in controls(baseline)


def test_one_bad_container_does_not_hide_another():
    pod = compliant_pod()
    pod["spec"]["initContainers"][0]["securityContext"]["privileged"] = True
    pod["spec"]["ephemeralContainers"][0]["securityContext"]["capabilities"] = {"add": ["NET_ADMIN"]}
    violations = check(pod, version=VERSION)
    assert {(v.control, v.container) for v in violations} >= {
        ("Privileged Containers", "init"),
        ("Capabilities", "debug"),
    }


# --- pod-level settings that cover containers -----------------------------------------------------------


def test_pod_level_run_as_non_root_and_seccomp_cover_containers_that_leave_them_unset():
    pod = compliant_pod()
    drop_key("containers", "runAsNonRoot")(pod)
    drop_key("containers", "seccompProfile")(pod)
    assert check(pod, version=VERSION) == []


def test_container_level_run_as_non_root_and_seccomp_suffice_without_pod_level():
    pod = compliant_pod()
    drop_key("pod", "runAsNonRoot")(pod)
    drop_key("pod", "seccompProfile")(pod)
    assert check(pod, version=VERSION) == []


def test_localhost_seccomp_and_apparmor_profiles_are_allowed():
    pod = compliant_pod()
    pod["spec"]["securityContext"]["seccompProfile"] = {"type": "Localhost", "localhostProfile": "p.json"}
    pod["spec"]["securityContext"]["appArmorProfile"] = {"type": "Localhost", "localhostProfile": "p"}
    pod["metadata"]["annotations"]["container.apparmor.security.beta.kubernetes.io/app"] = "localhost/p"
    pod["spec"]["containers"][0]["securityContext"]["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    assert check(pod, version=VERSION) == []


def test_windows_pods_are_exempt_from_linux_only_restricted_controls():
    pod = compliant_pod()
    pod["spec"]["os"] = {"name": "windows"}
    for key in ("allowPrivilegeEscalation", "capabilities", "seccompProfile"):
        drop_key("containers", key)(pod)
    drop_key("pod", "seccompProfile")(pod)
    assert check(pod, version=VERSION) == []
    drop_key("pod", "runAsNonRoot")(pod)
    drop_key("containers", "runAsNonRoot")(pod)
    assert "Running as Non-root" in {v.control for v in check(pod, version=VERSION)}


# --- versioned controls ---------------------------------------------------------------------------------


def test_safe_sysctls_grow_with_the_policy_version():
    assert "net.ipv4.tcp_rmem" in safe_sysctls("1.32")
    assert "net.ipv4.tcp_rmem" not in safe_sysctls("1.31")
    assert "net.ipv4.tcp_keepalive_time" in safe_sysctls("1.29")
    assert "net.ipv4.tcp_keepalive_time" not in safe_sysctls("1.28")
    assert "net.ipv4.ip_local_reserved_ports" in safe_sysctls("1.27")
    assert "net.ipv4.ip_local_reserved_ports" not in safe_sysctls("1.26")

    pod = compliant_pod()
    pod["spec"]["securityContext"]["sysctls"] = [{"name": "net.ipv4.tcp_wmem", "value": "4096 65536 16777216"}]
    assert check(pod, version="1.35") == []
    assert ("Sysctls", "baseline") in controls(check(pod, version="1.31"))


def test_selinux_container_engine_t_is_allowed_from_1_31():
    pod = compliant_pod()
    pod["spec"]["securityContext"]["seLinuxOptions"] = {"type": "container_engine_t"}
    assert check(pod, version="1.31") == []
    assert ("SELinux", "baseline") in controls(check(pod, version="1.30"))


def test_probe_hosts_are_forbidden_from_1_34():
    pod = compliant_pod()
    pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]["host"] = "example.com"
    assert check(pod, version="1.33") == []
    assert ("Host Probes / Lifecycle Hooks", "baseline") in controls(check(pod, version="1.34"))


def test_proc_mount_in_a_user_namespace_pod_passes_baseline_from_1_35_but_never_restricted():
    pod = compliant_pod()
    pod["spec"]["hostUsers"] = False
    pod["spec"]["containers"][0]["securityContext"]["procMount"] = "Unmasked"
    assert check(pod, "baseline", version="1.35") == []
    assert ("/proc Mount Type", "baseline") in controls(check(pod, "baseline", version="1.34"))
    assert ("/proc Mount Type", "baseline") in controls(check(pod, "restricted", version="1.35"))


@pytest.mark.parametrize("version,parsed", [("1.35", (1, 35)), ("v1.35", (1, 35)), ("1.35.2", (1, 35))])
def test_versions_parse(version, parsed):
    assert parse_version(version) == parsed


@pytest.mark.parametrize("version", ["1.24", f"{NEWEST_VERSION[0]}.{NEWEST_VERSION[1] + 1}", "latest", "2"])
def test_versions_not_implemented_are_refused(version):
    with pytest.raises(UnsupportedVersion):
        check(compliant_pod(), version=version)


# --- kiban's own secure defaults ------------------------------------------------------------------------


def test_kiban_pod_spec_defaults_meet_restricted(declare):
    resources = compute("100m", "128Mi", "500m", "256Mi")

    def build(opts):
        labels = {"app": "web"}
        k8s.apps.v1.Deployment(
            "web",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="web", namespace="apps"),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=pod_spec(
                        init_containers=[
                            ContainerSpec(name="migrate", image="registry.example/m:1.0", resources=resources)
                        ],
                        containers=[
                            ContainerSpec(
                                name="web",
                                image="registry.example/web:1.0",
                                resources=resources,
                                secret_files=[SecretFiles(secret_name="web", mount_path="/secrets")],
                                writable_paths=[WritablePath("/tmp"), WritablePath("/cache", in_memory=True)],
                            )
                        ],
                        run_as=RunAs(),
                    ),
                ),
            ),
            opts=opts,
        )

    workload = declare(build).object("Deployment", "web")
    assert check(workload, version=VERSION) == []
