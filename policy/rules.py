"""The rules of kiban's policy pack, as plain functions of plain values.

`pulumi preview --policy-pack policy` runs them through CrossGuard (`pack.py` wraps each in a policy); the test
suite runs the very same functions on every stack's resources as the mock engine records them. A resource is its
type token, name, inputs (Kubernetes API field names) and `protect` flag; a rule returns the violations it finds,
each a sentence that says what to change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal, Mapping, Sequence

from components.apps.face_recognition.settings import GPU_WORKLOADS
from components.contracts.exemptions import exemptions_of
from components.contracts.images import ImageReference
from policy import pod_security
from versions import versions

GPU = "nvidia.com/gpu"
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIALS?)$", re.I)
APPLICATION = "kubernetes:argoproj.io/v1alpha1:Application"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
CNPG_CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster"
WORKLOAD_TYPES = {
    "kubernetes:apps/v1:Deployment": "Deployment",
    "kubernetes:apps/v1:StatefulSet": "StatefulSet",
    "kubernetes:apps/v1:DaemonSet": "DaemonSet",
    "kubernetes:batch/v1:Job": "Job",
    "kubernetes:batch/v1:CronJob": "CronJob",
    "kubernetes:argoproj.io/v1alpha1:Rollout": "Rollout",
}
PROTECTED_IN_PROD = {
    "kubernetes:apps/v1:StatefulSet": "a data store",
    "kubernetes:core/v1:PersistentVolumeClaim": "a volume claim",
    "gcp:container/cluster:Cluster": "the GKE cluster",
    "kubernetes:postgresql.cnpg.io/v1:Cluster": "a PostgreSQL cluster",
    "kubernetes:postgresql.cnpg.io/v1:Database": "a PostgreSQL database",
}


@dataclass(frozen=True)
class Resource:
    """What a rule sees of one resource."""

    type: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False


@dataclass(frozen=True)
class Settings:
    """The pack's per-stack config (`policy/config.<stack>.json`); every policy reads the same settings."""

    environment: Literal["dev", "prod"] = "prod"
    """`prod` applies the production-only rules. Default: `prod` (the stricter)."""

    allow_mutable_tags: bool = False
    """Accept moving image tags such as `latest`. Default: `false`; both stacks keep it: dev follows `latest`, but
    its pods run the digest `latest` pointed to at `up`, which is immutable."""

    gpu_workloads: Sequence[str] = GPU_WORKLOADS
    """The workloads that may reserve GPUs. Default: those the app declares (its backend and Milvus)."""

    public_load_balancers: Sequence[str] = ()
    """`namespace/name` of Services that may be public LoadBalancers. Default: none."""

    pod_security_exceptions: Mapping[str, str] = field(default_factory=lambda: {"nvidia-device-plugin": "privileged"})
    """Namespaces whose pods meet a lower Pod Security level, with the level. Default: the NVIDIA device plugin's
    namespace, `privileged` (it mounts the kubelet's device-plugin directory)."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> "Settings":
        config = config or {}
        return cls(
            environment=config.get("environment", "prod"),
            allow_mutable_tags=bool(config.get("allowMutableTags", False)),
            gpu_workloads=tuple(config.get("gpuWorkloads", cls.gpu_workloads)),
            public_load_balancers=tuple(config.get("publicLoadBalancers", ())),
            pod_security_exceptions=dict(config.get("podSecurityExceptions", {"nvidia-device-plugin": "privileged"})),
        )


# --- helpers ------------------------------------------------------------------------------------------------

MOVING_TAGS = re.compile(r"(latest|main|master|stable|edge|dev|develop|nightly|head|current|lts)([-._].*)?", re.I)
RELEASE_VERSION = re.compile(r"v?\d+\.\d+(\.\d+)*([-+_][0-9A-Za-z][0-9A-Za-z.+_-]*)?")
"""At least `major.minor` (`1.4.2`, `v2.6.11-gpu`, `15.18-alpine`: PostgreSQL's own versions are two numbers)."""
DATED = re.compile(r"[A-Za-z.-]*(19|20)\d\d-?[01]\d-?[0-3]\d([-T.][0-9A-Za-z.-]*)?")
"""A build named by its date (`RELEASE.2024-12-18T13-15-44Z`, `20251111`)."""
COMMIT = re.compile(r"sha-[0-9a-f]{7,40}|(?=[0-9]*[a-f])[0-9a-f]{7,40}")
"""A build named by its source commit (`sha-0123456789ab`, or the bare hex of one)."""


def is_version_tag(tag: str | None) -> bool:
    """A tag that names one build: a release version of at least `major.minor` however the project writes it
    (`1.4.2`, `v1.4.2`, `15.18-alpine`, `12.6.3-cudnn-runtime-ubuntu24.04`), a dated build
    (`RELEASE.2024-12-18T13-15-44Z`) or a commit (`sha-0123456789ab`); never a moving name (`latest`, `main`,
    `stable-…`) nor a line that follows its newest release (`15`, `3`, `v2`, `24-alpine`, `alpine3.22`)."""
    if not tag or MOVING_TAGS.fullmatch(tag):
        return False
    return any(pattern.fullmatch(tag) for pattern in (RELEASE_VERSION, DATED, COMMIT))


def _values_images(values: Any, path: str = "values") -> Iterator[tuple[str, str]]:
    """The image references a Helm release's values set: a string under a key `image`, or a map with `repository`
    and `tag` (`registry` too), with where it is."""
    if isinstance(values, Mapping):
        repository, tag = values.get("repository"), values.get("tag")
        if isinstance(repository, str) and isinstance(tag, (str, int, float)):
            registry = values.get("registry")
            prefix = f"{registry}/" if isinstance(registry, str) and registry else ""
            yield path, f"{prefix}{repository}:{tag}"
        for key, value in values.items():
            if key == "image" and isinstance(value, str):
                yield f"{path}.{key}", value
            else:
                yield from _values_images(value, f"{path}.{key}")
    elif isinstance(values, list):
        for index, value in enumerate(values):
            yield from _values_images(value, f"{path}[{index}]")


def images(resource: Resource) -> list[tuple[str, str]]:
    """What a resource makes the cluster run, as (where, image reference): its pods' containers, a CloudNativePG
    Cluster's `spec.imageName`, and the images a Helm release's values set (the images of the chart itself are
    pinned by its version, and the test suite renders them with helm and runs the same rules on them)."""
    pod = _pod(resource)
    if pod is not None:
        return [(f"container {c['name']}", c["image"]) for c in _containers(pod)]
    if resource.type == CNPG_CLUSTER:
        name = (resource.props.get("spec") or {}).get("imageName")
        return [("spec.imageName", name)] if name else []
    if resource.type == HELM_RELEASE:
        return list(_values_images(resource.props.get("values") or {}))
    return []


def _manifest(resource: Resource) -> dict[str, Any] | None:
    kind = WORKLOAD_TYPES.get(resource.type)
    if kind is None:
        return None
    return {"kind": kind, "apiVersion": "", "metadata": resource.props.get("metadata") or {}, "spec": resource.props.get("spec") or {}}


def _pod(resource: Resource) -> dict[str, Any] | None:
    manifest = _manifest(resource)
    if manifest is None:
        return None
    if manifest["kind"] == "Rollout":
        manifest = {**manifest, "kind": "Deployment"}
    return pod_security.pod_template(manifest).spec


def _containers(pod: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers"):
        yield from pod.get(key) or []


def _where(resource: Resource) -> str:
    metadata = resource.props.get("metadata") or {}
    namespace = metadata.get("namespace")
    return f"{resource.type.split(':')[-1]} {namespace + '/' if namespace else ''}{metadata.get('name', resource.name)}"


# --- resource rules -----------------------------------------------------------------------------------------


def immutable_images(resource: Resource, settings: Settings) -> list[str]:
    """No `latest`, untagged or moving tag: a release version or a digest (unless the stack allows moving tags)."""
    if settings.allow_mutable_tags:
        return []
    problems = []
    for where, reference in images(resource):
        try:
            image = ImageReference.parse(reference)
        except ValueError:
            problems.append(f"{_where(resource)}: {where}: {reference!r} is not an image reference")
            continue
        if image.digest is None and not is_version_tag(image.tag):
            problems.append(
                f"{_where(resource)}: {where} runs {reference!r}, whose tag {image.tag!r} moves; deploy a release "
                "version or a digest"
            )
    return problems


def no_withdrawn_images(resource: Resource, settings: Settings) -> list[str]:
    """No image from a registry repository withdrawn upstream (versions.json `withdrawnImages`): deleted, so the pod
    never starts (docker.io/minio/{minio,mc} since 2026-09-12), or frozen with known unpatched advisories."""
    problems = []
    for where, reference in images(resource):
        try:
            why = versions().withdrawn_images.why(reference)
        except ValueError:
            continue  # not an image reference: immutable-images names it
        if why:
            problems.append(f"{_where(resource)}: {where} runs {reference!r}, from a withdrawn repository ({why})")
    return problems


def container_resources(resource: Resource, settings: Settings) -> list[str]:
    """Every container requests CPU and memory and limits memory."""
    pod = _pod(resource)
    if pod is None:
        return []
    problems = []
    for container in _containers(pod):
        resources = container.get("resources") or {}
        missing = [
            f"{section}.{what}"
            for section, what in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))
            if not (resources.get(section) or {}).get(what)
        ]
        if missing:
            problems.append(f"{_where(resource)}: container {container['name']} sets no {', '.join(missing)}")
    return problems


