"""`kiban:registry`: where kiban's own images (the backend and the frontend) are pushed and pulled from.

One of the kinds below, chosen by its `kind` key: the build PC's private `registry:3` (dev), an Artifact Registry
repository (prod), or a registry kiban does not run (`external`, e.g. GitHub's).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import ipaddress
import re

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from components.contracts.settings import ConfigModel, ProjectPath, worded

RegistryHost = Annotated[
    str,
    worded(
        r"([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?",
        "a DNS host name such as registry.homelab.internal",
        max_length=253,
    ),
]
IamMember = Annotated[
    str,
    worded(
        r"(serviceAccount|user|group|principal|principalSet):[^\s]+",
        "an IAM member such as serviceAccount:ci@project.iam.gserviceaccount.com",
    ),
]
Username = Annotated[str, worded(r"[a-z_][a-z0-9_-]{0,31}", "a user name (lower-case letters, digits, '_' and '-')")]
VersionLabel = Annotated[str, worded(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", "an image tag (letters, digits, '_', '.', '-')")]


def _check_ipv4(value: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address such as 192.168.0.40") from None
    return value


_FILE = r"[A-Za-z0-9_~./-]+"
_SSH_OPTION_VALUES: dict[str, str] = {
    "stricthostkeychecking": r"yes|no|accept-new|ask|off",
    "userknownhostsfile": _FILE,
    "globalknownhostsfile": _FILE,
    "identityfile": _FILE,
    "certificatefile": _FILE,
    "identitiesonly": r"yes|no",
    "batchmode": r"yes|no",
    "compression": r"yes|no",
    "port": r"\d{1,5}",
    "user": r"[a-z_][a-z0-9_-]{0,31}",
    "connecttimeout": r"\d{1,4}",
    "connectionattempts": r"\d{1,2}",
    "serveraliveinterval": r"\d{1,4}",
    "serveralivecountmax": r"\d{1,3}",
    "hostkeyalgorithms": r"[+^-]?[A-Za-z0-9@.,-]+",
    "loglevel": r"QUIET|FATAL|ERROR|INFO|VERBOSE|DEBUG[123]?",
    "proxyjump": r"none|([a-z_][a-z0-9_-]*@)?[A-Za-z0-9.-]+(:\d{1,5})?(,([a-z_][a-z0-9_-]*@)?[A-Za-z0-9.-]+(:\d{1,5})?)*",
}
"""The ssh options `registry.sshOptions` may set, each with the values it takes. None of them runs a command."""


def _check_ssh_options(options: list[str]) -> list[str]:
    pairs: list[str] = []
    tokens = iter(options)
    for token in tokens:
        if token == "-o":
            pair = next(tokens, None)
            if pair is None:
                raise ValueError("ends with '-o' and no Option=value after it")
            pairs.append(pair)
        elif token.startswith("-o") and len(token) > 2:
            pairs.append(token[2:])
        else:
            raise ValueError(f"{token!r} is not '-o' or '-oOption=value'; write each option as '-o', 'Option=value'")
    for pair in pairs:
        name, equals, value = pair.partition("=")
        allowed = _SSH_OPTION_VALUES.get(name.lower())
        if not equals or allowed is None:
            raise ValueError(
                f"{pair!r}: ssh option {name!r} is not accepted here "
                f"(options that run commands never are); accepted: {', '.join(sorted(_SSH_OPTION_VALUES))}"
            )
        if not re.fullmatch(allowed, value):
            raise ValueError(f"{pair!r}: {value!r} is not a value {name} takes here ({allowed})")
    return options


def _named_builder(value: str) -> str:
    if value == "default":
        raise ValueError(
            "'default' is the engine's own builder (buildx's docker driver), which pulumi-docker-build does not "
            "support; name a docker-container builder created for the build PC, e.g. kiban"
        )
    return value


BuilderName = Annotated[
    str,
    worded(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", "a buildx builder name (letters, digits, '_', '.', '-')"),
    AfterValidator(_named_builder),
]


class RegistryCleanup(ConfigModel):
    """The build PC registry's scheduled clean-up: old version tags deleted, then their blobs reclaimed by the
    registry's garbage collection while it is stopped (no push can be in flight)."""

    keep_versions: int = Field(default=5, ge=1, le=1000)
    """Version tags kept per repository besides `latest`, the newest by build time. Default: `5`."""

    daily_at: Annotated[str, worded(r"([01]\d|2[0-3]):[0-5]\d", "a time of day, HH:MM in UTC")] = "04:00"
    """When the clean-up runs each day, UTC. The registry is unavailable for the garbage collection (seconds to
    minutes). Default: `04:00`."""


