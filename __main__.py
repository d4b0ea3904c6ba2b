"""kiban: load and validate the stack's config, compose the platform from components, export what matters."""

import pulumi

from components.existing_cluster import ExistingCluster
from components.namespace import PlatformNamespace, PlatformNamespaceArgs
from stack_config import load_stack_config

config = load_stack_config()  # before any resource: a bad stack file registers nothing

cluster = ExistingCluster("cluster", config.stack.cluster)
on_cluster = pulumi.ResourceOptions(provider=cluster.provider)

app_namespace = PlatformNamespace(
    "face-recognition",
    PlatformNamespaceArgs(name="face-recognition", cluster=cluster.facts, part_of="face-recognition"),
    opts=on_cluster,
)

pulumi.export("clusterKind", cluster.facts.kind)
pulumi.export("namespaces", [app_namespace.name])
