"""`FaceRecognitionSystem`: the whole face-recognition application on Kubernetes, composed from kiban's components."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.contracts.cluster import ClusterFacts
from components.contracts.delivery import BlueGreenDelivery
from components.contracts.images import Image
from components.contracts.registry import RegistryFacts
from components.kube.image_pull_secret import image_pull_secret
from components.kube.entry_point import EntryPoint, EntryPointArgs, Route
from components.apps.face_recognition.face_api import INGRESS_PATH, FaceApi, FaceApiArgs
from components.apps.face_recognition.frontend import Frontend, FrontendArgs
from components.data.milvus import MilvusImages, MilvusStandalone, MilvusStandaloneArgs
from components.kube.namespace import PlatformNamespace, PlatformNamespaceArgs
from components.kube.network_access import AllowTraffic, AllowTrafficArgs
from components.kube.pod_spec import GpuRequest
from components.data.postgres_database import PostgresDatabase, PostgresDatabaseArgs
from components.apps.face_recognition.settings import BACKEND, MILVUS, FaceRecognitionConfig
from components.contracts.tls import IngressTls
from components.contracts.stores import StoreDurability
from components.contracts import namespaces

PART_OF = "face-recognition"
APP_NAMESPACE = namespaces.FACE_RECOGNITION
MILVUS_NAMESPACE = namespaces.MILVUS
POSTGRES_NAMESPACE = namespaces.POSTGRESQL


@dataclass(frozen=True)
class FaceRecognitionImages:
    """Every image the system runs, resolved by the caller (kiban's own from stack config, the rest pinned)."""

    face_api: Image
    """kiban's backend build, resolved from the stack's registry."""
    frontend: Image
    """kiban's frontend build, resolved from the stack's registry."""
    postgres: str
    milvus: MilvusImages
    shell: str
    """A small image with a shell (busybox), for backup steps."""


@dataclass(frozen=True)
class FaceRecognitionSystemArgs:
    """Arguments of `FaceRecognitionSystem`."""

    settings: FaceRecognitionConfig
    """Backend, frontend, PostgreSQL and Milvus settings (required): `kiban:faceRecognition`."""

    images: FaceRecognitionImages
    """The images (required)."""

    host: str
    """Host name of the public entry point (required): `kiban:ingress.host`."""


    cluster: ClusterFacts
    """The cluster it runs on (required)."""

    gpu: GpuRequest | None
    """The reservation the backend and Milvus each make (required; `None` for the CPU build)."""

    durability: StoreDurability
    """How hard PostgreSQL and Milvus (and the namespaces holding them) are to lose, and how long `pulumi up` waits
    for them (required): the stack's one `StoreDurability`."""

    gpu_ready_timeout_minutes: int | None
    """How long `pulumi up` waits for the GPU backend, whose image is several GB (required; `None`: Pulumi's 10
    minutes)."""

    environment_name: str
    """Name shown by the application (required), e.g. the stack name."""

    tls: IngressTls | None = None
    """TLS of the entry point, resolved from `kiban:ingress.tls`. Default: none, plain HTTP."""

    delivery: BlueGreenDelivery | None = None
    """How the backend and the frontend release new versions (Argo Rollouts blue/green). Default: none, rolling
    Deployments."""

    registry: RegistryFacts | None = None
    """The registry kiban's own images come from: where it needs pull credentials, the app namespace gets them
    as a `kubernetes.io/dockerconfigjson` Secret that the backend and the frontend name in `imagePullSecrets`.
    Default: none (public images, or nodes that pull with their own identity)."""


class FaceRecognitionSystem(pulumi.ComponentResource):
    """Frontend and backend in `face-recognition`, Milvus (with etcd and MinIO) in `milvus`, PostgreSQL in
    `postgresql`; every namespace default-deny, with exactly the connections the system makes allowed.

    On GPU stacks (`faceRecognition.gpu`) the backend and Milvus each reserve one GPU; nothing else does.
    """

    url: str
    """Where users reach the system."""

    namespaces: list[pulumi.Output[str]]
    """The namespaces the system's pods run in."""

    def __init__(self, resource_name: str, args: FaceRecognitionSystemArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:app:FaceRecognitionSystem", resource_name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.settings
        safety = args.durability
        cluster = args.cluster
        gpu = args.gpu

        holds_data = {APP_NAMESPACE: False, MILVUS_NAMESPACE: True, POSTGRES_NAMESPACE: True}
        namespaces = {
            name: PlatformNamespace(
                name,
                PlatformNamespaceArgs(
                    name=name,
                    cluster=cluster,
                    part_of=PART_OF,
                    protect=safety.protect and data,
                    retain_on_delete=safety.retain_volumes and data,
                ),
                opts=child,
            )
            for name, data in holds_data.items()
        }
        self.namespaces = [ns.name for ns in namespaces.values()]

        def inside(namespace: str) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=[namespaces[namespace]])

        postgres = PostgresDatabase(
            "postgres",
            PostgresDatabaseArgs(
                namespace=POSTGRES_NAMESPACE,
                part_of=PART_OF,
                settings=config.postgres,
                durability=safety,
                image=args.images.postgres,
                shell_image=args.images.shell,
            ),
            opts=inside(POSTGRES_NAMESPACE),
        )
        milvus = MilvusStandalone(
            MILVUS,
            MilvusStandaloneArgs(
                namespace=MILVUS_NAMESPACE,
                part_of=PART_OF,
                settings=config.milvus,
                durability=safety,
                images=args.images.milvus,
                gpu=gpu,
            ),
            opts=inside(MILVUS_NAMESPACE),
        )
        pull_secrets: list[pulumi.Input[str]] = []
        if args.registry is not None and args.registry.pull_credentials is not None:
            pull_secrets.append(
                image_pull_secret(
                    "registry-pull",
                    namespace=APP_NAMESPACE,
                    part_of=PART_OF,
                    registry_host=args.registry.registry_host(),
                    credentials=args.registry.pull_credentials,
                    opts=inside(APP_NAMESPACE),
                ).metadata.name
            )
        face_api = FaceApi(
            BACKEND,
            FaceApiArgs(
                namespace=APP_NAMESPACE,
                part_of=PART_OF,
                image=args.images.face_api,
                settings=config.backend,
                postgres=postgres.endpoint,
                milvus=milvus.endpoint,
                environment_name=args.environment_name,
                gpu=gpu,
                exposure=cluster.ingress.exposure(),
                delivery=args.delivery,
                ready_timeout_minutes=args.gpu_ready_timeout_minutes if gpu else None,
                wait_image=args.images.shell,
                stores=(postgres, milvus),
                image_pull_secrets=pull_secrets,
            ),
            opts=inside(APP_NAMESPACE),
        )
        frontend = Frontend(
            "frontend",
            FrontendArgs(
                namespace=APP_NAMESPACE,
                part_of=PART_OF,
                image=args.images.frontend,
                settings=config.frontend,
                exposure=cluster.ingress.exposure(),
                delivery=args.delivery,
                image_pull_secrets=pull_secrets,
            ),
            opts=inside(APP_NAMESPACE),
        )
        entry = EntryPoint(
            "face-recognition",
            EntryPointArgs(
                namespace=APP_NAMESPACE,
                part_of=PART_OF,
                host=args.host,
                cluster=cluster,
                routes=(
                    Route(INGRESS_PATH, face_api.service_name, face_api.port),
                    Route("/", frontend.service_name, frontend.port),
                ),
                tls=args.tls,
            ),
            opts=inside(APP_NAMESPACE),
        )
        self.url = entry.url

        connections = (
            ("ingress-to-frontend", cluster.ingress.backend_source(), frontend.pods, frontend.port, "users reach the frontend"),
            ("ingress-to-face-api", cluster.ingress.backend_source(), face_api.pods, face_api.port, "users reach the API"),
            ("face-api-to-postgres", face_api.pods, postgres.pods, postgres.port, "the API stores users and faces"),
            ("face-api-to-milvus", face_api.pods, milvus.pods, milvus.port, "the API searches face embeddings"),
            ("face-api-setup-to-postgres", face_api.setup_pods, postgres.pods, postgres.port, "the setup migrates"),
            ("face-api-setup-to-milvus", face_api.setup_pods, milvus.pods, milvus.port, "the setup creates the collection"),
        )
        for name, source, destination, port, description in connections:
            AllowTraffic(
                name,
                AllowTrafficArgs(source=source, destination=destination, ports=[port], description=description),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(namespaces.values())),
            )
        self.register_outputs({"url": self.url})
