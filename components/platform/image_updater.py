"""`ImageUpdater`: Argo CD Image Updater (official argo-helm chart) and its `ImageUpdater` custom resource, so the
applications of a development stack deploy the digest their followed tag (`latest`) points to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import ClusterFacts
from components.contracts.images import ImageReference
from components.contracts.registry import RegistryFacts
from components.kube.chart_operator import ApiServerAccess, ChartOperator, ChartOperatorArgs
from components.contracts import namespaces
from components.platform.argocd_settings import ArgoApplication, ImageUpdaterConfig
from versions import PinnedChart

NAMESPACE = namespaces.ARGOCD
"""The `ImageUpdater` resource lives in the Applications' namespace (it has no `spec.namespace`)."""
API = "argocd-image-updater.argoproj.io/v1alpha1"
UPDATER_LABELS = {"app.kubernetes.io/name": "argocd-image-updater"}


CREDENTIALS_SECRET = "image-updater-registry"
CA_MOUNT = "/etc/ssl/registry-ca"


def followed_hosts(applications: Sequence[ArgoApplication]) -> list[str]:
    """The registries (`host[:port]`) the followed images live in."""
    return sorted({ImageReference.parse(i.image).repository.split("/")[0] for a in applications for i in a.images})


def chart_values(
    applications: Sequence[ArgoApplication],
    config: ImageUpdaterConfig | None = None,
    *,
    with_credentials: bool | None = None,
    with_ca: bool | None = None,
) -> dict:
    """The values kiban passes to the `argocd-image-updater` chart: the registries the followed images live in,
    their credentials (a Secret reference) and the CA that signed them (trusted beside the public roots).
    `with_credentials` and `with_ca` default to what `config` sets."""
    config = config or ImageUpdaterConfig()
    with_credentials = bool(config.registry_username) if with_credentials is None else with_credentials
    with_ca = bool(config.registry_ca) if with_ca is None else with_ca
    hosts = followed_hosts(applications)
    registry: dict = {}
    if with_credentials:
        registry["credentials"] = f"secret:{NAMESPACE}/{CREDENTIALS_SECRET}#creds"
    values: dict = {
        "crds": {"install": True, "keep": True},
        "config": {
            "registries": [
                {"name": host, "prefix": host, "api_url": f"https://{host}", "default": index == 0, **registry}
                for index, host in enumerate(hosts)
            ],
        },
    }
    if with_ca:
        values["volumes"] = [{"name": "registry-ca", "configMap": {"name": CREDENTIALS_SECRET + "-ca"}}]
        values["volumeMounts"] = [{"name": "registry-ca", "mountPath": CA_MOUNT, "readOnly": True}]
        # Go reads every directory listed: the image's public roots and the registry's own CA.
        values["extraEnv"] = [{"name": "SSL_CERT_DIR", "value": f"/etc/ssl/certs:{CA_MOUNT}"}]
    return values


def registry_ports(applications: Sequence[ArgoApplication]) -> set[int]:
    """The ports of the followed images' registries (`host:5000`), beside HTTPS."""
    ports = set()
    for app in applications:
        for image in app.images:
            host = ImageReference.parse(image.image).repository.split("/")[0]
            if ":" in host:
                ports.add(int(host.rsplit(":", 1)[1]))
    return ports


def image_updater_spec(config: ImageUpdaterConfig, applications: Sequence[ArgoApplication]) -> dict:
    """`spec` of the one `ImageUpdater`: every followed image by digest, written back as the config says."""
    write_back: dict = {"method": config.write_back}
    if config.write_back == "git":
        # Argo CD's own credentials for the repository (the config requires them): said, not left to the default.
        write_back = {"method": "git:repocreds", "gitConfig": {"branch": config.git_branch}}
    return {
        "writeBackConfig": write_back,
        "applicationRefs": [
            {
                "namePattern": app.name,
                "images": [
                    {"alias": i.alias, "imageName": i.image, "commonUpdateSettings": {"updateStrategy": "digest"}}
                    for i in app.images
                ],
            }
            for app in applications
            if app.images
        ],
    }


@dataclass(frozen=True)
class ImageUpdaterArgs:
    """Arguments of `ImageUpdater`."""

    config: ImageUpdaterConfig
    """`kiban:argocd.imageUpdater` (required)."""

    applications: Sequence[ArgoApplication]
    """The applications whose images it follows (required)."""

    cluster: ClusterFacts
    """The cluster (required): where the API server is."""

    chart: PinnedChart
    """The pinned `argocd-image-updater` chart (required)."""

    argocd: pulumi.Resource
    """The Argo CD release (required): Image Updater runs in its namespace and talks to it."""

    timeout_seconds: int = 900
    """How long the Helm release may take. Default: 900."""

    registry_password: pulumi.Output[str] | None = None
    """Password of `config.registry_username` (secret). Default: none."""

    registry: RegistryFacts | None = None
    """The stack's own registry: when every followed image lives in it and `config` names no user, Image Updater
    logs in with the registry's pull credentials and trusts its CA (the build PC's). Default: none."""


