"""`kiban:argocd`: Argo CD, the applications it delivers from their own repositories, and Image Updater."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from components.contracts.settings import (
    ConfigModel,
    Hostname,
    ImageReference,
    KubernetesName,
    PemCertificates,
    check_relative_path,
    worded,
)
from components.contracts.stores import SharedStore

_HOST = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+"
_REPO_PATH = r"[A-Za-z0-9_][A-Za-z0-9_.~-]*(/[A-Za-z0-9_][A-Za-z0-9_.~-]*)*"
_REPO = re.compile(rf"https://{_HOST}(:\d{{1,5}})?/{_REPO_PATH}|(ssh://)?git@{_HOST}[:/]{_REPO_PATH}")


def _check_repo(value: str) -> str:
    if not _REPO.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a git repository URL: write https://host/owner/repo.git or git@host:owner/repo.git "
            "(an ASCII, lower-case host name: a look-alike letter from another alphabet is refused)"
        )
    return value


RepoUrl = Annotated[str, AfterValidator(_check_repo)]


def _check_repository_path(value: str) -> str:
    return value if value == "." else check_relative_path(value, "the repository")
GitRevision = Annotated[str, worded(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,254}", "a git revision (branch, tag or commit)")]
GroupKind = Annotated[str, worded(r"([a-z0-9.-]+/)?[A-Z][A-Za-z0-9]*", "a group/Kind such as rbac.authorization.k8s.io/ClusterRole (core kinds: Namespace)")]


class FollowedImage(ConfigModel):
    """An image of the application that Image Updater follows on a development stack."""

    alias: KubernetesName
    """Name of the image in the application (Image Updater's alias). Required."""

    image: ImageReference
    """The image and the tag it follows, e.g. `registry.homelab.internal:5000/face-api:latest`: its digest is
    deployed, so a new push rolls out and the running image is always known. Required."""


Port = Annotated[int, Field(ge=1, le=65535)]
SecretKey = Annotated[str, worded(r"[-._a-zA-Z0-9]+", "a Secret key: letters, digits, '-', '_' or '.' (e.g. DATABASE_URL)",
                                  max_length=253)]

APPLICATION_KINDS: tuple[str, ...] = (
    "ConfigMap", "Service", "ServiceAccount", "PersistentVolumeClaim",
    "apps/Deployment", "apps/StatefulSet", "batch/Job", "batch/CronJob",
    "networking.k8s.io/Ingress", "autoscaling/HorizontalPodAutoscaler", "policy/PodDisruptionBudget",
)
"""The namespaced kinds every application may deploy (`group/Kind`; core kinds without a group). Not among them,
whatever `namespacedResources` says: NetworkPolicy (it would undo the namespace's default-deny), ResourceQuota and
LimitRange (kiban's to set), RBAC (Role, RoleBinding), Secret (kiban writes the application's Secrets; one from git
would overwrite them), and Argo CD's own kinds."""

FORBIDDEN_GROUPS = {
    "networking.k8s.io/NetworkPolicy": "it would undo the namespace's default-deny; ask kiban for ingress or egress",
    "ResourceQuota": "quotas are kiban's to set",
    "LimitRange": "limits are kiban's to set",
    "Secret": "kiban writes the application's Secrets (`secret`); one from git would overwrite them",
    "rbac.authorization.k8s.io/*": "RBAC would let the application grant itself more",
    "admissionregistration.k8s.io/*": "webhooks and admission policies see or change every object",
    "apiextensions.k8s.io/*": "a CRD changes the API for every application",
    "Namespace": "kiban creates and hardens the application's namespace",
    "argoproj.io/Application": "an Application could deploy anything into any project's namespace",
    "argoproj.io/AppProject": "a project would widen what applications may do",
    "argoproj.io/ApplicationSet": "an ApplicationSet creates Applications",
    "argocd-image-updater.argoproj.io/*": "Image Updater's configuration is kiban's",
}
"""Kinds no application may deploy, with the reason the error gives (`group/*`: every kind of the group)."""


def forbidden_reason(group_kind: str) -> str | None:
    """Why an application may not deploy `group/Kind`, or `None` where it may."""
    group = group_kind.rpartition("/")[0]
    return FORBIDDEN_GROUPS.get(group_kind) or FORBIDDEN_GROUPS.get(f"{group}/*")


class ApplicationIngress(ConfigModel):
    """The hosts an application answers to through the cluster's ingress controller."""

    hosts: list[Hostname] = Field(min_length=1)
    """Host names its Ingresses may claim; no other application and nothing of kiban's (the face-recognition
    host, the Argo CD host) may own one. An admission policy refuses any other host, a rule without a host, and a
    default backend in its namespace. Required."""

    ports: list[Port] = Field(min_length=1)
    """The pods' ports the ingress controller may reach (the `targetPort`s of the Services its Ingresses route to),
    e.g. `[3000]`. Required."""


class EgressDestination(ConfigModel):
    """An address block outside the cluster the application connects to."""

    name: KubernetesName
    """What it is (`smtp-relay`), written on its NetworkPolicy. Required."""

    cidr: Annotated[str, worded(r"[0-9a-fA-F:.]+/\d{1,3}", "an address block such as 192.168.0.20/32")]
    """The block, e.g. `192.168.0.20/32`. Required."""

    ports: list[Port] = Field(min_length=1)
    """TCP ports. Required."""

    @field_validator("cidr")
    @classmethod
    def _a_network(cls, cidr: str) -> str:
        import ipaddress

        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError as error:
            raise ValueError(f"{cidr!r} is not an address block: {error}") from None
        return cidr


class ApplicationEgress(ConfigModel):
    """Where the application's pods may connect beyond DNS and the shared stores it uses."""

    internet: bool = False
    """Public addresses on `internetPorts` (not the private, link-local or shared ranges, so not the cluster, the
    homelab's network or the cloud's metadata server). Default: `false`."""

    internet_ports: list[Port] = Field(default_factory=lambda: [443], min_length=1)
    """The ports of `internet`. Default: `[443]` (HTTPS: OAuth providers, APIs, most feeds)."""

    destinations: list[EgressDestination] = Field(default_factory=list)
    """Named address blocks it reaches, private ones included. Default: none."""


SecretValue = Literal[
    "postgres.url", "postgres.host", "postgres.port", "postgres.database", "postgres.username", "postgres.password",
    "postgres.sslmode",
    "valkey.url", "valkey.host", "valkey.port", "valkey.username", "valkey.password", "valkey.keyPrefix",
    "generated", "setting",
]
"""What one key of an application's Secret holds."""


class ApplicationSecret(ConfigModel):
    """One Secret in the shape the application's manifests read, written by kiban."""

    name: KubernetesName
    """The Secret's name, e.g. `yomu-secrets`. Required."""

    keys: dict[SecretKey, SecretValue] = Field(min_length=1)
    """Each key and what it holds: `postgres.url` (`postgresql://user:password@host:5432/db?sslmode=require`),
    `postgres.host`, `.port`, `.database`, `.username`, `.password`, `.sslmode`; `valkey.url`
    (`redis://user:password@host:6379/0`), `valkey.host`, `.port`, `.username`, `.password`, `.keyPrefix` (the only
    prefix its keys may have); `generated` (48 random letters and digits, kept in Pulumi's state: a session
    secret); `setting` (the secret setting `kiban:applicationSecrets.<application>.<key>`, e.g. OAuth
    credentials: `pulumi config set --secret --path 'kiban:applicationSecrets.yomu.GOOGLE_CLIENT_SECRET' ...`).
    Required."""


class ArgoApplication(ConfigModel):
    """One self-contained application: its manifests live in its own repository (no app-of-apps)."""

    name: KubernetesName
    """Application name (also its AppProject's). Required."""

    repo_url: RepoUrl
    """The application's own repository. Required."""

    path: Annotated[str, AfterValidator(_check_repository_path)] = "."
    """Directory of the manifests in the repository, relative to its root (`.` for the root). Default: `.`."""

    target_revision: GitRevision
    """Branch, tag or commit to deploy. Required; in a stack whose applications sync by hand (prod), a release tag."""

    namespace: KubernetesName
    """Namespace it deploys into; kiban creates it (Pod Security `podSecurity`, default-deny). Required."""

    source_type: Literal["directory", "kustomize", "helm"] = "directory"
    """What `path` holds, as Argo CD builds it: `directory` (plain YAML), `kustomize` (a `kustomization.yaml`) or
    `helm` (a chart). Image Updater updates only `kustomize` and `helm` applications. Default: `directory`."""

    pod_security: Literal["restricted", "baseline"] = "restricted"
    """The Pod Security Standard its namespace enforces. Default: `restricted` (`make app-check` says what a
    manifest must change to meet it); `baseline` needs `podSecurityReason`."""

    pod_security_reason: str | None = None
    """Why the application cannot meet `restricted` (written on its namespace). Required with `baseline`."""

    ingress: ApplicationIngress | None = None
    """The hosts it answers to through the cluster's ingress controller, and the pods' ports the controller may
    reach. Default: unset: no Ingress is admitted in its namespace and nothing reaches its pods."""

    egress: ApplicationEgress = Field(default_factory=ApplicationEgress)
    """Where its pods may connect besides the cluster's DNS and its shared stores. Default: nowhere else."""

    secret: ApplicationSecret | None = None
    """The Secret its manifests read (e.g. `yomu-secrets` with `DATABASE_URL`, `VALKEY_URL`, `SESSION_SECRET`),
    which kiban writes in that shape instead of `shared-postgres`/`shared-valkey`. Default: unset: those two."""

    cluster_resources: list[GroupKind] = Field(default_factory=list)
    """Cluster-scoped kinds the application may create (never RBAC, webhooks, CRDs or namespaces). Default: none."""

    namespaced_resources: list[GroupKind] = Field(default_factory=list)
    """Namespaced kinds it may deploy beyond the ones every application may (ConfigMap, Service, ServiceAccount,
    PersistentVolumeClaim, Deployment, StatefulSet, Job, CronJob, Ingress, HorizontalPodAutoscaler,
    PodDisruptionBudget), e.g. `monitoring.coreos.com/ServiceMonitor`; never NetworkPolicy, ResourceQuota,
    LimitRange, RBAC, Secret or Argo CD's kinds. Default: none."""

    images: list[FollowedImage] = Field(default_factory=list)
    """Images Image Updater follows for it (only where `imageUpdater` is on). Default: none."""

    shared_data: list[SharedStore] = Field(default_factory=list)
    """Shared stores it uses (`postgres`, `valkey`; each must be set in `kiban:sharedData`). kiban creates its own
    database and login, or its Valkey user confined to keys named `<name>:*`, and writes the connection into the
    Secret `shared-postgres` (`DATABASE_URL`, `PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD`,
    `PGSSLMODE`) or `shared-valkey` (`VALKEY_URL`, `VALKEY_HOST`, `VALKEY_PORT`, `VALKEY_USERNAME`,
    `VALKEY_PASSWORD`, `VALKEY_KEY_PREFIX`) of its namespace, and lets its pods reach the store. Default: none."""

    @field_validator("shared_data")
    @classmethod
    def _each_store_once(cls, stores: list[str]) -> list[str]:
        if len(set(stores)) != len(stores):
            raise ValueError(f"{stores}: name each store once")
        return stores

    @field_validator("cluster_resources", "namespaced_resources")
    @classmethod
    def _no_kind_that_breaks_out(cls, kinds: list[str]) -> list[str]:
        for kind in kinds:
            reason = forbidden_reason(kind)
            if reason:
                raise ValueError(f"{kind!r} may not be deployed by an application: {reason}")
        return kinds

    @model_validator(mode="after")
    def _consistent(self) -> "ArgoApplication":
        if self.pod_security != "restricted" and not self.pod_security_reason:
            raise ValueError(
                f"podSecurity: {self.pod_security} needs podSecurityReason (why the application cannot meet "
                "restricted; `make app-check` says what to change to meet it)"
            )
        if self.secret is not None:
            for key, value in self.secret.keys.items():
                store = value.partition(".")[0]
                if store in ("postgres", "valkey") and store not in self.shared_data:
                    raise ValueError(
                        f"secret.keys.{key}: {value} needs the shared {store}; add {store} to sharedData or drop the key"
                    )
        return self

    def namespaced_kinds(self) -> list[str]:
        """Every namespaced kind its AppProject allows (`group/Kind`; core kinds without a group)."""
        return [*APPLICATION_KINDS, *(k for k in self.namespaced_resources if k not in APPLICATION_KINDS)]

    def setting_keys(self) -> list[str]:
        """The keys of its Secret that come from `kiban:applicationSecrets.<name>`."""
        return [key for key, value in (self.secret.keys.items() if self.secret else ()) if value == "setting"]

    def hosts(self) -> list[str]:
        """The Ingress hosts it owns."""
        return list(self.ingress.hosts) if self.ingress else []


class ImageUpdaterConfig(ConfigModel):
    """Argo CD Image Updater: deploys the digest a followed tag points to."""

    write_back: Literal["git", "argocd"] = "git"
    """`git` (default): commits the new digest to the application's repository, which kiban does not own, with Argo
    CD's credentials for it (`git:repocreds`: `argocd.repositoryUsername` and the secret setting
    `kiban:argocdRepositoryPassword`, a token that may push; without them the stack is refused, as every commit
    would fail). `argocd` writes it into the Application itself, which kiban owns, and needs no credentials: kiban
    then ignores exactly the fields Image Updater writes (`spec.source.kustomize.images`,
    `spec.source.helm.parameters`), so the next `up` keeps them."""

    git_branch: GitRevision = "main"
    """Branch git write-back commits to. Default: `main`."""

    registry_username: str | None = None
    """User Image Updater logs in to the followed images' registry as; its password is the secret setting
    `kiban:imageUpdaterRegistryPassword`. Default: unset: anonymous, except where every followed image lives in the
    build PC's registry (`kiban:registry`), whose generated credentials and CA it then uses."""

    registry_ca: PemCertificates | None = None
    """PEM certificate of the CA that signed the registry's certificate (the build PC's registry has its own CA):
    Image Updater trusts it beside the public roots. Default: unset, public roots only."""


class ArgoCdConfig(ConfigModel):
    """Argo CD, installed from its official chart."""

    host: Hostname | None = None
    """Host name of the Argo CD UI through the cluster's ingress (its own, not the face-recognition system's), served over HTTPS only: with a certificate
    kiban's CA signs (a stack with `registry.kind: build-pc`; give that CA, the `registryCaCertificate` output, to
    the browsers that open it) or the one in `tlsSecretName`. Default: unset, no Ingress (use port-forward)."""

    tls_secret_name: KubernetesName | None = None
    """A `kubernetes.io/tls` Secret in the `argocd` namespace that something else keeps (e.g. cert-manager), for
    `host`. Default: unset: kiban's CA signs one, where the stack has it."""

    high_availability: bool = False
    """Run the HA-relevant parts replicated (server, repo server, ApplicationSet controller, redis-ha). The
    application controller stays one replica: it shards by cluster, and this Argo CD manages one cluster, so a
    second replica would hold no shard. Default: `false`."""

    auto_sync: bool = False
    """Applications sync automatically, pruning and self-healing. Default: `false`: a person presses sync (prod)."""

    repository_username: str | None = None
    """User of the git host's credentials for the applications' repositories; its password is the secret setting
    `kiban:argocdRepositoryPassword`. Default: unset (public repositories)."""

    applications: list[ArgoApplication] = Field(default_factory=list)
    """The applications. Default: none."""

    image_updater: ImageUpdaterConfig | None = None
    """Install Image Updater (development stacks). Default: unset."""

    @model_validator(mode="after")
    def _consistent(self) -> "ArgoCdConfig":
        names = [a.name for a in self.applications]
        namespaces = [a.namespace for a in self.applications]
        for what, values in (("name", names), ("namespace", namespaces)):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"applications: two applications use the {what} {twice}; each needs its own")
        if self.image_updater is None and any(a.images for a in self.applications):
            raise ValueError("applications[].images needs imageUpdater: images are followed only where it runs")
        for index, app in enumerate(self.applications):
            if app.images and app.source_type == "directory":
                raise ValueError(
                    f"applications[{index}].images: Image Updater 1.x skips a plain-directory application (only "
                    "kustomize and Helm applications are updated), so these images would never be: add a "
                    f"kustomization.yaml listing the manifests to {app.path} in the application's repository "
                    f"(`kustomize create --autodetect` there) and set applications[{index}].sourceType: kustomize, "
                    "or remove images"
                )
        followed = any(a.images for a in self.applications)
        if self.image_updater is not None and followed and self.image_updater.write_back == "git" \
                and self.repository_username is None:
            raise ValueError(
                "imageUpdater.writeBack is git, which commits to the applications' repositories with Argo CD's "
                "credentials for them, but argocd.repositoryUsername is not set, so every commit would fail: set "
                "argocd.repositoryUsername and the secret kiban:argocdRepositoryPassword (a token that may push), or "
                "set imageUpdater.writeBack: argocd"
            )
        owners: dict[str, str] = {self.host: "Argo CD (argocd.host)"} if self.host else {}
        for index, app in enumerate(self.applications):
            for host in app.hosts():
                if host in owners:
                    raise ValueError(
                        f"applications[{index}].ingress.hosts: {host!r} belongs to {owners[host]}; each host has one "
                        "owner"
                    )
                owners[host] = f"application {app.name!r}"
        return self

    def host_owners(self) -> dict[str, str]:
        """Every host an application owns, with the application's name."""
        return {host: app.name for app in self.applications for host in app.hosts()}
