"""`FaceApi`: the application's FastAPI face-recognition backend (port 8000, `/health`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import pulumi

from components.contracts.cluster import ServiceExposure
from components.contracts.delivery import BlueGreenDelivery
from components.contracts.endpoint import DatabaseEndpoint
from components.contracts.images import Image
from components.kube.generated_secret import GeneratedSecret, GeneratedSecretArgs
from components.kube.network_access import PodGroup
from components.contracts.exemptions import ScannerExemption
from components.apps.face_recognition.face_api_setup import FaceApiSetup, FaceApiSetupArgs, wait_for
from components.kube.pod_spec import ContainerSpec, EnvFromSecret, EnvLiteral, GpuRequest, WritablePath
from components.kube.health_checks import HealthChecks, HttpCheck
from components.kube.service_base import ServicePort
from components.kube.stateless_service import StatelessService, StatelessServiceArgs
from components.apps.face_recognition.settings import BackendSettings

PORT = 8000
API_PREFIX = "/api/v1"
"""`API_V1_STR`: where the backend serves its API."""
MIGRATIONS_DIR = "/faceapi/migrations"
"""Where the app's aerich reads its migrations (the app's working directory is /faceapi): written into the image
when it is built (images/face-api/bake_migrations.py), read-only like the rest of the root filesystem."""
ALLOWED_ORIGINS = "[]"
"""`ALLOWED_ORIGINS`, the app's CORS origins, as the JSON list pydantic-settings parses (a bare value fails the app's
import). None: the browser loads the frontend and calls `/api` on the same origin, which needs no CORS."""
INGRESS_PATH = "/api"
"""The path prefix the entry point sends to the backend: every API version lives under it."""
WRITABLE_PATHS = (WritablePath("/tmp"),)
"""What the backend and its setup Job write: /tmp only. MIGRATIONS_DIR is in the image, so the read-only root holds
it: nothing is written under /faceapi."""
SECRET_KEYS = ("SQL_PASSWORD", "MILVUS_DB_PASSWORD", "JWT_SECRET_KEY", "ADMIN_PASSWORD")
"""The settings the backend reads from its Secret, each under its own name."""


@dataclass(frozen=True)
class FaceApiArgs:
    """Arguments of `FaceApi`."""

    namespace: str
    """Namespace (required; it must exist)."""

    part_of: str
    """`app.kubernetes.io/part-of` (required)."""

    image: Image
    """Backend image (required), as resolved from the stack's registry."""

    settings: BackendSettings
    """Replicas, autoscaling, resources and the application's settings (required)."""

    postgres: DatabaseEndpoint
    """PostgreSQL (SQL_*) (required)."""

    milvus: DatabaseEndpoint
    """Milvus (MILVUS_DB_*) (required)."""

    environment_name: str
    """Shown in `PROJECT_NAME` (required), e.g. the stack name."""

    gpu: GpuRequest | None = None
    """Run the model on a GPU (`MODEL_DEVICE=cuda:0`). Default: none, `MODEL_DEVICE=cpu`."""

    exposure: ServiceExposure = field(default_factory=ServiceExposure)
    """How the Service is written behind the cluster's Ingress (`IngressFacts.exposure()`). Default: a plain
    ClusterIP."""

    wait_image: str = ""
    """A small image with `nc` (busybox) for the init containers that wait for the stores (required on a real
    stack; empty: no waiting)."""

    ready_timeout_minutes: int | None = None
    """How long `pulumi up` waits for the backend to become ready. Default: Pulumi's 10 minutes."""

    stores: Sequence[pulumi.Resource] = ()
    """The stores' workloads: the setup Job and the backend wait for them (Pulumi waits for a StatefulSet to be
    ready). Default: none."""

    delivery: BlueGreenDelivery | None = None
    """Release new versions blue/green through Argo Rollouts. Default: none, a rolling Deployment."""

    image_pull_secrets: Sequence[pulumi.Input[str]] = ()
    """Secrets (`kubernetes.io/dockerconfigjson`) the pods pull the image with. Default: none."""


