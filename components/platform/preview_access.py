"""`PreviewAccess`: the read-only Kubernetes identity an approved pull request's `pulumi preview` uses on the homelab
(`preview-dev.yml`; docs/ci-and-delivery.md): a service account bound to the built-in `view` ClusterRole, and a
token Secret for its kubeconfig (the environment secret `HOMELAB_PREVIEW_KUBECONFIG`).

`view` reads what a namespace runs and nothing that writes, escalates or holds a Secret. A preview needs no more:
pulumi-kubernetes diffs against Pulumi's state, falls back to a client-side preview where a server-side dry run is
refused (a dry run is authorized as the request it stands for, so it needs `patch`), and a `helm.v3.Release`
preview renders the chart without the cluster (only a refresh reads the release's Secrets).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

NAMESPACE = "kube-system"
ACCOUNT = "kiban-preview"
TOKEN_SECRET = "kiban-preview-token"
ROLE = "view"


class PreviewAccess(pulumi.ComponentResource):
    """The preview account, its `view` binding and its token Secret. `opts` must carry the cluster's provider."""

    token_secret: pulumi.Output[str]
    """`namespace/name` of the token Secret (its `token` and `ca.crt` make the kubeconfig)."""

    def __init__(self, resource_name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:platform:PreviewAccess", resource_name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app.kubernetes.io/managed-by": "kiban", "app.kubernetes.io/component": "ci-preview"}
        account = k8s.core.v1.ServiceAccount(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ACCOUNT, namespace=NAMESPACE, labels=labels),
            automount_service_account_token=False,
            opts=child,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{resource_name}-{ROLE}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{ACCOUNT}-{ROLE}", labels=labels),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=ROLE),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=ACCOUNT, namespace=NAMESPACE)],
            opts=child,
        )
        token = k8s.core.v1.Secret(
            f"{resource_name}-token",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=TOKEN_SECRET, namespace=NAMESPACE, labels=labels,
                annotations={"kubernetes.io/service-account.name": ACCOUNT},
            ),
            type="kubernetes.io/service-account-token",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
        )
        self.token_secret = token.metadata.apply(lambda m: f"{m.namespace}/{m.name}")
        self.register_outputs({"tokenSecret": self.token_secret})
