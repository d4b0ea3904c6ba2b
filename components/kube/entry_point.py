"""`EntryPoint`: the Ingress in front of the system: `/api` to the backend, everything else to the frontend."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import ClusterFacts
from components.contracts.labels import platform_labels
from components.contracts.tls import IngressTls, TlsCertificate


@dataclass(frozen=True)
class Route:
    """A path prefix and the Service (name, port) that serves it."""

    path: str
    service: pulumi.Input[str]
    port: int


@dataclass(frozen=True)
class EntryPointArgs:
    """Arguments of `EntryPoint`."""

    namespace: str
    """Namespace of the Ingress and of the Services it routes to (required)."""

    part_of: str
    """`app.kubernetes.io/part-of` (required)."""

    host: str
    """Host name the Ingress answers to (required)."""

    cluster: ClusterFacts
    """The cluster: which ingress class, and how to name it (required)."""

    routes: tuple[Route, ...]
    """Path prefixes, most specific first (required)."""

    tls: IngressTls | None = None
    """TLS: a certificate with its key (stored as a `kubernetes.io/tls` Secret here), or an existing Secret.
    Default: none, plain HTTP."""


class EntryPoint(pulumi.ComponentResource):
    """The system's single public entry point (the nginx of the application's production Compose file, as an Ingress).

    With `tls.certificate`, the certificate and the secret key become a `kubernetes.io/tls` Secret; with
    `tls.secretName`, an existing one is used. On GKE plain HTTP is then switched off at the load balancer.
    """

    url: str
    """Where users reach the system."""

    def __init__(self, resource_name: str, args: EntryPointArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:app:EntryPoint", resource_name, None, opts)
        labels = platform_labels(args.part_of)
        tls_secret_name = self._tls_secret(resource_name, args, labels)
        # Without a certificate of its own, a cluster that issues them (GKE) gets one for the host.
        managed = args.tls is None and args.cluster.ingress.managed_certificates
        annotations = args.cluster.ingress.annotations(tls=args.tls is not None or managed)
        if managed:
            certificate = self._managed_certificate(resource_name, args, labels)
            annotations["networking.gke.io/managed-certificates"] = certificate
        self._ingress(resource_name, args, labels, annotations, tls_secret_name)
        self.url = f"{'https' if args.tls or managed else 'http'}://{args.host}"
        self.register_outputs({"url": self.url})

    def _tls_secret(
        self, resource_name: str, args: EntryPointArgs, labels: dict[str, str]
    ) -> pulumi.Input[str] | None:
        """The name of the `kubernetes.io/tls` Secret the Ingress serves the host with: one made here from
        `tls.certificate` and its secret key, the existing one `tls.secretName` names, or none."""
        tls = args.tls
        if isinstance(tls, TlsCertificate):
            secret = k8s.core.v1.Secret(
                f"{resource_name}-tls",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"{resource_name}-tls", namespace=args.namespace, labels=labels
                ),
                type="kubernetes.io/tls",
                string_data={"tls.crt": tls.certificate, "tls.key": pulumi.Output.secret(tls.private_key)},
                opts=pulumi.ResourceOptions(parent=self),
            )
            return secret.metadata.name
        if tls is not None:
            return tls.secret_name
        return None

    def _managed_certificate(self, resource_name: str, args: EntryPointArgs, labels: dict[str, str]) -> str:
        """A certificate the cluster issues and renews for the host (GKE's `ManagedCertificate`); returns its name,
        which the Ingress's annotation names."""
        k8s.apiextensions.CustomResource(
            f"{resource_name}-certificate",
            api_version="networking.gke.io/v1",
            kind="ManagedCertificate",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=resource_name, namespace=args.namespace, labels=labels),
            spec={"domains": [args.host]},
            opts=pulumi.ResourceOptions(parent=self),
        )
        return resource_name

    def _ingress(
        self,
        resource_name: str,
        args: EntryPointArgs,
        labels: dict[str, str],
        annotations: dict[str, str],
        tls_secret_name: pulumi.Input[str] | None,
    ) -> None:
        """The Ingress: the host's path prefixes to their Services in order, over TLS where there is a Secret."""
        k8s.networking.v1.Ingress(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=resource_name, namespace=args.namespace, labels=labels, annotations=annotations or None
            ),
            spec=k8s.networking.v1.IngressSpecArgs(
                ingress_class_name=args.cluster.ingress.ingress_class_name(),
                tls=(
                    [k8s.networking.v1.IngressTLSArgs(hosts=[args.host], secret_name=tls_secret_name)]
                    if tls_secret_name is not None
                    else None
                ),
                rules=[
                    k8s.networking.v1.IngressRuleArgs(
                        host=args.host,
                        http=k8s.networking.v1.HTTPIngressRuleValueArgs(paths=[route_path(r) for r in args.routes]),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def route_path(route: Route) -> k8s.networking.v1.HTTPIngressPathArgs:
    """One route as an Ingress path: its prefix to its Service's port."""
    return k8s.networking.v1.HTTPIngressPathArgs(
        path=route.path,
        path_type="Prefix",
        backend=k8s.networking.v1.IngressBackendArgs(
            service=k8s.networking.v1.IngressServiceBackendArgs(
                name=route.service,
                port=k8s.networking.v1.ServiceBackendPortArgs(number=route.port),
            )
        ),
    )