class ImageBuilds(ConfigModel):
    """Builds of the backend and the frontend on the build PC's Docker engine, pushed to its registry: kiban's
    Dockerfiles (`images/face-api`, `images/face-frontend`, as named build contexts) with the application's
    repository as the build context."""

    context: ProjectPath
    """The application's repository checkout, a directory inside this project (relative to it, e.g. `app`, where
    the deploy-dev workflow checks it out): its files are sent to the build PC's engine, so it is never the project
    itself, a parent, or an absolute path (which would also differ from machine to machine). Required."""

    version: VersionLabel
    """The version tag the builds are pushed with (beside `latest`), e.g. `sha-<commit>`: the deploy-dev workflow
    sets it per run with `pulumi config set --path kiban:registry.builds.version sha-...`. Required."""

    source_date_epoch: int = Field(default=0, ge=0)
    """`SOURCE_DATE_EPOCH` of the builds (seconds since 1970): the time BuildKit writes into the images instead of
    the build's, so a rebuild of the same sources is the same image config. The deploy-dev workflow sets the
    application commit's time. Default: `0`."""


class BuildPcRegistry(ConfigModel):
    """`registry:3` on the build PC, declared through the Docker engine there (never the deploying machine's):
    TLS from kiban's own CA, htpasswd authentication with a generated password, its data on a named volume, and a
    daily clean-up."""

    kind: Literal["build-pc"]

    docker_host: Annotated[
        str, worded(r"ssh://([a-z_][a-z0-9_-]*@)?[A-Za-z0-9.-]+(:\d{1,5})?", "an ssh:// address such as ssh://builder@build-pc")
    ]
    """The build PC's Docker engine, reached over SSH (`ssh://user@build-pc`; the user must be allowed to use
    Docker there). Required."""

    ssh_options: Annotated[list[str], AfterValidator(_check_ssh_options)] = Field(default_factory=list)
    """Extra `ssh` options for that connection, as `-o Option=value` pairs, e.g. `["-o", "StrictHostKeyChecking=yes"]`.
    Only options that shape the connection are accepted (host-key checking, known-hosts and identity files, ports,
    users, timeouts, keep-alives, jump hosts); options that run a local command (`ProxyCommand`, `LocalCommand`,
    `KnownHostsCommand`...) are refused, since they would run at every connection. Default: none."""

    host: RegistryHost
    """The name nodes and builds reach the registry by; it is on the registry's certificate. Required."""

    ip_addresses: list[Annotated[str, AfterValidator(_check_ipv4)]] = Field(default_factory=list)
    """The build PC's addresses, also put on the certificate. Default: none."""

    port: int = Field(default=5000, ge=1, le=65535)
    """Port the registry listens on (on every address of the build PC). Default: `5000`."""

    username: Username = "kiban"
    """The user that pushes and pulls; its password and bcrypt hash are generated. Default: `kiban`."""

    pushers: list[Username] = Field(default_factory=list)
    """More users, one for each application's CI (or person) that pushes its own image here, e.g. `yomu-ci`: each
    gets its own generated password and bcrypt hash in the registry's htpasswd, beside `username`'s, so the nodes'
    pull credential never leaves the cluster and one pusher can be revoked (removed) or rotated (its password
    replaced) alone. The registry's htpasswd grants every user push and pull alike. Their passwords are the secret
    stack output `registryPushCredentials`. Default: none."""

    @field_validator("pushers")
    @classmethod
    def _pushers_of_their_own(cls, pushers: list[str], info: ValidationInfo) -> list[str]:
        twice = sorted({p for p in pushers if pushers.count(p) > 1})
        if twice:
            raise ValueError(f"{twice}: name each pusher once")
        if info.data.get("username") in pushers:
            raise ValueError(f"{info.data['username']!r} is registry.username, the nodes' user; give the pusher its own")
        return pushers

    cleanup: RegistryCleanup = Field(default_factory=RegistryCleanup)
    """Default: keep `latest` and the 5 newest version tags of each repository, daily at 04:00 UTC."""

    builder: BuilderName = "kiban"
    """The buildx builder that builds kiban's images (the registry's own, and `builds`) on the build PC: a builder
    of the `docker-container` driver in the buildx store of the machine that runs `pulumi up`, created there with
    the build PC's engine as its endpoint and, once the registry exists, the `buildkitdConfig` output, which makes
    its BuildKit trust the registry's CA (docs/operations.md says how). Never the engine's own `default` builder:
    pulumi-docker-build does not support buildx's `docker` driver, and without a name it picks or creates another
    builder whose BuildKit does not read `/etc/docker/certs.d`. Default: `kiban`."""

    builds: ImageBuilds | None = None
    """Build and push kiban's images on the build PC. Default: unset, the images are pushed by other means."""

    def endpoint(self) -> str:
        """`host:port`, the prefix of every image in this registry."""
        return f"{self.host}:{self.port}"


