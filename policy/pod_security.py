"""A checker for the Kubernetes Pod Security Standards (PSS), `baseline` and `restricted` profiles.

Implemented from the specification at https://kubernetes.io/docs/concepts/security/pod-security-standards/
as published for Kubernetes **v1.35** (the policy version kiban's namespaces enforce, `enforce-version: v1.35`),
and cross-checked control by control against its reference implementation, the Pod Security admission
controller (kubernetes/kubernetes `staging/src/k8s.io/pod-security-admission/policy/check_*.go`). Policy versions
1.25 to 1.35 are supported; the controls that changed between them are versioned here as they are upstream:

- Sysctls: `net.ipv4.ip_local_reserved_ports` allowed from 1.27; `net.ipv4.tcp_keepalive_time`,
  `tcp_fin_timeout`, `tcp_keepalive_intvl`, `tcp_keepalive_probes` from 1.29; `tcp_rmem`, `tcp_wmem` from 1.32.
- SELinux: type `container_engine_t` allowed from 1.31.
- Host Probes / Lifecycle Hooks (a `host` in probes and lifecycle handlers): forbidden from 1.34.
- /proc Mount Type: from 1.35 baseline allows any `procMount` in a user-namespace pod (`hostUsers: false`);
  restricted never does.

A newer policy version is refused (`UnsupportedVersion`) rather than checked by older rules: read the spec for
that version and extend this module first.

Controls, by profile (`restricted` includes every `baseline` control):

baseline  HostProcess, Host Namespaces, Privileged Containers, Capabilities (baseline add list), HostPath Volumes,
          Host Ports, Host Probes / Lifecycle Hooks, AppArmor, SELinux, /proc Mount Type, Seccomp (not
          Unconfined), Sysctls
restricted Volume Types, Privilege Escalation, Running as Non-root, Running as Non-root user, Seccomp
          (RuntimeDefault or Localhost), Capabilities (drop ALL, add only NET_BIND_SERVICE)

Every control covers `containers`, `initContainers` and `ephemeralContainers`. As upstream, the restricted
Privilege Escalation, Seccomp and Capabilities controls do not apply to Windows pods (`spec.os.name: windows`).
Deliberately stricter than the admission controller: the optional relaxation of Running as Non-root for
user-namespace pods (an administrator opt-in upstream) is not applied.

Input is a Kubernetes object as a dict (API field names, camelCase): Pod, or a workload that carries a pod
template (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate).
Numbers may be floats (as Pulumi's mocks hand them over). Output is a list of `Violation`s, empty when the pod
meets the profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Literal, Mapping

Level = Literal["privileged", "baseline", "restricted"]
LEVELS: tuple[Level, ...] = ("privileged", "baseline", "restricted")

SPEC_URL = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
OLDEST_VERSION = (1, 25)
"""Pod Security admission is GA since 1.25; older policy versions are not implemented."""
NEWEST_VERSION = (1, 35)
"""The newest policy version whose specification this module implements."""

POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job")
POD_BEARING_KINDS = ("Pod", *POD_TEMPLATE_KINDS, "CronJob", "PodTemplate")

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")

BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
"""Capabilities baseline allows in `capabilities.add` (the container runtime's default set)."""

RESTRICTED_ADD_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})

