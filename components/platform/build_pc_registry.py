"""`BuildPcRegistry`: the private registry (distribution 3.x, `registry:3`) on the build PC (dev), declared through
the Docker engine there.

TLS comes from a certificate kiban signs with a CA of its own (`pulumi-tls`), so nothing anywhere needs an
insecure-registry setting; clients authenticate with htpasswd (the password and its bcrypt hash from
`pulumi_random`); the data lives on a named volume; the container restarts unless stopped. Its entry point is the
registry's supervisor (`registry_maintenance.py`), which serves and runs the daily clean-up with garbage
collection while the registry is stopped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import pulumi
import pulumi_docker as docker
import pulumi_docker_build as docker_build
import pulumi_random as random
import pulumi_tls as tls
import yaml

from components.contracts.certificates import CertificateAuthority
from components.contracts.registry import PullCredentials, RegistryFacts
from components.platform.image_builds import project_path, quiet_build
from components.platform.server_certificate import ServerCertificate, issue_server_certificate
from components.platform.registry_settings import BuildPcRegistry as BuildPcRegistryConfig

IMAGE_CONTEXT = Path(__file__).resolve().parents[2] / "images" / "registry"
"""The registry image's build context (`images/registry/`): its Dockerfile (the pinned registry image's binary
beside a Python) and the supervisor's two scripts."""

INTERNAL_PORT = 5000
DATA_PATH = "/var/lib/registry"
ETC = "/etc/kiban"
CONFIG_FILE = f"{ETC}/config.yml"
CA_FILE = f"{ETC}/ca.crt"
CERT_FILE = f"{ETC}/tls.crt"
KEY_FILE = f"{ETC}/tls.key"
HTPASSWD_FILE = f"{ETC}/htpasswd"
CREDENTIALS_FILE = f"{ETC}/credentials"
SCRIPTS = "/opt/kiban"
K3S_CA_FILE = "/etc/rancher/k3s/kiban-registry-ca.crt"
"""Where every K3s node keeps the registry's CA (named by `registries.yaml`)."""

CA_VALIDITY_HOURS = 10 * 365 * 24


def registry_configuration(
    port: int = INTERNAL_PORT,
    *,
    listen: str = "0.0.0.0",
    data: str = DATA_PATH,
    certificate: str = CERT_FILE,
    key: str = KEY_FILE,
    htpasswd: str = HTPASSWD_FILE,
) -> str:
    """The registry's own configuration (`config.yml`): filesystem storage with deletes enabled, TLS, htpasswd.

    Every key is one distribution 3.x reads (configuration/configuration.go of v3.1.1; its parser, parser.go, uses
    the non-strict yaml.Unmarshal, so a key it does not know would be ignored without a word: tests/images/registry/
    test_registry_configuration.py checks the keys against v3.1.1's). The places default to the container's; the
    tests serve the same configuration from a folder of their own."""
    return yaml.safe_dump(
        {
            "version": 0.1,
            "log": {"fields": {"service": "registry"}},
            "storage": {"filesystem": {"rootdirectory": data}, "delete": {"enabled": True}},
            "http": {
                "addr": f"{listen}:{port}",
                "tls": {"certificate": certificate, "key": key},
                "draintimeout": "60s",  # what SIGTERM waits for in-flight requests before the garbage collection
                "headers": {"X-Content-Type-Options": ["nosniff"]},
            },
            "auth": {"htpasswd": {"realm": "kiban-registry", "path": htpasswd}},
        },
        sort_keys=False,
    )


def k3s_registries_yaml(endpoint: str, username: str, password: str) -> str:
    """`/etc/rancher/k3s/registries.yaml` for every K3s node: the registry as its own mirror over HTTPS, its
    credentials, and the CA kept at `K3S_CA_FILE`."""
    return yaml.safe_dump(
        {
            "mirrors": {endpoint: {"endpoint": [f"https://{endpoint}"]}},
            "configs": {
                endpoint: {
                    "auth": {"username": username, "password": password},
                    "tls": {"ca_file": K3S_CA_FILE},
                }
            },
        },
        sort_keys=False,
    )


BUILDKIT_CA_FILE = "kiban-registry-ca.crt"
"""The CA file `buildkitd_config` names, beside it where `docker buildx create` runs (buildx reads the path as
given and copies the file into the builder's container, under /etc/buildkit/certs: docker/buildx #787)."""


