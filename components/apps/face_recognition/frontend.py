"""`Frontend`: the application's Vue.js frontend, served by an unprivileged nginx on port 8080."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import pulumi

from components.contracts.cluster import ServiceExposure
from components.contracts.delivery import BlueGreenDelivery
from components.contracts.images import Image
from components.kube.network_access import PodGroup
from components.kube.pod_spec import ContainerSpec, WritablePath
from components.kube.health_checks import HealthChecks, HttpCheck
from components.kube.service_base import ServicePort
from components.kube.stateless_service import StatelessService, StatelessServiceArgs
from components.apps.face_recognition.settings import FrontendSettings

PORT = 8080


@dataclass(frozen=True)
class FrontendArgs:
    """Arguments of `Frontend`."""

    namespace: str
    """Namespace (required; it must exist)."""

    part_of: str
    """`app.kubernetes.io/part-of` (required)."""

    image: Image
    """Frontend image (required): kiban's build (`images/face-frontend`): the static build on an unprivileged nginx
    listening on 8080, with `/health`, needing no environment."""

    settings: FrontendSettings
    """Replicas, autoscaling and resources (required)."""

    exposure: ServiceExposure = field(default_factory=ServiceExposure)
    """How the Service is written behind the cluster's Ingress (`IngressFacts.exposure()`). Default: a plain
    ClusterIP."""

    delivery: BlueGreenDelivery | None = None
    """Release new versions blue/green through Argo Rollouts. Default: none, a rolling Deployment."""

    image_pull_secrets: Sequence[pulumi.Input[str]] = ()
    """Secrets (`kubernetes.io/dockerconfigjson`) the pods pull the image with. Default: none."""


class Frontend(pulumi.ComponentResource):
    """The static frontend. It holds no secrets: the browser calls the API on the same origin under `/api`."""

    host: str
    """In-cluster DNS name of the Service."""

    service_name: pulumi.Output[str]
    """Name of the Service."""

    port: int
    """Service port (8080)."""

    pods: PodGroup
    """The frontend's pods."""

    def __init__(self, resource_name: str, args: FrontendArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:app:Frontend", resource_name, None, opts)
        health = HttpCheck("/health", "http")  # kiban's frontend image (images/face-frontend) answers it
        service = StatelessService(
            resource_name,
            StatelessServiceArgs(
                namespace=args.namespace,
                part_of=args.part_of,
                component="frontend",
                container=ContainerSpec(
                    name=resource_name,
                    image=args.image,
                    resources=args.settings.resources,
                    # nginx writes its pid and temp files under /tmp and its caches under /var/cache/nginx.
                    writable_paths=[WritablePath("/tmp", size_limit="64Mi"), WritablePath("/var/cache/nginx", size_limit="128Mi")],
                ),
                ports=[ServicePort("http", PORT)],
                health=HealthChecks(readiness=health, liveness=health),
                replicas=args.settings.replicas,
                autoscaling=args.settings.autoscaling,
                exposure=args.exposure,
                delivery=args.delivery,
                image_pull_secrets=args.image_pull_secrets,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.host = service.host
        self.service_name = service.service_name
        self.port = PORT
        self.pods = service.pods
        self.register_outputs({"host": self.host})
