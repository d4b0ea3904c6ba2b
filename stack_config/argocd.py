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
    """Namespace it deploys into; kiban creates it (Pod Security `restricted`, default-deny). Required."""

    cluster_resources: list[GroupKind] = Field(default_factory=list)
    """Cluster-scoped kinds the application may create. Default: none."""

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


class ImageUpdaterConfig(ConfigModel):
    """Argo CD Image Updater: deploys the digest a followed tag points to."""

    write_back: Literal["git", "argocd"] = "git"
    """`git` (default): commits the new digest to the application's repository, which kiban does not own.
    `argocd` writes it into the Application itself, which kiban owns: kiban then ignores exactly the fields Image
    Updater writes (`spec.source.kustomize.images`, `spec.source.helm.parameters`), so the next `up` keeps them."""

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
    """Host name of the Argo CD UI through the cluster's ingress (its own, not the face-recognition system's).
    Default: unset, no Ingress (use port-forward)."""

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
        return self
