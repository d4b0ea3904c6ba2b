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
        namespaces = self._namespaces(args)
        self.namespaces = [ns.name for ns in namespaces.values()]
        postgres, milvus = self._stores(args, namespaces)
        pull_secrets = self._pull_secrets(args, namespaces[APP_NAMESPACE])
        face_api = self._face_api(args, namespaces[APP_NAMESPACE], postgres, milvus, pull_secrets)
        frontend = self._frontend(args, namespaces[APP_NAMESPACE], pull_secrets)
        self.url = self._entry_point(args, namespaces[APP_NAMESPACE], face_api, frontend).url
        self._connections(args, namespaces, face_api, frontend, postgres, milvus)
        self.register_outputs({"url": self.url})

    def _inside(self, namespace: PlatformNamespace) -> pulumi.ResourceOptions:
        """Options of what lives in `namespace`: after it."""
        return pulumi.ResourceOptions(parent=self, depends_on=[namespace])

    def _namespaces(self, args: FaceRecognitionSystemArgs) -> dict[str, PlatformNamespace]:
        """The system's three namespaces, by name; the two holding data (Milvus, PostgreSQL) protected and kept on
        delete as `durability` says, the application's not."""
        holds_data = {APP_NAMESPACE: False, MILVUS_NAMESPACE: True, POSTGRES_NAMESPACE: True}
        return {
            name: PlatformNamespace(
                name,
                PlatformNamespaceArgs(
                    name=name,
                    cluster=args.cluster,
                    part_of=PART_OF,
                    protect=args.durability.protect and data,
                    retain_on_delete=args.durability.retain_volumes and data,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for name, data in holds_data.items()
        }

    def _stores(
        self, args: FaceRecognitionSystemArgs, namespaces: dict[str, PlatformNamespace]
    ) -> tuple[PostgresDatabase, MilvusStandalone]:
        """PostgreSQL (users and faces) and Milvus (the face embeddings; on the GPU where there is one), each in its
        own namespace."""
        postgres = PostgresDatabase(
            "postgres",
            PostgresDatabaseArgs(
                namespace=POSTGRES_NAMESPACE,
                part_of=PART_OF,
                settings=args.settings.postgres,
                durability=args.durability,
                image=args.images.postgres,
                shell_image=args.images.shell,
            ),
            opts=self._inside(namespaces[POSTGRES_NAMESPACE]),
        )
        milvus = MilvusStandalone(
            MILVUS,
            MilvusStandaloneArgs(
                namespace=MILVUS_NAMESPACE,
                part_of=PART_OF,
                settings=args.settings.milvus,
                durability=args.durability,
                images=args.images.milvus,
                gpu=args.gpu,
            ),
            opts=self._inside(namespaces[MILVUS_NAMESPACE]),
        )
        return postgres, milvus

    def _pull_secrets(
        self, args: FaceRecognitionSystemArgs, namespace: PlatformNamespace
    ) -> list[pulumi.Input[str]]:
        """The names of the Secrets kiban's own images are pulled with: one with the registry's pull credentials,
        where it needs them; none otherwise."""
        if args.registry is None or args.registry.pull_credentials is None:
            return []
        return [
            image_pull_secret(
                "registry-pull",
                namespace=APP_NAMESPACE,
                part_of=PART_OF,
                registry_host=args.registry.registry_host(),
                credentials=args.registry.pull_credentials,
                opts=self._inside(namespace),
            ).metadata.name
        ]

    def _face_api(
        self,
        args: FaceRecognitionSystemArgs,
        namespace: PlatformNamespace,
        postgres: PostgresDatabase,
        milvus: MilvusStandalone,
        pull_secrets: list[pulumi.Input[str]],
    ) -> FaceApi:
        """The backend, on the GPU where there is one (and then given the GPU's longer ready timeout), after the
        stores it waits for."""
        return FaceApi(
            BACKEND,
            FaceApiArgs(
                namespace=APP_NAMESPACE,
                part_of=PART_OF,
                image=args.images.face_api,
                settings=args.settings.backend,
                postgres=postgres.endpoint,
                milvus=milvus.endpoint,
                environment_name=args.environment_name,
                gpu=args.gpu,
                exposure=args.cluster.ingress.exposure(),
                delivery=args.delivery,
                ready_timeout_minutes=args.gpu_ready_timeout_minutes if args.gpu else None,
                wait_image=args.images.shell,
                stores=(postgres, milvus),
                image_pull_secrets=pull_secrets,
            ),
            opts=self._inside(namespace),
        )

    def _frontend(
        self, args: FaceRecognitionSystemArgs, namespace: PlatformNamespace, pull_secrets: list[pulumi.Input[str]]
    ) -> Frontend:
        """The frontend, released as the backend is."""
        return Frontend(
            "frontend",
            FrontendArgs(
                namespace=APP_NAMESPACE,
                part_of=PART_OF,
                image=args.images.frontend,
                settings=args.settings.frontend,
                exposure=args.cluster.ingress.exposure(),
                delivery=args.delivery,
                image_pull_secrets=pull_secrets,
            ),
            opts=self._inside(namespace),
        )

    def _entry_point(
        self, args: FaceRecognitionSystemArgs, namespace: PlatformNamespace, face_api: FaceApi, frontend: Frontend
    ) -> EntryPoint:
        """The public entry point at `host`: the API under `INGRESS_PATH`, the frontend for everything else."""
        return EntryPoint(
            "face-recognition",
            EntryPointArgs(
                namespace=APP_NAMESPACE,
                part_of=PART_OF,
                host=args.host,
                cluster=args.cluster,
                routes=(
                    Route(INGRESS_PATH, face_api.service_name, face_api.port),
                    Route("/", frontend.service_name, frontend.port),
                ),
                tls=args.tls,
            ),
            opts=self._inside(namespace),
        )

    def _connections(
        self,
        args: FaceRecognitionSystemArgs,
        namespaces: dict[str, PlatformNamespace],
        face_api: FaceApi,
        frontend: Frontend,
        postgres: PostgresDatabase,
        milvus: MilvusStandalone,
    ) -> None:
        """Exactly the connections the system makes, through the namespaces' default-deny: users to the frontend
        and the API through the cluster's ingress, the API and its setup Job to both stores."""
        ingress = args.cluster.ingress
        connections = (
            ("ingress-to-frontend", ingress.backend_source(), frontend.pods, frontend.port, "users reach the frontend"),
            ("ingress-to-face-api", ingress.backend_source(), face_api.pods, face_api.port, "users reach the API"),
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
