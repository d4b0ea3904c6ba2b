"""`DeliveredApplication`: one self-contained application delivered by Argo CD: its namespace (kiban's, hardened), an
AppProject that fences it in, and the Application that syncs it from its own repository."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import ClusterFacts
from components.kube.namespace import PlatformNamespace, PlatformNamespaceArgs
from components.contracts import namespaces
from stack_config.argocd import ArgoApplication

ARGO_API = "argoproj.io/v1alpha1"
ARGOCD_NAMESPACE = namespaces.ARGOCD
IN_CLUSTER = "https://kubernetes.default.svc"
RETRY = {"limit": 3, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}
IMAGE_UPDATER_FIELDS = ("spec.source.kustomize.images", "spec.source.helm.parameters")
"""What Image Updater's `argocd` write-back changes in an Application."""


@dataclass(frozen=True)
class DeliveredApplicationArgs:
    """Arguments of `DeliveredApplication`."""

    application: ArgoApplication
    """The entry of `kiban:argocd.applications` (required)."""

    cluster: ClusterFacts
    """The cluster (required): the namespace's Pod Security version and DNS."""

    auto_sync: bool
    """Sync automatically with prune and self-heal (dev), or wait for a person (prod) (required)."""

    crds: Sequence[pulumi.Resource]
    """What installs Argo CD's CRDs (required): the AppProject and the Application depend on it."""

    image_updater_writes_back: bool = False
    """Image Updater writes back into this Application (`argocd` write-back): Pulumi ignores exactly those fields.
    Default: false."""


class DeliveredApplication(pulumi.ComponentResource):
    """An application Argo CD delivers. kiban owns its namespace (`CreateNamespace=false`); the AppProject allows
    only its repository, its namespace on this cluster, and the cluster-scoped kinds the config names."""

    application_name: str
    """Name of the Application (and of its AppProject)."""

    def __init__(
        self, resource_name: str, args: DeliveredApplicationArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("kiban:platform:DeliveredApplication", resource_name, None, opts)
        app = args.application
        namespace = PlatformNamespace(
            f"{resource_name}-namespace",
            PlatformNamespaceArgs(name=app.namespace, cluster=args.cluster, part_of=app.name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=[*args.crds, namespace])
        project = k8s.apiextensions.CustomResource(
            f"{resource_name}-project",
            api_version=ARGO_API,
            kind="AppProject",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=app.name, namespace=ARGOCD_NAMESPACE),
            spec={
                "description": f"{app.name}: only its own repository, into its own namespace",
                "sourceRepos": [app.repo_url],
                "destinations": [{"server": IN_CLUSTER, "namespace": app.namespace}],
                "clusterResourceWhitelist": [
                    {"group": kind.rpartition("/")[0], "kind": kind.rpartition("/")[2]} for kind in app.cluster_resources
                ],
                "namespaceResourceWhitelist": [{"group": "*", "kind": "*"}],
            },
            opts=after_crds,
        )
        sync_policy: dict = {"syncOptions": ["CreateNamespace=false"], "retry": RETRY}
        if args.auto_sync:
            sync_policy["automated"] = {"prune": True, "selfHeal": True}
        k8s.apiextensions.CustomResource(
            resource_name,
            api_version=ARGO_API,
            kind="Application",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=app.name,
                namespace=ARGOCD_NAMESPACE,
                # Deleting the Application removes what it deployed before Argo CD lets it go.
                finalizers=["resources-finalizer.argocd.argoproj.io"],
            ),
            spec={
                "project": app.name,
                "source": {"repoURL": app.repo_url, "path": app.path, "targetRevision": app.target_revision},
                "destination": {"server": IN_CLUSTER, "namespace": app.namespace},
                "syncPolicy": sync_policy,
            },
            opts=pulumi.ResourceOptions.merge(
                after_crds,
                pulumi.ResourceOptions(
                    depends_on=[project],
                    ignore_changes=list(IMAGE_UPDATER_FIELDS) if args.image_updater_writes_back else None,
                ),
            ),
        )
        self.application_name = app.name
        self.register_outputs({"application_name": self.application_name})