def pod_security_restricted(resource: Resource, settings: Settings) -> list[str]:
    """Pods meet Pod Security `restricted`, except in the namespaces the settings name (with their level)."""
    manifest = _manifest(resource)
    if manifest is None:
        return []
    if manifest["kind"] == "Rollout":
        manifest = {**manifest, "kind": "Deployment"}
    namespace = (manifest["metadata"] or {}).get("namespace", "default")
    level = settings.pod_security_exceptions.get(namespace, "restricted")
    return [f"{_where(resource)}: {v}" for v in pod_security.check(manifest, level, version="1.35")]  # type: ignore[arg-type]


def gpu_placement(resource: Resource, settings: Settings) -> list[str]:
    """Only the named GPU workloads reserve GPUs, and each that does tolerates the GPU taint."""
    pod = _pod(resource)
    if pod is None:
        return []
    reserving = [c["name"] for c in _containers(pod) if GPU in ((c.get("resources") or {}).get("limits") or {})]
    if not reserving:
        return []
    name = (resource.props.get("metadata") or {}).get("name", resource.name)
    problems = []
    if name not in settings.gpu_workloads:
        problems.append(f"{_where(resource)} reserves GPUs but is not one of the GPU workloads {list(settings.gpu_workloads)}")
    if not any(t.get("key") == GPU for t in pod.get("tolerations") or []):
        problems.append(f"{_where(resource)} reserves GPUs but does not tolerate the {GPU} taint of GPU nodes")
    return problems


