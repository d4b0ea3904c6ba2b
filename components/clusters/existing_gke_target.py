"""`ExistingGkeTarget`: a GKE cluster kiban does not create, reached through its kubeconfig context."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.gke_facts import gke_facts
from components.clusters.kubernetes_access import kubernetes_provider
from components.contracts.cluster import ApiServerEndpoint, ClusterFacts
from components.clusters.settings import ExistingGkeCluster

TYPE = "kiban:cluster:ExistingCluster"
"""The type token every existing-cluster target has had: it is part of every URN below it, so it stays."""


class ExistingGkeTarget(pulumi.ComponentResource):
    """An existing GKE cluster: the provider for its context and the facts about it. GKE runs its own NVIDIA
    device plugin, so nothing is installed here."""

    provider: k8s.Provider
    """Provider every Kubernetes resource of the stack uses."""

    facts: ClusterFacts
    """What components need to know about this cluster."""

    def __init__(self, resource_name: str, config: ExistingGkeCluster, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, resource_name, None, opts)
        self.facts = gke_facts(
            kind=config.kind,
            kubernetes_version=config.kubernetes_version,
            storage_class=config.storage_class,
            ingress_class=config.ingress_class,
            api_server=ApiServerEndpoint(cidrs=tuple(config.api_server.addresses), port=config.api_server.port),
            gpu_accelerator=config.gpu.accelerator if config.gpu else None,
        )
        self.provider = kubernetes_provider(
            f"{resource_name}-kubernetes", config, config.kind, pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs({"context": config.context, "kind": config.kind})