def buildkitd_config(endpoint: str) -> str:
    """`buildkitd.toml` for the builder (`kiban:registry.builder`): its BuildKit trusts kiban's CA for the
    registry. A `docker-container` builder reads no `/etc/docker/certs.d`, so without this its pushes fail with
    x509 (docker/buildx docs/guides/custom-registry-config.md)."""
    return (
        f"# buildkitd.toml of the buildx builder that pushes to {endpoint}: trust kiban's registry CA.\n"
        f"# Save the registryCaCertificate output as {BUILDKIT_CA_FILE} beside this file and run\n"
        "# `docker buildx create --buildkitd-config buildkitd.toml ...` in that directory.\n"
        f'[registry."{endpoint}"]\n'
        f'  ca = ["{BUILDKIT_CA_FILE}"]\n'
    )


def registry_image_tag(build_args: Mapping[str, str]) -> str:
    """`kiban/registry:<hash>`: a tag per Dockerfile and pins, so a change to either is a new image to run."""
    recipe = (IMAGE_CONTEXT / "Dockerfile").read_text() + json.dumps(dict(build_args), sort_keys=True)
    return f"kiban/registry:{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class BuildPcRegistryArgs:
    """Arguments of `BuildPcRegistry`."""

    config: BuildPcRegistryConfig
    """`kiban:registry` with `kind: build-pc` (required)."""

    build_args: Mapping[str, str]
    """The build arguments of `images/registry/Dockerfile` (required): the pinned registry image (distribution 3.x)
    whose binary runs and the Python its supervisor runs on (versions.json `imageBuilds.registry`)."""

    protect: bool = False
    """Pulumi `protect` on the data volume. Default: false."""