def secrets_by_reference(resource: Resource, settings: Settings) -> list[str]:
    """A secret reaches a container only through a secret reference or a file, never an env literal."""
    pod = _pod(resource)
    if pod is None:
        return []
    return [
        f"{_where(resource)}: container {c['name']} sets {env['name']} as a literal; read it from a Secret "
        "(secretKeyRef) or a file"
        for c in _containers(pod)
        for env in c.get("env") or []
        if "value" in env and SECRET_NAME.search(env["name"]) and not str(env["name"]).endswith("_FILE")
    ]


def prod_applications_sync_by_hand(resource: Resource, settings: Settings) -> list[str]:
    """In prod, an Argo CD Application never syncs automatically: a person syncs a release."""
    if settings.environment != "prod" or resource.type != APPLICATION:
        return []
    automated = ((resource.props.get("spec") or {}).get("syncPolicy") or {}).get("automated")
    return [f"{_where(resource)} syncs automatically in prod; remove syncPolicy.automated"] if automated is not None else []


IMAGE_UPDATER = "kubernetes:argocd-image-updater.argoproj.io/v1alpha1:ImageUpdater"
SECRET_WRITING_LOG_LEVELS = {"trace", "debug", "info"}
"""Log levels at which the face-recognition backend writes its settings, passwords and JWT key included (loguru's
`LOGURU_LEVEL` and uvicorn's `--log-level`)."""


def prod_no_image_updater(resource: Resource, settings: Settings) -> list[str]:
    """In prod, nothing follows a moving tag: no Image Updater (its chart or its `ImageUpdater` resource)."""
    if settings.environment != "prod":
        return []
    if resource.type == IMAGE_UPDATER or (
        resource.type == HELM_RELEASE and resource.props.get("chart") == "argocd-image-updater"
    ):
        return [f"{_where(resource)} is Argo CD Image Updater, which follows moving tags; prod deploys releases"]
    return []


def prod_no_secret_logging(resource: Resource, settings: Settings) -> list[str]:
    """In prod, no container runs at a log level that writes secrets (`LOGURU_LEVEL` or `--log-level` of trace,
    debug or info)."""
    pod = _pod(resource)
    if settings.environment != "prod" or pod is None:
        return []
    problems = []
    for container in _containers(pod):
        levels = {str(e.get("value", "")).lower() for e in container.get("env") or [] if e.get("name") == "LOGURU_LEVEL"}
        arguments = [str(a) for a in (container.get("command") or []) + (container.get("args") or [])]
        levels |= {arguments[i + 1].lower() for i, a in enumerate(arguments[:-1]) if a == "--log-level"}
        levels |= {a.split("=", 1)[1].lower() for a in arguments if a.startswith("--log-level=")}
        for level in sorted(levels & SECRET_WRITING_LOG_LEVELS):
            problems.append(
                f"{_where(resource)} container {container.get('name')} logs at {level!r}, which writes the app's "
                "secrets to the log; use warning or error in prod"
            )
    return problems


