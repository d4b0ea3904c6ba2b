"""The Kubernetes provider for a cluster kiban reaches through a kubeconfig, built so that its state holds no
machine's paths and a changed kubeconfig never replaces it (or everything deployed through it)."""

from __future__ import annotations

import os
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.settings import ExistingClusterAccess


class KubeconfigNotFound(ValueError):
    """`kiban:cluster.kubeconfig` names a file that does not exist on this machine."""


def kubeconfig_input(access: ExistingClusterAccess) -> pulumi.Input[str]:
    """What the provider's `kubeconfig` input gets.

    - `kubeconfig` set: the file's contents, read now and kept secret. A path would be stored in state as this
      machine's path (pulumi-kubernetes#2663: a preview elsewhere, or in CI, then fails or replaces the provider).
    - unset: an empty string, so the provider resolves `$KUBECONFIG`, then `~/.kube/config`, on whatever machine
      runs it. (Left `None`, the SDK would copy this machine's `$KUBECONFIG` path into the inputs.)
    """
    if access.kubeconfig is None:
        return ""
    path = Path(os.path.expanduser(access.kubeconfig))
    if not path.is_file():
        raise KubeconfigNotFound(
            f"kiban:cluster.kubeconfig: no file at {access.kubeconfig} on this machine; point it at the cluster's "
            "kubeconfig, or leave it unset and export KUBECONFIG"
        )
    return pulumi.Output.secret(path.read_text())


def kubernetes_provider(
    name: str, access: ExistingClusterAccess, kind: str, opts: pulumi.ResourceOptions
) -> k8s.Provider:
    """The explicit provider every Kubernetes resource of the stack uses."""
    return k8s.Provider(
        name,
        kubeconfig=kubeconfig_input(access),
        context=access.context,
        # Only a change of cluster replaces the provider; a rotated token or another machine's kubeconfig updates it.
        cluster_identifier=f"{kind}/{access.context}",
        # Secret data changes are updates, not replacements (a protected Secret cannot be replaced).
        enable_secret_mutable=True,
        # An object that exists before kiban's first `up` is an error, not silently taken over: import it
        # (`pulumi import`) or let kiban not manage it (e.g. `cluster.gpu.installDevicePlugin: false`).
        upsert_existing_objects=False,
        opts=opts,
    )
