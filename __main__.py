"""kiban: load and validate the stack's config, compose the platform from components, export what matters."""

import atexit
import gc

# One run declares a few hundred resources and ends: the collector would walk the ~400k objects the SDKs import
# again and again (and at exit) for the few cycles it frees. Off for the run; frozen at exit, so the interpreter's
# final collections skip them. The mock engine turns collection back on after each run it makes.
gc.disable()
atexit.register(gc.freeze)

import pulumi
import pulumi_gcp
import pulumi_random
import pulumi_tls

from components.clusters.targets import cluster_target
from components.apps.face_recognition.face_recognition_system import (
    FaceRecognitionImages,
    FaceRecognitionSystem,
    FaceRecognitionSystemArgs,
)
from components.apps.delivered.application_secret import ApplicationSecret, ApplicationSecretArgs
from components.apps.delivered.shared_data_access import SharedDataAccess, SharedDataAccessArgs, StoreAccess
from components.data.milvus import MilvusImages
from components.data.shared_postgres import SharedPostgres, SharedPostgresArgs
from components.data.shared_valkey import SharedValkey, SharedValkeyArgs
from components.contracts.stores import StoreDurability
from components.kube.pod_spec import GpuRequest
from components.kube.retained_storage_class import RetainedStorageClass, RetainedStorageClassArgs
from components.platform.argo_rollouts import ArgoRollouts, ArgoRolloutsArgs
from components.platform.argocd import ArgoCd, ArgoCdArgs
from components.platform.argocd_application import DeliveredApplication, DeliveredApplicationArgs
from components.platform.ci_identity import CiIdentity, CiIdentityArgs
from components.platform.preview_access import PreviewAccess
from components.platform.cloudnative_pg import CloudNativePg, CloudNativePgArgs
from components.clusters.gke_target import NODE_ROLES, GkeTarget
from components.platform.image_updater import ImageUpdater, ImageUpdaterArgs
from components.platform.registries import GcpAccess, stack_registry
from components.platform.stack_phase import PHASE_OUTPUT, checked_phase
from stack_config import load_stack_config
from versions import versions

config = load_stack_config()  # before any resource: a bad stack file registers nothing
stack = config.stack
pinned = versions()

cluster = cluster_target(
    "cluster",
    stack.cluster,
    device_plugin_chart=pinned.charts.nvidia_device_plugin,
    helm_timeout_seconds=stack.timeouts.helm_release_seconds,
)
# Generated secrets use an explicit `random` provider too: every stack disables all default providers.
generator = pulumi_random.Provider("random")
on_cluster = pulumi.ResourceOptions(providers=[cluster.provider, generator])

# The homelab is previewed from pull requests (after a maintainer's approval) with a read-only account; prod only by
# the job that applies it (docs/ci-and-delivery.md).
preview_access = PreviewAccess("preview-access", opts=on_cluster) if stack.cluster.kind == "k3s" else None

# kiban's own images: the stack's registry, and the references the workloads run, resolved once against it.
identity: CiIdentity | None = None
if isinstance(cluster, GkeTarget) and stack.cluster.github is not None:
    identity = CiIdentity(
        "ci-identity",
        CiIdentityArgs(
            project=stack.cluster.project,
            github=stack.cluster.github,
            node_service_accounts={pool: account.name for pool, account in cluster.node_service_accounts.items()},
            node_roles=NODE_ROLES,
            after=cluster.apis,
        ),
        opts=pulumi.ResourceOptions(provider=cluster.gcp_provider),
    )
registry_config = stack.registry_or_default()
gcp_access: GcpAccess | None = None
if registry_config.kind == "artifact-registry":
    project, region = stack.artifact_registry_location()  # both known: the config refuses it otherwise
    assert project is not None and region is not None
    if isinstance(cluster, GkeTarget):
        gcp_access = GcpAccess(
            provider=cluster.gcp_provider,
            project=project,
            location=region,
            readers={
                f"{pool}-nodes": account.email.apply(lambda e: f"serviceAccount:{e}")
                for pool, account in cluster.node_service_accounts.items()
            } | ({"ci-scan": identity.members["scan"]} if identity else {}),  # the daily scan pulls the releases
            writers={"ci-images": identity.members["images"]} if identity else {},
            after=cluster.apis,
        )
    else:
        gcp_access = GcpAccess(
            provider=pulumi_gcp.Provider("registry-gcp", project=project, region=region), project=project, location=region
        )