@dataclass(frozen=True)
class RegistryLogin:
    """How Image Updater logs in to the followed images' registry: a user and its password, and the CA it trusts."""

    username: str | None = None
    password: pulumi.Output[str] | None = None
    ca: pulumi.Input[str] | None = None

    @property
    def has_credentials(self) -> bool:
        """A user with a password: the release then reads them from a Secret."""
        return bool(self.username and self.password is not None)


class ImageUpdater(pulumi.ComponentResource):
    """Image Updater in Argo CD's namespace, configured through its `ImageUpdater` resource (v1 API), not through
    Application annotations."""

    def __init__(self, resource_name: str, args: ImageUpdaterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:platform:ImageUpdater", resource_name, None, opts)
        login = self._registry_login(args)
        operator = self._operator(resource_name, args)
        access = self._registry_access(resource_name, login, operator.inside)
        release = operator.install(
            chart_values(
                args.applications, args.config, with_credentials=login.has_credentials, with_ca=login.ca is not None
            ),
            after=access,
        )
        self._configuration(resource_name, args, release)
        self._egress(resource_name, args, operator.inside)
        self.register_outputs({})

    @staticmethod
    def _registry_login(args: ImageUpdaterArgs) -> RegistryLogin:
        """The configured user and CA; but where every followed image lives in the stack's own registry and the
        config names no user, that registry's pull credentials (if it has any) and its CA."""
        own = args.registry
        hosts = followed_hosts(args.applications)
        if (
            own is not None
            and args.config.registry_username is None
            and hosts
            and all(h == own.registry_host() for h in hosts)
        ):
            if own.pull_credentials is not None:
                return RegistryLogin(own.pull_credentials.username, own.pull_credentials.password, own.ca_certificate)
            return RegistryLogin(args.config.registry_username, args.registry_password, own.ca_certificate)
        return RegistryLogin(args.config.registry_username, args.registry_password, args.config.registry_ca)

    def _operator(self, resource_name: str, args: ImageUpdaterArgs) -> ChartOperator:
        """The chart's operator in Argo CD's namespace (not one of its own: the ImageUpdater resource lives beside the
        Applications), after Argo CD's release, with its way to the API server."""
        return ChartOperator(
            resource_name,
            ChartOperatorArgs(
                chart=args.chart,
                release_name="argocd-image-updater",
                namespace=NAMESPACE,
                cluster=args.cluster,
                pod_labels=UPDATER_LABELS,
                own_namespace=None,  # Argo CD's: the ImageUpdater resource lives beside the Applications
                api_server=ApiServerAccess(
                    "to-api-server", "Image Updater reads Applications and its ImageUpdater resources"
                ),
                timeout_seconds=args.timeout_seconds,
                after=[args.argocd],
            ),
            parent=self,
        )

    def _registry_access(
        self, resource_name: str, login: RegistryLogin, inside: pulumi.ResourceOptions
    ) -> list[pulumi.Resource]:
        """What the release mounts to reach the registry (so it comes first): the credentials Secret (`user:password`,
        secret) when there is a user with a password, and the CA's ConfigMap when there is a CA."""
        access: list[pulumi.Resource] = []
        if login.has_credentials:
            username, password = login.username, login.password
            access.append(
                k8s.core.v1.Secret(
                    f"{resource_name}-registry-credentials",
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=CREDENTIALS_SECRET, namespace=NAMESPACE),
                    string_data=pulumi.Output.secret(password.apply(lambda p: {"creds": f"{username}:{p}"})),
                    opts=inside,
                )
            )
        if login.ca is not None:
            access.append(
                k8s.core.v1.ConfigMap(
                    f"{resource_name}-registry-ca",
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=CREDENTIALS_SECRET + "-ca", namespace=NAMESPACE),
                    data={"ca.crt": login.ca},
                    opts=inside,
                )
            )
        return access

    def _configuration(self, resource_name: str, args: ImageUpdaterArgs, release: pulumi.Resource) -> None:
        """The one `ImageUpdater` resource that says what to follow and how to write back, after the release that
        installs its CRD."""
        k8s.apiextensions.CustomResource(
            f"{resource_name}-config",
            api_version=API,
            kind="ImageUpdater",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="kiban", namespace=NAMESPACE),
            spec=image_updater_spec(args.config, args.applications),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[release]),
        )

    def _egress(self, resource_name: str, args: ImageUpdaterArgs, inside: pulumi.ResourceOptions) -> None:
        """Beyond the API server: out to the registries (HTTPS and their own ports) to read tags, and to git (SSH,
        HTTPS) to write back."""
        k8s.networking.v1.NetworkPolicy(
            f"{resource_name}-to-registries-and-git",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="allow-image-updater-out",
                namespace=NAMESPACE,
                annotations={"kiban.dev/allows": "Image Updater reads the registries' tags and pushes to git"},
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=UPDATER_LABELS),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0"))],
                        ports=[
                            k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p)
                            for p in sorted({22, 443, *registry_ports(args.applications)})
                        ],
                    )
                ],
            ),
            opts=inside,
        )
