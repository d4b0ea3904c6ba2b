"""The delivery capability: how new versions reach the cluster. Blue/green releases of kiban's own services
(Argo Rollouts, `kiban:rollouts`), and GitOps for the applications Argo CD delivers (`kiban:argocd`): Argo CD,
each application with its way into the shared stores, and Image Updater where it follows images."""

from __future__ import annotations

import pulumi

from capabilities.cloud import Cloud
from capabilities.data import SharedData
from capabilities.images import OwnImages
from components.apps.delivered.application_secret import ApplicationSecret, ApplicationSecretArgs
from components.apps.delivered.shared_data_access import SharedDataAccess, SharedDataAccessArgs
from components.platform.argo_rollouts import ArgoRollouts, ArgoRolloutsArgs
from components.platform.argocd import ArgoCd, ArgoCdArgs
from components.platform.argocd_application import DeliveredApplication, DeliveredApplicationArgs
from components.platform.image_updater import ImageUpdater, ImageUpdaterArgs
from stack_config import LoadedConfig
from stack_config.stack import StackConfig
from versions import Versions


def blue_green(stack: StackConfig, cloud: Cloud, pinned: Versions) -> ArgoRollouts:
    """The Argo Rollouts controller; its `delivery` is the contract kiban's stateless services release through."""
    return ArgoRollouts(
        "argo-rollouts",
        ArgoRolloutsArgs(
            config=stack.rollouts,
            cluster=cloud.cluster.facts,
            chart=pinned.charts.argo_rollouts,
            check_image=pinned.images.busybox,
            timeout_seconds=stack.timeouts.helm_release_seconds,
        ),
        opts=cloud.on_cluster,
    )


def gitops(config: LoadedConfig, cloud: Cloud, pinned: Versions, images: OwnImages, shared: SharedData) -> ArgoCd:
    """Argo CD, the applications of `kiban:argocd.applications` (each with its shared stores' connection Secrets
    and policies, or the Secret in the shape its own manifests read), and Image Updater when
    `argocd.imageUpdater` is set. Argo CD's UI gets a certificate kiban's CA signs where there is one."""
    stack = config.stack
    facts = cloud.cluster.facts
    helm_timeout = stack.timeouts.helm_release_seconds
    argocd = ArgoCd(
        "argocd",
        ArgoCdArgs(
            config=stack.argocd,
            cluster=facts,
            chart=pinned.charts.argo_cd,
            environment=pulumi.get_stack(),
            registry_endpoint=images.registry.facts.pull_endpoint,
            certificate_authority=images.ca.authority if images.ca else None,
            repository_password=config.secret("argocdRepositoryPassword"),
            timeout_seconds=helm_timeout,
        ),
        opts=pulumi.ResourceOptions(providers=[cloud.cluster.provider, cloud.generator, *([images.ca.provider] if images.ca else [])]),
    )
    updater = stack.argocd.image_updater
    for application in stack.argocd.applications:
        delivered = DeliveredApplication(
            application.name,
            DeliveredApplicationArgs(
                application=application,
                cluster=facts,
                auto_sync=stack.argocd.auto_sync,
                crds=[argocd.release],
                # Image Updater's `argocd` write-back edits the Application's spec, which kiban then leaves alone.
                image_updater_writes_back=updater is not None and updater.write_back == "argocd" and bool(application.images),
            ),
            opts=cloud.on_cluster,
        )
        access = shared.access(application.name, application.shared_data)
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
                opts=cloud.on_cluster,
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
                    cloud.on_cluster,
                    pulumi.ResourceOptions(
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
                cluster=facts,
                chart=pinned.charts.argocd_image_updater,
                argocd=argocd.release,
                timeout_seconds=helm_timeout,
                registry_password=config.secret("imageUpdaterRegistryPassword"),
                registry=images.registry.facts,
            ),
            opts=cloud.on_cluster,
        )
    return argocd