# kiban's CA (the build PC registry's) and the certificates it signs come from an explicit `tls` provider.
certificates = [pulumi_tls.Provider("tls")] if registry_config.kind == "build-pc" else []
registry = stack_registry(
    registry_config,
    face_api=stack.images.face_api,
    frontend=stack.images.frontend,
    build_args=pinned.image_builds.by_image(),
    protect=stack.data_safety.protect,
    opts=pulumi.ResourceOptions(providers=[generator, *certificates]),
    gcp_access=gcp_access,
    external_password=config.secret("registryPassword"),
    with_images=stack.phase == "workloads",  # the foundation reads no digest: the images are pushed after it
)

# What the steps after the foundation need (the nodes' registry configuration, the builder's trust, CI's identity,
# the DNS record), exported by every phase.
if isinstance(cluster, GkeTarget):
    pulumi.export("ingressAddress", cluster.ingress_address.address)
    pulumi.export("dnsRecord", cluster.ingress_address.address.apply(lambda a: f"{stack.ingress.host}. A {a}"))
    pulumi.export("gkeCluster", cluster.cluster.name)
    if identity is not None:
        pulumi.export("ciWorkloadIdentityProvider", identity.provider_name)
        pulumi.export("ciServiceAccounts", identity.emails)
pulumi.export("registryEndpoint", registry.facts.push_endpoint)
if registry.build_pc is not None:
    pulumi.export("registryCaCertificate", registry.build_pc.facts.ca_certificate)  # Docker clients: certs.d/<host:port>/ca.crt
    pulumi.export("k3sRegistriesYaml", registry.build_pc.k3s_registries)  # secret: /etc/rancher/k3s/registries.yaml
    if registry.build_pc.push_credentials:  # secret: each application CI's own user (registry.pushers)
        pulumi.export("registryPushCredentials", pulumi.Output.secret(registry.build_pc.push_credentials))
    pulumi.export("buildkitdConfig", registry.build_pc.buildkitd_config)  # the builder's BuildKit trusts the CA
pulumi.export("clusterKind", cluster.facts.kind)
if preview_access is not None:
    pulumi.export("previewTokenSecret", preview_access.token_secret)  # HOMELAB_PREVIEW_KUBECONFIG's token and CA
# The phase, once the stack's last up shows it may run: never a foundation over running workloads (it would delete
# them), never workloads before a foundation that a person or the release workflow has to follow up.
pulumi.export(
    PHASE_OUTPUT,
    checked_phase(stack.phase, needs_foundation=registry_config.kind in ("build-pc", "artifact-registry")),
)

