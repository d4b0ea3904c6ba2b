"""kiban: load and validate the stack's config, compose the platform from components, export what matters."""

import pulumi
import pulumi_random

from components.clusters.targets import cluster_target
from components.apps.face_recognition.face_recognition_system import (
    FaceRecognitionImages,
    FaceRecognitionSystem,
    FaceRecognitionSystemArgs,
)
from components.data.milvus import MilvusImages
from components.kube.pod_spec import GpuRequest
from components.kube.retained_storage_class import RetainedStorageClass, RetainedStorageClassArgs
from components.platform.argo_rollouts import ArgoRollouts, ArgoRolloutsArgs
from components.platform.argocd import ArgoCd, ArgoCdArgs
from components.platform.argocd_application import DeliveredApplication, DeliveredApplicationArgs
from components.platform.ci_identity import CiIdentity, CiIdentityArgs
from components.clusters.gke_target import GkeTarget
from components.platform.image_updater import ImageUpdater, ImageUpdaterArgs
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

if stack.data_safety.retain_volumes:
    data_storage_class: pulumi.Input[str] = RetainedStorageClass(
        "retained-storage", RetainedStorageClassArgs(cluster=cluster.facts), opts=on_cluster
    ).name
else:
    data_storage_class = cluster.facts.storage_class

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
            face_api=stack.images.face_api,
            frontend=stack.images.frontend,
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
        data_safety=stack.data_safety,
        cluster=cluster.facts,
        gpu=gpu,
        timeouts=stack.timeouts,
        data_storage_class=data_storage_class,
        environment_name=pulumi.get_stack(),
        tls=config.ingress_tls,
        delivery=rollouts.delivery,
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
        repository_password=config.argocd_repository_password,
        timeout_seconds=stack.timeouts.helm_release_seconds,
    ),
    opts=on_cluster,
)
updater = stack.argocd.image_updater
for application in stack.argocd.applications:
    DeliveredApplication(
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
            registry_password=config.image_updater_registry_password,
        ),
        opts=on_cluster,
    )

if isinstance(cluster, GkeTarget):
    pulumi.export("ingressAddress", cluster.ingress_address.address)
    pulumi.export("dnsRecord", cluster.ingress_address.address.apply(lambda a: f"{stack.ingress.host}. A {a}"))
    pulumi.export("gkeCluster", cluster.cluster.name)
    github = stack.cluster.github
    if github is not None:
        identity = CiIdentity(
            "ci-identity",
            CiIdentityArgs(project=stack.cluster.project, github=github),
            opts=pulumi.ResourceOptions(provider=cluster.gcp_provider),
        )
        pulumi.export("ciWorkloadIdentityProvider", identity.provider_name)
        pulumi.export("ciServiceAccounts", identity.emails)

pulumi.export("clusterKind", cluster.facts.kind)
pulumi.export("url", face_recognition.url)
pulumi.export("namespaces", face_recognition.namespaces)
pulumi.export("gpu", stack.face_recognition.gpu)
pulumi.export("argocdUrl", argocd.url)
pulumi.export("argocdAdminPassword", argocd.admin_password)  # an Output.secret: shown only with --show-secrets