_SAFE_SYSCTLS: tuple[tuple[tuple[int, int], frozenset[str]], ...] = (
    (
        (1, 0),
        frozenset(
            {
                "kernel.shm_rmid_forced",
                "net.ipv4.ip_local_port_range",
                "net.ipv4.tcp_syncookies",
                "net.ipv4.ping_group_range",
                "net.ipv4.ip_unprivileged_port_start",
            }
        ),
    ),
    ((1, 27), frozenset({"net.ipv4.ip_local_reserved_ports"})),
    (
        (1, 29),
        frozenset(
            {
                "net.ipv4.tcp_keepalive_time",
                "net.ipv4.tcp_fin_timeout",
                "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes",
            }
        ),
    ),
    ((1, 32), frozenset({"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})),
)

_SELINUX_TYPES: tuple[tuple[tuple[int, int], frozenset[str]], ...] = (
    ((1, 0), frozenset({"container_t", "container_init_t", "container_kvm_t"})),
    ((1, 31), frozenset({"container_engine_t"})),
)

RESTRICTED_VOLUME_SOURCES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
"""The only inline volume sources restricted allows."""

APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
APPARMOR_TYPES = frozenset({"RuntimeDefault", "Localhost"})
RESTRICTED_SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})


class UnsupportedVersion(ValueError):
    """A Pod Security Standards version this module does not implement."""


class NotPodBearing(ValueError):
    """An object that neither is a Pod nor carries a pod template."""


@dataclass(frozen=True)
class Violation:
    """One control of the Pod Security Standards that an object fails."""

    control: str
    """The control's name as in the specification, e.g. `Privileged Containers`."""

    level: Level
    """The profile that introduces the control: `baseline` or `restricted`."""

    field: str
    """The offending field, as a path in the object, e.g. `spec.template.spec.containers[app].securityContext`."""

    detail: str
    """What is wrong and what is allowed."""

    container: str | None = None
    """The container the violation is about; unset for pod-level fields."""

    def __str__(self) -> str:
        who = f" (container {self.container!r})" if self.container else ""
        return f"[{self.level}] {self.control}{who}: {self.field}: {self.detail}"


@dataclass(frozen=True)
class PodTemplate:
    """Where an object keeps its pod: the pod's metadata, its spec, and the path to the spec."""

    metadata: Mapping[str, Any]
    spec: Mapping[str, Any]
    path: str
    """Path of the pod spec in the object, e.g. `spec.template.spec`."""

    @property
    def metadata_path(self) -> str:
        """Path of the pod's metadata in the object, e.g. `spec.template.metadata`."""
        return "metadata" if self.path == "spec" else f"{self.path.removesuffix('.spec')}.metadata"


@dataclass(frozen=True)
class _Container:
    list_name: str
    index: int
    spec: Mapping[str, Any]
    pod_path: str

    @property
    def name(self) -> str:
        return str(self.spec.get("name", f"#{self.index}"))

    @property
    def path(self) -> str:
        return f"{self.pod_path}.{self.list_name}[{self.name}]"

    @property
    def security_context(self) -> Mapping[str, Any]:
        return self.spec.get("securityContext") or {}


def parse_version(version: str) -> tuple[int, int]:
    """`1.35`, `v1.35` or `1.35.0` -> `(1, 35)`; refuses versions this module does not implement."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", str(version).strip())
    if not match:
        raise UnsupportedVersion(f"not a Kubernetes version: {version!r} (expected e.g. '1.35')")
    parsed = (int(match.group(1)), int(match.group(2)))
    if not OLDEST_VERSION <= parsed <= NEWEST_VERSION:
        raise UnsupportedVersion(
            f"Pod Security Standards v{parsed[0]}.{parsed[1]} is not implemented here (supported: "
            f"v{OLDEST_VERSION[0]}.{OLDEST_VERSION[1]} to v{NEWEST_VERSION[0]}.{NEWEST_VERSION[1]}); review "
            f"{SPEC_URL} for that version and extend tools/pod_security.py"
        )
    return parsed


def _versioned(table: tuple[tuple[tuple[int, int], frozenset[str]], ...], version: tuple[int, int]) -> frozenset[str]:
    return frozenset().union(*(values for since, values in table if version >= since))


def safe_sysctls(version: str) -> frozenset[str]:
    """The sysctls baseline allows at a policy version."""
    return _versioned(_SAFE_SYSCTLS, parse_version(version))


def is_pod_bearing(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") in POD_BEARING_KINDS


def pod_template(obj: Mapping[str, Any]) -> PodTemplate:
    """The pod an object runs: a Pod itself, or the template of a workload (a CronJob's job's template)."""
    kind = obj.get("kind")
    if kind == "Pod":
        return PodTemplate(obj.get("metadata") or {}, obj.get("spec") or {}, "spec")
    if kind in POD_TEMPLATE_KINDS:
        template = (obj.get("spec") or {}).get("template") or {}
        return PodTemplate(template.get("metadata") or {}, template.get("spec") or {}, "spec.template.spec")
    if kind == "CronJob":
        job = ((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}
        template = job.get("template") or {}
        return PodTemplate(
            template.get("metadata") or {}, template.get("spec") or {}, "spec.jobTemplate.spec.template.spec"
        )
    if kind == "PodTemplate":
        template = obj.get("template") or {}
        return PodTemplate(template.get("metadata") or {}, template.get("spec") or {}, "template.spec")
    raise NotPodBearing(f"{kind} objects carry no pod (pod-bearing kinds: {', '.join(POD_BEARING_KINDS)})")


def _containers(pod: PodTemplate) -> Iterator[_Container]:
    for list_name in CONTAINER_LISTS:
        for index, spec in enumerate(pod.spec.get(list_name) or []):
            yield _Container(list_name, index, spec or {}, pod.path)


def _is_true(value: Any) -> bool:
    return value is True


def _is_zero(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0


def _number(value: Any) -> str:
    """A port or id as people write it: 8080, not 8080.0 (Pulumi's mocks hand numbers over as floats)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Checker:
    def __init__(self, obj: Mapping[str, Any], version: tuple[int, int]):
        self.pod = pod_template(obj)
        self.version = version
        self.spec = self.pod.spec
        self.pod_sc: Mapping[str, Any] = self.spec.get("securityContext") or {}
        self.pod_sc_path = f"{self.pod.path}.securityContext"
        self.containers = list(_containers(self.pod))
        self.windows = ((self.spec.get("os") or {}).get("name")) == "windows"
        self.violations: list[Violation] = []

    def add(self, control: str, level: Level, field: str, detail: str, container: _Container | None = None) -> None:
        self.violations.append(Violation(control, level, field, detail, container.name if container else None))

    # --- baseline ------------------------------------------------------------------------------------------

    def host_process(self) -> None:
        control = "HostProcess"
        if _is_true((self.pod_sc.get("windowsOptions") or {}).get("hostProcess")):
            self.add(control, "baseline", f"{self.pod_sc_path}.windowsOptions.hostProcess", "must be false or unset")
        for c in self.containers:
            if _is_true((c.security_context.get("windowsOptions") or {}).get("hostProcess")):
                self.add(
                    control, "baseline", f"{c.path}.securityContext.windowsOptions.hostProcess",
                    "must be false or unset", c,
                )

    def host_namespaces(self) -> None:
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if _is_true(self.spec.get(key)):
                self.add("Host Namespaces", "baseline", f"{self.pod.path}.{key}", "must be false or unset")

    def privileged(self) -> None:
        for c in self.containers:
            if _is_true(c.security_context.get("privileged")):
                self.add(
                    "Privileged Containers", "baseline", f"{c.path}.securityContext.privileged",
                    "must be false or unset", c,
                )

    def capabilities_baseline(self) -> None:
        for c in self.containers:
            added = (c.security_context.get("capabilities") or {}).get("add") or []
            extra = sorted(str(cap) for cap in added if str(cap) not in BASELINE_CAPABILITIES)
            if extra:
                self.add(
                    "Capabilities", "baseline", f"{c.path}.securityContext.capabilities.add",
                    f"adds {', '.join(extra)}; only {', '.join(sorted(BASELINE_CAPABILITIES))} may be added", c,
                )

    def host_path_volumes(self) -> None:
        for volume in self.spec.get("volumes") or []:
            if volume.get("hostPath") is not None:
                self.add(
                    "HostPath Volumes", "baseline", f"{self.pod.path}.volumes[{volume.get('name')}].hostPath",
                    "hostPath volumes are forbidden",
                )

    def host_ports(self) -> None:
        for c in self.containers:
            for port in c.spec.get("ports") or []:
                host_port = port.get("hostPort")
                if host_port is not None and not _is_zero(host_port):
                    which = port.get("name") or _number(port.get("containerPort"))
                    self.add(
                        "Host Ports", "baseline", f"{c.path}.ports[{which}].hostPort",
                        f"hostPort {_number(host_port)} is forbidden (0 or unset only)", c,
                    )

    def host_probes_and_lifecycle(self) -> None:
        if self.version < (1, 34):
            return
        for c in self.containers:
            probes = ("livenessProbe", "readinessProbe", "startupProbe")
            handlers: list[tuple[str, Mapping[str, Any] | None]] = [(p, c.spec.get(p)) for p in probes]
            lifecycle = c.spec.get("lifecycle") or {}
            handlers += [(f"lifecycle.{h}", lifecycle.get(h)) for h in ("postStart", "preStop")]
            for where, handler in handlers:
                for action in ("httpGet", "tcpSocket"):
                    host = ((handler or {}).get(action) or {}).get("host")
                    if host:
                        self.add(
                            "Host Probes / Lifecycle Hooks", "baseline", f"{c.path}.{where}.{action}.host",
                            f"host {host!r} is forbidden (empty or unset only)", c,
                        )

    def apparmor(self) -> None:
        control = "AppArmor"
        for key, value in (self.pod.metadata.get("annotations") or {}).items():
            if key.startswith(APPARMOR_ANNOTATION_PREFIX):
                if value and value != "runtime/default" and not str(value).startswith("localhost/"):
                    self.add(
                        control, "baseline", f"{self.pod.metadata_path}.annotations[{key}]",
                        f"{value!r} is forbidden (runtime/default, localhost/* or unset only)",
                    )
        profile = (self.pod_sc.get("appArmorProfile") or {}).get("type")
        if profile is not None and profile not in APPARMOR_TYPES:
            self.add(
                control, "baseline", f"{self.pod_sc_path}.appArmorProfile.type",
                f"{profile!r} is forbidden (RuntimeDefault, Localhost or unset only)",
            )
        for c in self.containers:
            profile = (c.security_context.get("appArmorProfile") or {}).get("type")
            if profile is not None and profile not in APPARMOR_TYPES:
                self.add(
                    control, "baseline", f"{c.path}.securityContext.appArmorProfile.type",
                    f"{profile!r} is forbidden (RuntimeDefault, Localhost or unset only)", c,
                )

    def selinux(self) -> None:
        allowed = _versioned(_SELINUX_TYPES, self.version)

        def check(options: Mapping[str, Any] | None, path: str, container: _Container | None) -> None:
            if not options:
                return
            type_ = options.get("type")
            if type_ and type_ not in allowed:
                self.add(
                    "SELinux", "baseline", f"{path}.seLinuxOptions.type",
                    f"{type_!r} is forbidden (unset, {', '.join(sorted(allowed))} only)", container,
                )
            for key in ("user", "role"):
                if options.get(key):
                    self.add("SELinux", "baseline", f"{path}.seLinuxOptions.{key}", "must not be set", container)

        check(self.pod_sc.get("seLinuxOptions"), self.pod_sc_path, None)
        for c in self.containers:
            check(c.security_context.get("seLinuxOptions"), f"{c.path}.securityContext", c)

    def proc_mount(self, level: Level) -> None:
        if level == "baseline" and self.version >= (1, 35) and self.spec.get("hostUsers") is False:
            return  # baseline allows any procMount in a user-namespace pod from 1.35
        for c in self.containers:
            mount = c.security_context.get("procMount")
            if mount is not None and mount != "Default":
                self.add(
                    "/proc Mount Type", "baseline", f"{c.path}.securityContext.procMount",
                    f"{mount!r} is forbidden (Default or unset only)", c,
                )

    def seccomp_baseline(self) -> None:
        if (self.pod_sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            self.add("Seccomp", "baseline", f"{self.pod_sc_path}.seccompProfile.type", "must not be Unconfined")
        for c in self.containers:
            if (c.security_context.get("seccompProfile") or {}).get("type") == "Unconfined":
                self.add(
                    "Seccomp", "baseline", f"{c.path}.securityContext.seccompProfile.type", "must not be Unconfined", c
                )

    def sysctls(self) -> None:
        allowed = _versioned(_SAFE_SYSCTLS, self.version)
        for sysctl in self.pod_sc.get("sysctls") or []:
            name = sysctl.get("name")
            if name not in allowed:
                self.add(
                    "Sysctls", "baseline", f"{self.pod_sc_path}.sysctls[{name}]",
                    f"{name!r} is not a safe sysctl (allowed: {', '.join(sorted(allowed))})",
                )

    # --- restricted ----------------------------------------------------------------------------------------

    def volume_types(self) -> None:
        for volume in self.spec.get("volumes") or []:
            sources = sorted(k for k, v in volume.items() if k != "name" and v is not None)
            if not any(s in RESTRICTED_VOLUME_SOURCES for s in sources):
                self.add(
                    "Volume Types", "restricted", f"{self.pod.path}.volumes[{volume.get('name')}]",
                    f"volume type {', '.join(sources) or '(none)'} is forbidden (only "
                    f"{', '.join(sorted(RESTRICTED_VOLUME_SOURCES))})",
                )

    def privilege_escalation(self) -> None:
        if self.windows:
            return
        for c in self.containers:
            if c.security_context.get("allowPrivilegeEscalation") is not False:
                self.add(
                    "Privilege Escalation", "restricted", f"{c.path}.securityContext.allowPrivilegeEscalation",
                    "must be set to false", c,
                )

    def run_as_non_root(self) -> None:
        control = "Running as Non-root"
        pod_value = self.pod_sc.get("runAsNonRoot")
        if pod_value is False:
            self.add(control, "restricted", f"{self.pod_sc_path}.runAsNonRoot", "must not be false")
        for c in self.containers:
            value = c.security_context.get("runAsNonRoot")
            if value is False:
                self.add(control, "restricted", f"{c.path}.securityContext.runAsNonRoot", "must not be false", c)
            elif value is not True and pod_value is not True:
                self.add(
                    control, "restricted", f"{c.path}.securityContext.runAsNonRoot",
                    f"must be true, here or at pod level ({self.pod_sc_path}.runAsNonRoot)", c,
                )

    def run_as_user(self) -> None:
        control = "Running as Non-root user"
        if _is_zero(self.pod_sc.get("runAsUser")):
            self.add(control, "restricted", f"{self.pod_sc_path}.runAsUser", "must not be 0")
        for c in self.containers:
            if _is_zero(c.security_context.get("runAsUser")):
                self.add(control, "restricted", f"{c.path}.securityContext.runAsUser", "must not be 0", c)

    def seccomp_restricted(self) -> None:
        if self.windows:
            return
        pod_type = (self.pod_sc.get("seccompProfile") or {}).get("type")
        pod_set = pod_type in RESTRICTED_SECCOMP_TYPES
        if pod_type is not None and not pod_set:
            self.add(
                "Seccomp", "restricted", f"{self.pod_sc_path}.seccompProfile.type",
                f"{pod_type!r} is forbidden (RuntimeDefault or Localhost)",
            )
        for c in self.containers:
            profile = c.security_context.get("seccompProfile")
            if profile is not None:
                type_ = profile.get("type")
                if type_ not in RESTRICTED_SECCOMP_TYPES:
                    self.add(
                        "Seccomp", "restricted", f"{c.path}.securityContext.seccompProfile.type",
                        f"{type_!r} is forbidden (RuntimeDefault or Localhost)", c,
                    )
            elif not pod_set:
                self.add(
                    "Seccomp", "restricted", f"{c.path}.securityContext.seccompProfile.type",
                    f"must be RuntimeDefault or Localhost, here or at pod level ({self.pod_sc_path}.seccompProfile)",
                    c,
                )

    def capabilities_restricted(self) -> None:
        if self.windows:
            return
        for c in self.containers:
            capabilities = c.security_context.get("capabilities") or {}
            dropped = [str(cap) for cap in capabilities.get("drop") or []]
            if "ALL" not in dropped:
                self.add(
                    "Capabilities", "restricted", f"{c.path}.securityContext.capabilities.drop",
                    "must include ALL", c,
                )
            added = [str(cap) for cap in capabilities.get("add") or []]
            extra = sorted(cap for cap in added if cap not in RESTRICTED_ADD_CAPABILITIES)
            if extra:
                self.add(
                    "Capabilities", "restricted", f"{c.path}.securityContext.capabilities.add",
                    f"adds {', '.join(extra)}; only NET_BIND_SERVICE may be added", c,
                )

    def run(self, level: Level) -> list[Violation]:
        baseline: list[Callable[[], None]] = [
            self.host_process,
            self.host_namespaces,
            self.privileged,
            self.capabilities_baseline,
            self.host_path_volumes,
            self.host_ports,
            self.host_probes_and_lifecycle,
            self.apparmor,
            self.selinux,
            lambda: self.proc_mount(level),
            self.seccomp_baseline,
            self.sysctls,
        ]
        restricted: list[Callable[[], None]] = [
            self.volume_types,
            self.privilege_escalation,
            self.run_as_non_root,
            self.run_as_user,
            self.seccomp_restricted,
            self.capabilities_restricted,
        ]
        for control in baseline + (restricted if level == "restricted" else []):
            control()
        return self.violations


def check(obj: Mapping[str, Any], level: Level = "restricted", *, version: str) -> list[Violation]:
    """The violations of Pod Security Standard `level` (policy `version`, e.g. "1.35") by a pod-bearing object.

    `privileged` allows everything. Raises `NotPodBearing` for other kinds and `UnsupportedVersion` for a policy
    version not implemented here.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level!r} (one of {', '.join(LEVELS)})")
    parsed = parse_version(version)
    pod_template(obj)  # refuses objects that carry no pod, whatever the level
    if level == "privileged":
        return []
    return _Checker(obj, parsed).run(level)
