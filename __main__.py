"""kiban: load and validate the stack's config, compose the platform from components, export what matters."""

import pulumi
import pulumi_random

from components.clusters.targets import cluster_target
from components.apps.face_recognition.face_recognition_system import FaceRecognitionSystem, FaceRecognitionSystemArgs
from components.kube.retained_storage_class import RetainedStorageClass, RetainedStorageClassArgs
from components.platform.argo_rollouts import ArgoRollouts, ArgoRolloutsArgs
from stack_config import load_stack_config
from versions import versions

config = load_stack_config()  # before any resource: a bad stack file registers nothing
stack = config.stack

cluster = cluster_target("cluster", stack.cluster)
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
        chart=versions().charts.argo_rollouts,
        check_image=versions().images.busybox,
    ),
    opts=on_cluster,
)

face_recognition = FaceRecognitionSystem(
    "face-recognition",
    FaceRecognitionSystemArgs(
        config=stack,
        cluster=cluster.facts,
        data_storage_class=data_storage_class,
        environment_name=pulumi.get_stack(),
        tls_private_key=config.tls_private_key,
        delivery=rollouts.delivery,
    ),
    opts=on_cluster,
)

pulumi.export("clusterKind", cluster.facts.kind)
pulumi.export("url", face_recognition.url)
pulumi.export("namespaces", face_recognition.namespaces)
pulumi.export("gpu", stack.face_recognition.gpu)