class FaceApi(pulumi.ComponentResource):
    """The backend: a StatelessService whose settings come from config and whose secrets come from its own Secret.

    The JWT signing key and the administrator's password are generated here; the PostgreSQL and Milvus passwords
    are copied into the same Secret (a pod reads Secrets of its own namespace only). Its first-start work runs once
    per version in a setup Job; every pod waits for the stores to answer before the app starts. Loading the model
    is slow, so a startup probe gives it five minutes before liveness applies.
    """

    host: str
    """In-cluster DNS name of the Service."""

    service_name: pulumi.Output[str]
    """Name of the Service."""

    port: int
    """Service port (8000)."""

    pods: PodGroup
    """The backend's pods."""

    secret_name: pulumi.Output[str]
    """The backend's Secret (JWT key, the administrator's password, the stores' passwords)."""

    setup_pods: PodGroup
    """The pods of the one-off setup Job, which talk to the stores as the backend does."""

    def __init__(self, resource_name: str, args: FaceApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:app:FaceApi", resource_name, None, opts)
        secret = self._secret(resource_name, args)
        self.secret_name = secret.secret_name
        from_secret = [EnvFromSecret(key, secret.secret_name, key) for key in SECRET_KEYS]
        plain = self._plain_settings(args)
        waits = [
            wait_for(name, endpoint, args.wait_image)
            for name, endpoint in (("postgres", args.postgres), ("milvus", args.milvus))
            if args.wait_image
        ]
        setup = self._setup(resource_name, args, plain, from_secret, waits)
        env = [*(EnvLiteral(k, v) for k, v in plain.items()), *from_secret]
        service = self._service(resource_name, args, env, waits, secret, setup)
        self.setup_pods = setup.pods
        self.host = service.host
        self.service_name = service.service_name
        self.port = PORT
        self.pods = service.pods
        self.register_outputs({"host": self.host})

    def _secret(self, resource_name: str, args: FaceApiArgs) -> GeneratedSecret:
        """The backend's own Secret: a generated JWT signing key and administrator's password, and copies of the
        stores' passwords (a pod reads Secrets of its own namespace only)."""
        return GeneratedSecret(
            resource_name,
            GeneratedSecretArgs(
                namespace=args.namespace,
                part_of=args.part_of,
                generated=["JWT_SECRET_KEY", "ADMIN_PASSWORD"],
                length=64,
                copied={"SQL_PASSWORD": args.postgres.password, "MILVUS_DB_PASSWORD": args.milvus.password},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _plain_settings(args: FaceApiArgs) -> dict[str, str]:
        """The app's settings that are not secret, by the environment variable it reads each from: where the stores
        are, the model, the API, the tokens, the administrator, logging and CORS."""
        settings = args.settings
        return {
            "SQL_BACKEND": "asyncpg",
            "SQL_HOST": args.postgres.host,
            "SQL_PORT": str(args.postgres.port),
            "SQL_USERNAME": args.postgres.username,
            "SQL_DATABASE": args.postgres.database,
            "MILVUS_DB_HOST": args.milvus.host,
            "MILVUS_DB_PORT": str(args.milvus.port),
            "MILVUS_DB_USER": args.milvus.username,
            "MILVUS_DB_DB_NAME": args.milvus.database,
            "MODEL_PATH": settings.model_path,
            "MODEL_LOADER": settings.model_loader,
            "MODEL_THRESHOLD": str(settings.model_threshold),
            "MODEL_DEVICE": "cuda:0" if args.gpu else "cpu",
            "MODEL_EMB_DIM": str(settings.model_embedding_dim),
            "API_V1_STR": API_PREFIX,
            "PROJECT_NAME": f"FaceAPI ({args.environment_name})",
            "JWT_ALGORITHM": settings.jwt_algorithm,
            "ACCESS_TOKEN_EXPIRE_MINUTES": str(settings.access_token_expire_minutes),
            "PASSWORD_HASH_ALGORITHM": "sha256_crypt",
            "ALLOW_FACE_DEDUPICATION": str(settings.allow_face_deduplication).lower(),
            "ADMIN_USERNAME": settings.admin_username,
            "ADMIN_EMAIL": settings.admin_email,
            # The app logs through loguru, whose default sink reads its level here; at INFO it prints the whole
            # settings object, secrets included.
            "LOGURU_LEVEL": settings.log_level.upper(),
            "ALLOWED_ORIGINS": ALLOWED_ORIGINS,
        }

    def _setup(
        self,
        resource_name: str,
        args: FaceApiArgs,
        plain: dict[str, str],
        from_secret: list[EnvFromSecret],
        waits: list[ContainerSpec],
    ) -> FaceApiSetup:
        """The first-start work, once per version, in a Job after the stores. It runs on any node, without a GPU:
        it loads the model (the app's modules do at import) on the CPU."""
        return FaceApiSetup(
            f"{resource_name}-setup",
            FaceApiSetupArgs(
                namespace=args.namespace,
                part_of=args.part_of,
                image=args.image,
                env=[EnvLiteral(k, "cpu" if k == "MODEL_DEVICE" else v) for k, v in plain.items()] + from_secret,
                writable_paths=WRITABLE_PATHS,
                waits=waits,
                stores=(args.postgres, args.milvus),
                resources=args.settings.resources,
                image_pull_secrets=args.image_pull_secrets,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.stores)),
        )

    def _service(
        self,
        resource_name: str,
        args: FaceApiArgs,
        env: list[EnvLiteral | EnvFromSecret],
        waits: list[ContainerSpec],
        secret: GeneratedSecret,
        setup: FaceApiSetup,
    ) -> StatelessService:
        """The backend itself, after its setup Job and the stores: `/health` gates readiness and liveness, with a
        five-minute startup budget to load the model; a changed Secret restarts it."""
        settings = args.settings
        health = HttpCheck("/health", "http")
        return StatelessService(
            resource_name,
            StatelessServiceArgs(
                namespace=args.namespace,
                part_of=args.part_of,
                component="api",
                container=ContainerSpec(
                    name=resource_name,
                    image=args.image,
                    resources=settings.resources,
                    # The image's entry point; uvicorn takes the log level only as this argument.
                    command=["faceapi", "--host", "0.0.0.0", "--port", str(PORT), "--log-level", settings.log_level],
                    env=env,
                    writable_paths=WRITABLE_PATHS,
                ),
                init_containers=waits,
                ports=[ServicePort("http", PORT)],
                health=HealthChecks(readiness=health, liveness=health, startup=health, startup_budget_seconds=300),
                replicas=settings.replicas,
                autoscaling=settings.autoscaling,
                gpu=args.gpu,
                exposure=args.exposure,
                delivery=args.delivery,
                ready_timeout_minutes=args.ready_timeout_minutes,
                restart_on=[secret.checksum],
                image_pull_secrets=args.image_pull_secrets,
                scanner_exemptions=[
                    ScannerExemption(
                        "CKV_K8S_35",
                        "the FastAPI app reads its settings from the environment; the values come from "
                        "secretKeyRef, never literals",
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[setup.job, *args.stores]),
        )