class BuildPcRegistry(pulumi.ComponentResource):
    """The registry container, its volume, its CA and certificate, its credentials, and the Docker provider of the
    build PC (`docker_provider`) that builds use too. `opts` must carry the `random` and `tls` providers."""

    docker_provider: docker.Provider
    """The build PC's Docker engine (`kiban:registry.dockerHost`): containers and volumes."""

    build_provider: docker_build.Provider
    """BuildKit on the same engine: the registry's own image and kiban's image builds."""

    facts: RegistryFacts
    """Endpoints, CA and pull credentials, for the builds and the namespaces that pull."""

    certificate_authority: CertificateAuthority
    """kiban's CA, which signed the registry's certificate: for other LAN services' certificates (Argo CD's UI)."""

    password: pulumi.Output[str]
    """The generated password of `config.username` (secret)."""

    push_credentials: dict[str, pulumi.Output[str]]
    """The generated password of each of `config.pushers`, by user (secret)."""
    buildkitd_config: str
    """`buildkitd.toml` for the builder that pushes to this registry (see `buildkitd_config`)."""

    k3s_registries: pulumi.Output[str]
    """The content of `/etc/rancher/k3s/registries.yaml` for every K3s node (secret: it holds the password)."""

    container: docker.Container

    reader_provider: docker.Provider | None
    """Without builds: a Docker provider holding the registry's credentials, through which `up` reads the digest
    `latest` points to (`docker.get_registry_image`); `None` when the builds report their own digests."""

    def __init__(self, resource_name: str, args: BuildPcRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:platform:BuildPcRegistry", resource_name, None, opts)
        config = args.config
        endpoint = config.endpoint()
        self._engine_providers(resource_name, config)
        ca, served = self._certificates(resource_name, config)
        password, htpasswd = self._passwords(resource_name, config)
        credentials = pulumi.Output.secret(password.result.apply(lambda p: f"{config.username}:{p}"))
        volume = docker.Volume(
            f"{resource_name}-data",
            name="kiban-registry-data",
            opts=pulumi.ResourceOptions.merge(self._on_build_pc(), pulumi.ResourceOptions(protect=args.protect)),
        )
        image_tag, image = self._image(resource_name, args)
        runs_image = pulumi.ResourceOptions.merge(self._on_build_pc(), pulumi.ResourceOptions(depends_on=[image]))
        self.container = self._registry_container(
            resource_name, config, image_tag, volume, self._uploads(ca, served, htpasswd, credentials), runs_image
        )
        self._engine_trust(resource_name, endpoint, image_tag, ca, runs_image)
        self.reader_provider = self._reader_provider(resource_name, config, endpoint) if config.builds is None else None
        self.buildkitd_config = buildkitd_config(endpoint)
        self.k3s_registries = pulumi.Output.secret(
            password.result.apply(lambda p: k3s_registries_yaml(endpoint, config.username, p))
        )
        self.facts = RegistryFacts(
            kind=config.kind,
            pull_endpoint=endpoint,
            push_endpoint=endpoint,
            ca_certificate=ca.cert_pem,
            pull_credentials=PullCredentials(username=config.username, password=self.password),
        )
        self.register_outputs(
            {"endpoint": endpoint, "caCertificate": ca.cert_pem, "k3sRegistries": self.k3s_registries}
        )

    def _engine_providers(self, resource_name: str, config: BuildPcRegistryConfig) -> None:
        """The build PC's Docker engine (`docker_provider`: containers, volumes) and BuildKit through the same
        engine (`build_provider`: the registry's image and kiban's builds)."""
        child = pulumi.ResourceOptions(parent=self)
        self.docker_provider = docker.Provider(
            f"{resource_name}-build-pc",
            host=config.docker_host,
            ssh_opts=list(config.ssh_options) or None,
            opts=child,
        )
        # BuildKit through the same engine; the `ssh` client's own configuration (~/.ssh/config) applies to it.
        self.build_provider = docker_build.Provider(f"{resource_name}-buildkit", host=config.docker_host, opts=child)

    def _on_build_pc(self) -> pulumi.ResourceOptions:
        """Options of what the build PC's Docker engine holds (containers, volumes)."""
        return pulumi.ResourceOptions(parent=self, provider=self.docker_provider)

    def _certificates(
        self, resource_name: str, config: BuildPcRegistryConfig
    ) -> tuple[tls.SelfSignedCert, ServerCertificate]:
        """kiban's own CA (`certificate_authority`), and the registry's certificate for every name it is reached by
        (the supervisor and the build PC's own engine use localhost)."""
        child = pulumi.ResourceOptions(parent=self)
        ca_key = tls.PrivateKey(f"{resource_name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        ca = tls.SelfSignedCert(
            f"{resource_name}-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name="kiban registry CA", organization="kiban"),
            validity_period_hours=CA_VALIDITY_HOURS,
            allowed_uses=["cert_signing", "crl_signing"],
            opts=child,
        )
        self.certificate_authority = CertificateAuthority(
            certificate=ca.cert_pem, private_key=pulumi.Output.secret(ca_key.private_key_pem)
        )
        served = issue_server_certificate(
            resource_name,
            self.certificate_authority,
            common_name=config.host,
            dns_names=[config.host, "localhost"],
            ip_addresses=[*config.ip_addresses, "127.0.0.1"],
            opts=child,
        )
        return ca, served

    def _passwords(
        self, resource_name: str, config: BuildPcRegistryConfig
    ) -> tuple[random.RandomPassword, pulumi.Output[str]]:
        """A generated password for `config.username` (`password`: the nodes pull with it) and one per pusher (an
        application's CI, `push_credentials`); returns the first and the htpasswd file of them all (secret)."""
        child = pulumi.ResourceOptions(parent=self)
        password = random.RandomPassword(f"{resource_name}-password", length=40, special=False, opts=child)
        self.password = pulumi.Output.secret(password.result)
        pushers = {
            user: random.RandomPassword(f"{resource_name}-pusher-{user}", length=40, special=False, opts=child)
            for user in config.pushers
        }
        self.push_credentials = {user: pulumi.Output.secret(p.result) for user, p in pushers.items()}
        users = [config.username, *pushers]
        htpasswd = pulumi.Output.secret(
            pulumi.Output.all(password.bcrypt_hash, *(p.bcrypt_hash for p in pushers.values())).apply(
                lambda hashes: "".join(f"{user}:{h}\n" for user, h in zip(users, hashes, strict=True))
            )
        )
        return password, htpasswd

    def _image(self, resource_name: str, args: BuildPcRegistryArgs) -> tuple[str, docker_build.Image]:
        """kiban's registry image, built into the build PC's engine (not pushed: the registry it would go to is this
        one); its tag changes with the Dockerfile and its pins, which replaces the containers that run it."""
        image_tag = registry_image_tag(args.build_args)
        image = docker_build.Image(
            f"{resource_name}-image",
            context=docker_build.BuildContextArgs(location=project_path(IMAGE_CONTEXT)),
            tags=[image_tag],
            load=True,
            push=False,
            build_on_preview=False,  # a preview builds nothing (docs/ci-and-delivery.md)
            # The named builder loads the image into the build PC's engine (its node's endpoint), which runs it.
            **quiet_build(args.config.builder, args.build_args, source_date_epoch=0),
            opts=pulumi.ResourceOptions(parent=self, provider=self.build_provider),
        )
        return image_tag, image

    @staticmethod
    def _uploads(
        ca: tls.SelfSignedCert,
        served: ServerCertificate,
        htpasswd: pulumi.Output[str],
        credentials: pulumi.Output[str],
    ) -> list[docker.ContainerUploadArgs]:
        """The files the registry and its supervisor read, written into the container: the configuration, the CA,
        the served certificate and key, htpasswd, the supervisor's own credentials (the secret ones 0400) and the
        supervisor's scripts."""
        return [
            docker.ContainerUploadArgs(file=CONFIG_FILE, content=registry_configuration()),
            docker.ContainerUploadArgs(file=CA_FILE, content=ca.cert_pem),
            docker.ContainerUploadArgs(file=CERT_FILE, content=served.certificate),
            docker.ContainerUploadArgs(file=KEY_FILE, content=served.private_key, permissions="0400"),
            docker.ContainerUploadArgs(file=HTPASSWD_FILE, content=htpasswd, permissions="0400"),
            docker.ContainerUploadArgs(file=CREDENTIALS_FILE, content=credentials, permissions="0400"),
            *(
                docker.ContainerUploadArgs(file=f"{SCRIPTS}/{script}", content=(IMAGE_CONTEXT / script).read_text())
                for script in ("registry_cleanup.py", "registry_maintenance.py")
            ),
        ]

    @staticmethod
    def _registry_container(
        resource_name: str,
        config: BuildPcRegistryConfig,
        image_tag: str,
        volume: docker.Volume,
        uploads: list[docker.ContainerUploadArgs],
        runs_image: pulumi.ResourceOptions,
    ) -> docker.Container:
        """The registry's container: its supervisor serves and runs the daily clean-up; the data on `volume`; every
        capability dropped, no new privileges, logs rotated, restarted unless stopped."""
        return docker.Container(
            resource_name,
            name="kiban-registry",
            image=image_tag,
            command=[
                "--config", CONFIG_FILE,
                "--registry-binary", "/bin/registry",
                "--url", f"https://localhost:{INTERNAL_PORT}",
                "--ca-file", CA_FILE,
                "--credentials-file", CREDENTIALS_FILE,
                "--keep", str(config.cleanup.keep_versions),
                "--daily-at", config.cleanup.daily_at,
            ],
            restart="unless-stopped",
            ports=[docker.ContainerPortArgs(internal=INTERNAL_PORT, external=config.port)],
            volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path=DATA_PATH)],
            uploads=uploads,
            capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"]),
            security_opts=["no-new-privileges:true"],
            log_driver="json-file",
            log_opts={"max-size": "10m", "max-file": "3"},
            opts=runs_image,
        )

    @staticmethod
    def _engine_trust(
        resource_name: str,
        endpoint: str,
        image_tag: str,
        ca: tls.SelfSignedCert,
        runs_image: pulumi.ResourceOptions,
    ) -> None:
        """The build PC's own engine pushes the builds: it trusts the CA the way Docker reads registry CAs, from
        /etc/docker/certs.d/<host:port>/ca.crt, written there by a one-shot container."""
        docker.Container(
            f"{resource_name}-engine-trust",
            name="kiban-registry-engine-trust",
            image=image_tag,
            entrypoints=["/bin/sh", "-c"],
            command=[f"mkdir -p '/certs.d/{endpoint}' && cp /kiban/ca.crt '/certs.d/{endpoint}/ca.crt'"],
            volumes=[docker.ContainerVolumeArgs(host_path="/etc/docker/certs.d", container_path="/certs.d")],
            uploads=[docker.ContainerUploadArgs(file="/kiban/ca.crt", content=ca.cert_pem)],
            attach=True,
            must_run=False,
            opts=runs_image,
        )

    def _reader_provider(self, resource_name: str, config: BuildPcRegistryConfig, endpoint: str) -> docker.Provider:
        """Without builds: a Docker provider holding the registry's credentials, through which `up` reads the digest
        `latest` points to, once the registry runs."""
        return docker.Provider(
            f"{resource_name}-reader",
            host=config.docker_host,
            ssh_opts=list(config.ssh_options) or None,
            disable_docker_daemon_check=True,
            registry_auth=[
                docker.ProviderRegistryAuthArgs(address=endpoint, username=config.username, password=self.password)
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.container]),
        )
