"""`StackConfig`: the whole `kiban:` namespace of one stack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from pydantic import Field, model_validator

from components.contracts import namespaces
from components.contracts.images import ImageReference as ContractImageReference
from components.contracts.images import VERSION_TAG
from components.platform.argocd_settings import ArgoCdConfig
from components.contracts.settings import ConfigModel, Hostname, KubernetesName, PemCertificates
from components.clusters.settings import ClusterConfig, GkeCluster
from components.apps.face_recognition.settings import SENSITIVE_LOG_LEVELS, AppImages, FaceRecognitionConfig
from components.platform.registry_settings import ArtifactRegistry, BuildPcRegistry, ExternalRegistry, RegistryConfig
from components.platform.rollouts_settings import RolloutsConfig
from components.contracts.stores import RESERVED_LOGINS, store_login
from stack_config.shared_data import SharedDataConfig

class TlsFromConfig(ConfigModel):
    """A certificate kept in stack config; its private key is the secret setting `kiban:tlsPrivateKey`."""

    certificate: PemCertificates
    """PEM certificate chain (public; the key is set with `pulumi config set --secret kiban:tlsPrivateKey`)."""


class TlsFromSecret(ConfigModel):
    """A `kubernetes.io/tls` Secret that something else (e.g. cert-manager) keeps in the app namespace."""

    secret_name: KubernetesName
    """Name of the existing TLS Secret."""


class IngressConfig(ConfigModel):
    """The entry point: `/api` to the backend, `/` to the frontend."""

    host: Hostname
    """Host name the Ingress answers to. Required."""

    tls: TlsFromConfig | TlsFromSecret | None = None
    """TLS for the host: `{certificate: <PEM>}` or `{secretName: <existing secret>}`. Default: unset, plain HTTP."""


class DataSafety(ConfigModel):
    """How hard kiban makes it to lose data."""

    protect: bool = True
    """Mark data stores (StatefulSets, their Secrets, backup volumes, and the namespaces holding them) `protect`ed:
    Pulumi refuses to delete or replace them until unprotected. Default: `true`."""

    retain_volumes: bool = True
    """Keep volumes when their claim or StatefulSet goes: a StorageClass with `reclaimPolicy: Retain`, claims
    retained on StatefulSet deletion and scale-down, and Pulumi's `retainOnDelete`. Default: `true`. Fixed after the
    first deploy (it picks the StorageClass the stores' claim templates name)."""


class DeployTimeouts(ConfigModel):
    """How long `pulumi up` waits for things that are slow on a real cluster."""

    workload_ready_minutes: int = Field(default=20, ge=5, le=180)
    """How long a data store or a GPU workload may take to become ready, on create and on update: GPU images are
    several GB and models load slowly on a cold node (Pulumi's own default is 10 minutes). Default: `20`."""

    helm_release_seconds: int = Field(default=900, ge=600, le=7200)
    """How long a Helm release may take to install or upgrade (Helm's own default is 300 s). Default: `900`."""


class StackConfig(ConfigModel):
    """Every `kiban:` setting of one stack."""

    environment: Literal["production", "development"] = "production"
    """What the stack is for. `production` keeps prod's promises, each refused here when a setting would break it
    (and checked again by the policy pack at preview): no moving image tag (`images.allowMutableTags`), no Image
    Updater, no automatic sync of Argo CD applications, no log level that writes secrets (`info`, `debug`), and data
    stores protected with their volumes retained. `development` (the homelab) may do each of those. Default:
    `production`, so a stack that does not say what it is gets the strict rules."""

    phase: Literal["foundation", "workloads"] = "workloads"
    """What this `up` declares. `foundation`: a new stack's first `up`: the cluster and what it needs to run, the
    registry with its CA and credentials, and CI's identity; nothing that pulls kiban's images or reads their
    digests, which exist only after the steps that follow it (dev: each K3s node's `registries.yaml` and the
    builder's trust; prod: the release workflow's push). `workloads`: everything. A `foundation` up of a stack that
    runs its workloads is refused (it would delete them), and so is a `workloads` up of a stack with a build PC
    registry or Artifact Registry that has no foundation yet. docs/operations.md walks through both stacks.
    Default: `workloads`."""

    cluster: ClusterConfig
    """Where to deploy: `kind: k3s`, `kind: existing-gke`, or `kind: gke` (kiban creates it). Required."""

    ingress: IngressConfig
    """The public entry point. Required."""

    images: AppImages
    """kiban's own images. Required."""

    face_recognition: FaceRecognitionConfig = Field(default_factory=FaceRecognitionConfig)
    """The face-recognition system. Default: CPU build, one replica of each service."""

    data_safety: DataSafety = Field(default_factory=DataSafety)
    """Default: data stores protected and volumes retained."""

    timeouts: DeployTimeouts = Field(default_factory=DeployTimeouts)
    """How long `pulumi up` waits. Default: 20 minutes for data stores and GPU workloads, 900 s for Helm releases."""

    argocd: ArgoCdConfig = Field(default_factory=ArgoCdConfig)
    """Argo CD and the applications it delivers. Default: Argo CD with no application, syncing by hand."""

    registry: BuildPcRegistry | ArtifactRegistry | ExternalRegistry | None = Field(default=None, discriminator="kind")
    """Where kiban's own images are pushed and pulled from: `kind: build-pc`, `kind: artifact-registry` or
    `kind: external`. Default: unset, a registry kiban does not run, pulled from anonymously (as `kind: external`
    without a user)."""

    rollouts: RolloutsConfig = Field(default_factory=RolloutsConfig)
    """Blue/green releases of the backend and the frontend. Default: a new version waits on its preview for a
    person to promote it, and the previous one stays up 10 minutes after a switch."""

    shared_data: SharedDataConfig = Field(default_factory=SharedDataConfig)
    """The PostgreSQL and Valkey shared by the applications Argo CD delivers. Default: neither."""

    @model_validator(mode="after")
    def _production_promises(self) -> "StackConfig":
        if self.environment != "production":
            return self
        broken = [
            (self.images.allow_mutable_tags, "images.allowMutableTags is true: production deploys release versions, "
             "never a moving tag"),
            (self.argocd.image_updater is not None, "argocd.imageUpdater is set: production never follows a moving "
             "tag; deploy releases"),
            (self.argocd.auto_sync, "argocd.autoSync is true: a person syncs production's applications"),
            (self.face_recognition.backend.log_level in SENSITIVE_LOG_LEVELS,
             f"faceRecognition.backend.logLevel is {self.face_recognition.backend.log_level!r}, which writes the "
             "app's passwords and JWT key to the log (allowSensitiveLogs does not lift this in production): use "
             "'warning' or 'error'"),
            (not self.data_safety.protect, "dataSafety.protect is false: production's data stores are protected"),
            (not self.data_safety.retain_volumes, "dataSafety.retainVolumes is false: production keeps its volumes"),
        ]
        problems = [why for is_broken, why in broken if is_broken]
        if problems:
            raise ValueError(
                "environment is production, which refuses: " + "; ".join(problems)
                + ". Set environment: development only for a stack that may do these"
            )
        return self

    @model_validator(mode="after")
    def _hosts_and_namespaces_have_one_owner(self) -> "StackConfig":
        if self.argocd.host is not None and self.argocd.host == self.ingress.host:
            raise ValueError(
                f"argocd.host: {self.argocd.host!r} is ingress.host, the face-recognition system's; give Argo CD "
                "its own host"
            )
        for index, app in enumerate(self.argocd.applications):
            owner = namespaces.owner_of(app.namespace)
            if owner is not None:
                raise ValueError(
                    f"argocd.applications[{index}].namespace: {app.namespace!r} belongs to {owner}; an application "
                    "gets a namespace of its own (kiban creates it, enforces Pod Security and default-deny in it, "
                    "and writes its credentials there)"
                )
            if app.name in RESERVED_APPLICATION_NAMES:
                raise ValueError(
                    f"argocd.applications[{index}].name: {app.name!r} is {RESERVED_APPLICATION_NAMES[app.name]}; "
                    "choose another name"
                )
        return self

    @model_validator(mode="after")
    def _gpu_needs_gpu_nodes(self) -> "StackConfig":
        if self.face_recognition.gpu and self.cluster.gpu is None:
            raise ValueError(
                "faceRecognition.gpu is true but cluster.gpu is not set; describe the cluster's GPU nodes "
                "under kiban:cluster.gpu or set faceRecognition.gpu: false"
            )
        if not self.argocd.auto_sync:
            for index, app in enumerate(self.argocd.applications):
                if not VERSION_TAG.fullmatch(app.target_revision):
                    raise ValueError(
                        f"argocd.applications[{index}].targetRevision: {app.target_revision!r} is not a release tag; "
                        "applications that sync by hand deploy a release (v1.4.2), or set argocd.autoSync: true"
                    )
        self._images_in_registry()
        self._shared_stores_exist()
        self._hosts_not_kibans()
        if self.argocd.host and self.argocd.tls_secret_name is None and not isinstance(self.registry, BuildPcRegistry):
            raise ValueError(
                "argocd.host is set but nothing gives its UI a certificate, and kiban serves it over HTTPS only; set "
                "argocd.tlsSecretName to a kubernetes.io/tls Secret in the argocd namespace (e.g. from cert-manager), "
                "or use registry kind: build-pc, whose CA signs one"
            )
        demand = self.gpu_demand()
        supply = self.cluster.gpu_slots()
        if supply is not None and sum(demand.values()) > supply:
            wanted = ", ".join(f"{name} {count}" for name, count in demand.items())
            raise ValueError(
                f"the GPU workloads can ask for {sum(demand.values())} GPUs at once ({wanted}) but the cluster has "
                f"{supply}; raise cluster.gpu.timeSlicingReplicas or add GPUs (K3s), raise cluster.gpu.maxNodes "
                "(GKE), or lower faceRecognition.backend.autoscaling.maxReplicas"
            )
        return self

    def registry_or_default(self) -> RegistryConfig:
        """`registry`, or what its absence means: an external registry pulled from anonymously."""
        return self.registry if self.registry is not None else ExternalRegistry(kind="external")

    def artifact_registry_location(self) -> tuple[str | None, str | None]:
        """The project and region of an `artifact-registry`: its own, or else those of the GKE cluster kiban creates
        (`None` where neither says)."""
        registry = self.registry
        if not isinstance(registry, ArtifactRegistry):
            raise TypeError("only an artifact-registry has a project and a region")
        created = self.cluster if isinstance(self.cluster, GkeCluster) else None
        return (
            registry.project or (created.project if created else None),
            registry.location or (created.region if created else None),
        )

    def _images_in_registry(self) -> None:
        registry = self.registry
        if isinstance(registry, BuildPcRegistry):
            endpoint = registry.endpoint()
            where = f"the build PC's registry ({endpoint})"
            builds = registry.builds
            for key, reference in self._image_references():
                tag = ContractImageReference.parse(reference).tag
                if builds is not None and tag not in ("latest", builds.version):
                    raise ValueError(
                        f"images.{key}: {reference!r} has the tag {tag!r}, but registry.builds pushes only latest and "
                        f"{builds.version!r}; follow latest, or remove registry.builds"
                    )
        elif isinstance(registry, ArtifactRegistry):
            if self.images.allow_mutable_tags:
                raise ValueError(
                    "images.allowMutableTags is true but registry.kind is artifact-registry: a stack that deploys "
                    "from Artifact Registry deploys releases, never latest; remove allowMutableTags"
                )
            project, location = self.artifact_registry_location()
            if project is None or location is None:
                raise ValueError(
                    "registry.project and registry.location are needed: the cluster is not one kiban creates "
                    "(kind: gke), so the repository's project and region cannot come from it"
                )
            endpoint = registry.endpoint(project, location)
            region_from = "registry.location" if registry.location else "cluster.region"
            where = (
                f"the Artifact Registry repository ({endpoint}), whose region {location} comes from {region_from} "
                f"(if {location} is a typo, correct {region_from})"
            )
        else:
            return
        for key, reference in self._image_references():
            repository = ContractImageReference.parse(reference).repository
            if not repository.startswith(endpoint + "/"):
                raise ValueError(
                    f"images.{key}: {reference!r} is not in {where}; write {endpoint}/<image>:<tag>, or change "
                    "kiban:registry"
                )

    def _image_references(self) -> list[tuple[str, str]]:
        """Each of the app's images as `(its key under images, its reference)`."""
        fields = AppImages.model_fields
        return [(fields[name].alias or name, reference) for name, reference in self.images.references().items()]

    def _shared_stores_exist(self) -> None:
        enabled = self.shared_data.enabled()
        for index, app in enumerate(self.argocd.applications):
            for store in app.shared_data:
                taken = RESERVED_LOGINS[store]
                login = store_login(store, app.name)
                if login in taken:
                    raise ValueError(
                        f"argocd.applications[{index}].sharedData: the {store} login of {app.name!r} would be "
                        f"{login!r}, which the store keeps for itself ({', '.join(sorted(taken))}); rename the "
                        "application"
                    )
                if store not in enabled:
                    raise ValueError(
                        f"argocd.applications[{index}].sharedData: {app.name} asks for the shared {store}, but "
                        f"sharedData.{store} is not set; configure kiban:sharedData.{store} or remove it from the "
                        "application"
                    )

    def _hosts_not_kibans(self) -> None:
        for index, app in enumerate(self.argocd.applications):
            if self.ingress.host in app.hosts():
                raise ValueError(
                    f"argocd.applications[{index}].ingress.hosts: {self.ingress.host!r} is the face-recognition "
                    "system's (ingress.host); each host has one owner: give the application its own"
                )

    def gpu_demand(self) -> dict[str, int]:
        """The most GPUs each of the app's GPU workloads holds at once (`FaceRecognitionConfig.gpu_demand`)."""
        return self.face_recognition.gpu_demand()


RESERVED_APPLICATION_NAMES: dict[str, str] = {
    "default": "Argo CD's built-in project, which every repository and namespace may use",
}
"""Names an application may not take (its AppProject has its name)."""


@dataclass(frozen=True)
class SecretSetting:
    """A setting stored encrypted (`pulumi config set --secret`), read with `require_secret`."""

    key: str
    """Its key below `kiban:`."""

    description: str
    """What it holds."""

    needed_when: str
    """The setting that asks for it, in words."""

    needed: Callable[[StackConfig], bool]
    """Whether the validated plain settings need it: it must be set exactly then."""

    value_from: str = "<value>"
    """How to hand the value to `pulumi config set --secret` in the loader's hint."""


SECRET_SETTINGS: tuple[SecretSetting, ...] = (
    SecretSetting(
        "tlsPrivateKey",
        "PEM private key of kiban:ingress.tls.certificate",
        "kiban:ingress.tls.certificate",
        lambda config: isinstance(config.ingress.tls, TlsFromConfig),
        value_from="< key.pem",
    ),
    SecretSetting(
        "argocdRepositoryPassword",
        "password (or token) of kiban:argocd.repositoryUsername for the applications' repositories",
        "kiban:argocd.repositoryUsername",
        lambda config: config.argocd.repository_username is not None,
    ),
    SecretSetting(
        "imageUpdaterRegistryPassword",
        "password of kiban:argocd.imageUpdater.registryUsername for the followed images' registry",
        "kiban:argocd.imageUpdater.registryUsername",
        lambda config: config.argocd.image_updater is not None
        and config.argocd.image_updater.registry_username is not None,
    ),
    SecretSetting(
        "applicationSecrets",
        "the secret values of delivered applications' Secrets, by application and key (OAuth credentials...)",
        "a key with `setting` in kiban:argocd.applications[].secret.keys",
        lambda config: any(app.setting_keys() for app in config.argocd.applications),
        value_from="--path 'kiban:applicationSecrets.<application>.<key>' <value>",
    ),
    SecretSetting(
        "registryPassword",
        "password (or token) of kiban:registry.username for pulling kiban's images from an external registry",
        "kiban:registry.username (kind: external)",
        lambda config: isinstance(config.registry, ExternalRegistry) and config.registry.username is not None,
    ),
)
"""Settings that must be stored encrypted (`pulumi config set --secret`), read with `require_secret`. Each is
required exactly when the setting it belongs to is set."""