if stack.phase == "workloads":
    # Everything that runs on the foundation: the stores, the delivery tools, the application, Argo CD.
    assert registry.images is not None  # resolved with the workloads
    durability = StoreDurability(
        storage_class=(
            RetainedStorageClass("retained-storage", RetainedStorageClassArgs(cluster=cluster.facts), opts=on_cluster).name
            if stack.data_safety.retain_volumes
            else cluster.facts.storage_class
        ),
        protect=stack.data_safety.protect,
        retain_volumes=stack.data_safety.retain_volumes,
        ready_timeout_minutes=stack.timeouts.workload_ready_minutes,
    )

    rollouts = ArgoRollouts(
        "argo-rollouts",
        ArgoRolloutsArgs(
            config=stack.rollouts,
            cluster=cluster.facts,
            chart=pinned.charts.argo_rollouts,
            check_image=pinned.images.busybox,
            timeout_seconds=stack.timeouts.helm_release_seconds,
        ),
        opts=on_cluster,
    )

    # The config guarantees GPU nodes wherever the system asks for GPUs: one per GPU workload.
    gpu = GpuRequest(count=1, scheduling=cluster.facts.gpu) if stack.face_recognition.gpu and cluster.facts.gpu else None
    face_recognition = FaceRecognitionSystem(
        "face-recognition",
        FaceRecognitionSystemArgs(
            settings=stack.face_recognition,
            images=FaceRecognitionImages(
                face_api=registry.images.face_api,
                frontend=registry.images.frontend,
                postgres=pinned.images.postgres,
                milvus=MilvusImages(
                    milvus=pinned.images.milvus_gpu if gpu else pinned.images.milvus,
                    etcd=pinned.images.etcd,
                    minio=pinned.images.minio,
                    minio_client=pinned.images.minio_client,
                    shell=pinned.images.busybox,
                ),
                shell=pinned.images.busybox,
            ),
            host=stack.ingress.host,
            durability=durability,
            cluster=cluster.facts,
            gpu=gpu,
            gpu_ready_timeout_minutes=stack.timeouts.workload_ready_minutes,
            environment_name=pulumi.get_stack(),
            tls=config.ingress_tls,
            delivery=rollouts.delivery,
            registry=registry.facts,
        ),
        opts=on_cluster,
    )

    argocd = ArgoCd(
        "argocd",
        ArgoCdArgs(
            config=stack.argocd,
            cluster=cluster.facts,
            chart=pinned.charts.argo_cd,
            environment=pulumi.get_stack(),
            registry_endpoint=registry.facts.pull_endpoint,
            certificate_authority=registry.build_pc.certificate_authority if registry.build_pc else None,
            repository_password=config.secret("argocdRepositoryPassword"),
            timeout_seconds=stack.timeouts.helm_release_seconds,
        ),
        opts=pulumi.ResourceOptions(providers=[cluster.provider, generator, *certificates]),
    )
    # The PostgreSQL and Valkey the delivered applications share (seed 002's homelab `shared/`), each only when set.
    shared_data = stack.shared_data
    users_of = {
        store: [app.name for app in stack.argocd.applications if store in app.shared_data] for store in ("postgres", "valkey")
    }
    shared_postgres: SharedPostgres | None = None
    if shared_data.postgres is not None:
        postgres_operator = CloudNativePg(
            "cloudnative-pg",
            CloudNativePgArgs(
                cluster=cluster.facts,
                chart=pinned.charts.cloudnative_pg,
                timeout_seconds=stack.timeouts.helm_release_seconds,
            ),
            opts=on_cluster,
        )
        shared_postgres = SharedPostgres(
            "shared-postgres",
            SharedPostgresArgs(
                config=shared_data.postgres,
                applications=users_of["postgres"],
                operator=postgres_operator.operator,
                cluster=cluster.facts,
                image=pinned.images.cnpg_postgres,
                shell_image=pinned.images.busybox,
                durability=durability,
            ),
            opts=on_cluster,
        )
    shared_valkey: SharedValkey | None = None
    if shared_data.valkey is not None:
        shared_valkey = SharedValkey(
            "shared-valkey",
            SharedValkeyArgs(
                config=shared_data.valkey,
                applications=users_of["valkey"],
                cluster=cluster.facts,
                image=pinned.images.valkey,
                durability=durability,
            ),
            opts=on_cluster,
        )

    updater = stack.argocd.image_updater
    for application in stack.argocd.applications:
        delivered = DeliveredApplication(
            application.name,
            DeliveredApplicationArgs(
                application=application,
                cluster=cluster.facts,
                auto_sync=stack.argocd.auto_sync,
                crds=[argocd.release],
                image_updater_writes_back=updater is not None and updater.write_back == "argocd" and bool(application.images),
            ),
            opts=on_cluster,
        )
        # The config guarantees each store an application names is set.
        stores = {"postgres": shared_postgres, "valkey": shared_valkey}
        access = {
            name: StoreAccess(store.logins[application.name], store.pods, store.access_after[application.name])
            for name, store in stores.items()
            if store is not None and name in application.shared_data
        }
        if application.shared_data:
            SharedDataAccess(
                f"{application.name}-shared-data",
                SharedDataAccessArgs(
                    application=application.name,
                    namespace=application.namespace,
                    postgres=access.get("postgres"),
                    valkey=access.get("valkey"),
                    connection_secrets=application.secret is None,
                    after=[delivered],
                ),
                opts=on_cluster,
            )
        if application.secret is not None:
            # The Secret in the shape the application's own manifests read.
            ApplicationSecret(
                f"{application.name}-secret",
                ApplicationSecretArgs(
                    application=application.name,
                    namespace=application.namespace,
                    name=application.secret.name,
                    keys=application.secret.keys,
                    postgres=access["postgres"].login if "postgres" in access else None,
                    valkey=access["valkey"].login if "valkey" in access else None,
                    settings=config.application_secrets.get(application.name, {}),
                ),
                opts=pulumi.ResourceOptions.merge(
                    on_cluster,
                    pulumi.ResourceOptions(
                        # What of the stores it uses, not the whole stores (every application's logins: N² edges).
                        depends_on=[delivered, *(waited for used in access.values() for waited in used.after)]
                    ),
                ),
            )
    if updater is not None:
        ImageUpdater(
            "image-updater",
            ImageUpdaterArgs(
                config=updater,
                applications=stack.argocd.applications,
                cluster=cluster.facts,
                chart=pinned.charts.argocd_image_updater,
                argocd=argocd.release,
                timeout_seconds=stack.timeouts.helm_release_seconds,
                registry_password=config.secret("imageUpdaterRegistryPassword"),
                registry=registry.facts,
            ),
            opts=on_cluster,
        )

    pulumi.export("images", {"faceApi": registry.images.face_api.reference, "frontend": registry.images.frontend.reference})
    pulumi.export("url", face_recognition.url)
    pulumi.export("namespaces", face_recognition.namespaces)
    pulumi.export("gpu", stack.face_recognition.gpu)
    pulumi.export("argocdUrl", argocd.url)
    pulumi.export("argocdAdminPassword", argocd.admin_password)  # an Output.secret: shown only with --show-secrets