def no_public_load_balancer(resource: Resource, settings: Settings) -> list[str]:
    """No Service of type LoadBalancer is public unless the settings name it; internal ones are fine."""
    if resource.type != "kubernetes:core/v1:Service" or (resource.props.get("spec") or {}).get("type") != "LoadBalancer":
        return []
    metadata = resource.props.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    internal = annotations.get("networking.gke.io/load-balancer-type") == "Internal" or annotations.get(
        "service.beta.kubernetes.io/load-balancer-internal"
    ) in ("true", "True")
    key = f"{metadata.get('namespace', 'default')}/{metadata.get('name', resource.name)}"
    if internal or key in settings.public_load_balancers:
        return []
    return [f"Service {key} is a public LoadBalancer; use the Ingress, an internal load balancer, or name it in publicLoadBalancers"]


# --- stack rules --------------------------------------------------------------------------------------------


def default_deny_everywhere(resources: Sequence[Resource], settings: Settings) -> list[str]:
    """Every namespace that runs pods starts from a default-deny NetworkPolicy."""
    with_pods = {
        (r.props.get("metadata") or {}).get("namespace", "default") for r in resources if r.type in WORKLOAD_TYPES
    }
    denied = set()
    for r in resources:
        if r.type != "kubernetes:networking.k8s.io/v1:NetworkPolicy":
            continue
        spec = r.props.get("spec") or {}
        selector = spec.get("podSelector")
        if (
            selector is not None
            and not selector.get("matchLabels")
            and not selector.get("matchExpressions")
            and {"Ingress", "Egress"} <= set(spec.get("policyTypes") or [])
            and not spec.get("ingress")
            and not spec.get("egress")
        ):
            denied.add((r.props.get("metadata") or {}).get("namespace", "default"))
    return [f"namespace {n} runs pods without a default-deny NetworkPolicy" for n in sorted(with_pods - denied)]


def prod_data_protected(resources: Sequence[Resource], settings: Settings) -> list[str]:
    """In prod, the cluster, the GPU pool, every data store and claim, and the namespaces holding them are
    `protect`ed."""
    if settings.environment != "prod":
        return []
    problems = []
    data_namespaces = {
        (r.props.get("metadata") or {}).get("namespace")
        for r in resources
        if r.type in ("kubernetes:apps/v1:StatefulSet", "kubernetes:core/v1:PersistentVolumeClaim")
        or r.type == "kubernetes:postgresql.cnpg.io/v1:Cluster"
    }
    for r in resources:
        what = PROTECTED_IN_PROD.get(r.type)
        if r.type == "gcp:container/nodePool:NodePool" and (r.props.get("nodeConfig") or {}).get("guestAccelerators"):
            what = "the GPU node pool"
        if r.type == "kubernetes:core/v1:Namespace" and (r.props.get("metadata") or {}).get("name") in data_namespaces:
            what = "a namespace holding data"
        if what and not r.protect:
            problems.append(f"{_where(r)} is {what} and is not protected in prod")
    return problems


ResourceRule = Callable[[Resource, Settings], list[str]]
StackRule = Callable[[Sequence[Resource], Settings], list[str]]

RESOURCE_RULES: dict[str, ResourceRule] = {
    "immutable-images": immutable_images,
    "no-withdrawn-images": no_withdrawn_images,
    "container-resources": container_resources,
    "pod-security-restricted": pod_security_restricted,
    "gpu-placement": gpu_placement,
    "secrets-by-reference": secrets_by_reference,
    "prod-applications-sync-by-hand": prod_applications_sync_by_hand,
    "no-public-load-balancer": no_public_load_balancer,
    "prod-no-image-updater": prod_no_image_updater,
    "prod-no-secret-logging": prod_no_secret_logging,
}
STACK_RULES: dict[str, StackRule] = {
    "default-deny-everywhere": default_deny_everywhere,
    "prod-data-protected": prod_data_protected,
}


def scanner_exempt(resource: Resource, check_id: str) -> bool:
    """Whether the resource carries the exemption `check_id` (one format with checkov's)."""
    return any(e.check_id == check_id for e in exemptions_of((resource.props.get("metadata") or {}).get("annotations")))