class ArtifactRegistry(ConfigModel):
    """An Artifact Registry DOCKER repository with clean-up policies, readable by the GKE nodes and writable by CI."""

    kind: Literal["artifact-registry"]

    project: Annotated[str, worded(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", "a GCP project id")] | None = None
    """The GCP project. Default: the cluster's (`kind: gke`); required with any other cluster."""

    location: Annotated[str, worded(r"[a-z]+-[a-z]+[0-9]", "a GCP region such as asia-northeast1")] | None = None
    """The repository's region. Default: the cluster's region (`kind: gke`); required with any other cluster."""

    repository_id: Annotated[str, worded(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?", "a repository id (lower-case, digits, '-')")] = "kiban"
    """Repository id. Default: `kiban`."""

    keep_versions: int = Field(default=10, ge=1, le=1000)
    """The newest versions of each image that no clean-up deletes. Default: `10`."""

    delete_untagged_after_days: int = Field(default=7, ge=1, le=3650)
    """Untagged versions older than this are deleted (written to the API in seconds). Default: `7`."""

    readers: list[IamMember] = Field(default_factory=list)
    """Members that may pull, besides the node service accounts of a cluster kiban creates. Default: none."""

    writers: list[IamMember] = Field(default_factory=list)
    """Members that may push, besides CI's `images` identity of a cluster kiban creates. Default: none."""

    pin_digests: bool = True
    """Deploy each release tag pinned to the digest Artifact Registry holds for it when `up` runs (the tag must have
    been pushed). Default: `true`. A new repository needs no change here: its first `up` is the foundation phase
    (`kiban:phase: foundation`), which reads no digest; turned off, pods would pull the tag as written, which
    fails just the same while nothing has been pushed."""

    def endpoint(self, project: str, location: str) -> str:
        """`<location>-docker.pkg.dev/<project>/<repository>`, the prefix of every image in the repository."""
        return f"{location}-docker.pkg.dev/{project}/{self.repository_id}"


class ExternalRegistry(ConfigModel):
    """A registry kiban does not run (e.g. GitHub's `ghcr.io`): no registry resource; a pull Secret only when
    `username` is set."""

    kind: Literal["external"]

    username: Annotated[
        str, worded(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,127}", "a registry user name (letters, digits, _ . @ + -)")
    ] | None = None
    """User pods pull as; its password (or token) is the secret setting `kiban:registryPassword`. Default: unset,
    anonymous pulls."""


RegistryConfig = Annotated[Union[BuildPcRegistry, ArtifactRegistry, ExternalRegistry], Field(discriminator="kind")]
"""`kiban:registry`: `kind: build-pc`, `kind: artifact-registry` or `kind: external`."""
