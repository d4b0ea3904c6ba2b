"""`DeliveredApplication`: one self-contained application delivered by Argo CD: its namespace (kiban's, hardened, with
only the traffic the application's config asks for), an AppProject that fences it in, an admission policy that
confines its Ingresses to the hosts it owns, and the Application that syncs it from its own repository."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import ClusterFacts
from components.contracts.labels import MANAGED_BY
from components.kube.namespace import PlatformNamespace, PlatformNamespaceArgs
from components.contracts import namespaces
from components.kube.network_access import AllowTraffic, AllowTrafficArgs, PodGroup
from components.platform.argocd_settings import ArgoApplication, EgressDestination

ARGO_API = "argoproj.io/v1alpha1"
ARGOCD_NAMESPACE = namespaces.ARGOCD
IN_CLUSTER = "https://kubernetes.default.svc"
RETRY = {"limit": 3, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}
IMAGE_UPDATER_FIELDS = ("spec.source.kustomize.images", "spec.source.helm.parameters")
"""What Image Updater's `argocd` write-back changes in an Application."""
NOT_THE_INTERNET = (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8",
)
"""IPv4 blocks `egress.internet` leaves out: private networks (the homelab, the cluster's pods and Services), shared
address space, link-local (the cloud's metadata server) and loopback."""
NOT_THE_INTERNET_V6 = ("fc00::/7", "fe80::/10", "::1/128")


def group_kind(kind: str) -> dict[str, str]:
    """`group/Kind` (core kinds without a group) as an AppProject's `{group, kind}`."""
    group, _, name = kind.rpartition("/")
    return {"group": group, "kind": name}


def ingress_host_rules(hosts: list[str]) -> list[dict[str, str]]:
    """The CEL validations that confine an Ingress to `hosts`: every rule names one of them, no default backend
    (it would answer for every host), TLS only for them. Traefik merges Ingress rules across namespaces, so a rule
    for another host (or none) would take that host's traffic."""
    listed = "[" + ", ".join(f"'{h}'" for h in hosts) + "]"
    allowed = ", ".join(hosts) if hosts else "none: the application owns no host (argocd.applications[].ingress)"
    return [
        {
            "expression": "!has(object.spec.defaultBackend)",
            "message": "an Ingress here may not have a defaultBackend: it would answer for every host",
        },
        {
            "expression": f"!has(object.spec.rules) || object.spec.rules.all(r, has(r.host) && r.host in {listed})",
            "message": f"every rule of an Ingress here names one of the application's hosts ({allowed})",
        },
        {
            "expression": f"!has(object.spec.tls) || object.spec.tls.all(t, has(t.hosts) && t.hosts.all(h, h in {listed}))",
            "message": f"every TLS entry of an Ingress here names only the application's hosts ({allowed})",
        },
    ]


def ingress_host_policy(name: str, namespace: str, hosts: list[str]) -> tuple[dict, dict]:
    """The `spec`s of the ValidatingAdmissionPolicy and its binding that hold `namespace`'s Ingresses to `hosts`."""
    policy = {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {"apiGroups": ["networking.k8s.io"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
                 "resources": ["ingresses"]}
            ]
        },
        "validations": ingress_host_rules(hosts),
    }
    binding = {
        "policyName": name,
        "validationActions": ["Deny"],
        "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}},
    }
    return policy, binding


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
        namespace = self._namespace(resource_name, args)
        self._traffic(resource_name, args, pulumi.ResourceOptions(parent=self, depends_on=[namespace]))
        binding = self._ingress_hosts(resource_name, args)
        # Argo CD syncs only once the namespace is fenced: its Ingresses confined, its traffic decided.
        fenced = pulumi.ResourceOptions(parent=self, depends_on=[*args.crds, namespace, binding])
        project = self._project(resource_name, args, fenced)
        self._application(resource_name, args, fenced, project)
        self.application_name = args.application.name
        self.register_outputs({"application_name": self.application_name})

    def _namespace(self, resource_name: str, args: DeliveredApplicationArgs) -> PlatformNamespace:
        """The application's namespace, kiban's (Argo CD does not create it): hardened, default-deny, at the Pod
        Security Standard the application's config asks for."""
        app = args.application
        return PlatformNamespace(
            f"{resource_name}-namespace",
            PlatformNamespaceArgs(
                name=app.namespace,
                cluster=args.cluster,
                part_of=app.name,
                pod_security=app.pod_security,
                pod_security_reason=app.pod_security_reason,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _ingress_hosts(
        self, resource_name: str, args: DeliveredApplicationArgs
    ) -> k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding:
        """The admission policy, and its binding to the namespace, that confine the namespace's Ingresses to the hosts
        the application owns (Traefik merges Ingress rules across namespaces)."""
        app = args.application
        policy_name = f"kiban-ingress-hosts-{app.namespace}"
        policy_spec, binding_spec = ingress_host_policy(policy_name, app.namespace, app.hosts())
        policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{resource_name}-ingress-hosts",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=policy_name,
                labels=MANAGED_BY,
                annotations={"kiban.dev/confines": f"the Ingresses of {app.namespace} to the hosts {app.name} owns"},
            ),
            spec=policy_spec,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{resource_name}-ingress-hosts",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=policy_name, labels=MANAGED_BY),
            spec=binding_spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

    def _project(
        self, resource_name: str, args: DeliveredApplicationArgs, fenced: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        """The AppProject that fences the application in: only its own repository, into its own namespace on this
        cluster, only the cluster-scoped kinds its config names and the application kinds."""
        app = args.application
        return k8s.apiextensions.CustomResource(
            f"{resource_name}-project",
            api_version=ARGO_API,
            kind="AppProject",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=app.name, namespace=ARGOCD_NAMESPACE),
            spec={
                "description": f"{app.name}: only its own repository, into its own namespace, only application kinds",
                "sourceRepos": [app.repo_url],
                "destinations": [{"server": IN_CLUSTER, "namespace": app.namespace}],
                "clusterResourceWhitelist": [group_kind(kind) for kind in app.cluster_resources],
                "namespaceResourceWhitelist": [group_kind(kind) for kind in app.namespaced_kinds()],
            },
            opts=fenced,
        )

    def _application(
        self,
        resource_name: str,
        args: DeliveredApplicationArgs,
        fenced: pulumi.ResourceOptions,
        project: k8s.apiextensions.CustomResource,
    ) -> None:
        """The Application that syncs the application from its repository into its namespace (by itself with prune
        and self-heal, or when a person says so), leaving alone the fields Image Updater writes back."""
        app = args.application
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
                "source": {
                    "repoURL": app.repo_url,
                    "path": app.path,
                    "targetRevision": app.target_revision,
                    # Said, not detected: Image Updater reads the type from the Application.
                    **({app.source_type: {}} if app.source_type != "directory" else {}),
                },
                "destination": {"server": IN_CLUSTER, "namespace": app.namespace},
                "syncPolicy": sync_policy,
            },
            opts=pulumi.ResourceOptions.merge(
                fenced,
                pulumi.ResourceOptions(
                    depends_on=[project],
                    ignore_changes=list(IMAGE_UPDATER_FIELDS) if args.image_updater_writes_back else None,
                ),
            ),
        )

    def _traffic(self, resource_name: str, args: DeliveredApplicationArgs, opts: pulumi.ResourceOptions) -> None:
        """The ingress controller to the application's ports, and the application out to what it names."""
        app = args.application
        pods = PodGroup(namespace=app.namespace, labels={})
        if app.ingress is not None:
            AllowTraffic(
                f"{resource_name}-from-ingress",
                AllowTrafficArgs(
                    source=args.cluster.ingress.source,
                    destination=pods,
                    ports=list(app.ingress.ports),
                    description=f"the ingress controller serves {', '.join(app.ingress.hosts)}",
                ),
                opts=opts,
            )
        rules: list[k8s.networking.v1.NetworkPolicyEgressRuleArgs] = []
        if app.egress.internet:
            rules.append(
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[
                        k8s.networking.v1.NetworkPolicyPeerArgs(
                            ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0", except_=list(NOT_THE_INTERNET))
                        ),
                        k8s.networking.v1.NetworkPolicyPeerArgs(
                            ip_block=k8s.networking.v1.IPBlockArgs(cidr="::/0", except_=list(NOT_THE_INTERNET_V6))
                        ),
                    ],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p) for p in app.egress.internet_ports],
                )
            )
        rules += [destination_rule(d) for d in app.egress.destinations]
        if rules:
            named = [d.name for d in app.egress.destinations]
            k8s.networking.v1.NetworkPolicy(
                f"{resource_name}-egress",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"allow-{app.name}-out",
                    namespace=app.namespace,
                    labels=MANAGED_BY,
                    annotations={
                        "kiban.dev/allows": ", ".join(
                            (["the internet"] if app.egress.internet else []) + named
                        )
                    },
                ),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                    policy_types=["Egress"],
                    egress=rules,
                ),
                opts=opts,
            )


def destination_rule(destination: EgressDestination) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    """One named destination as an egress rule."""
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=destination.cidr))],
        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p) for p in destination.ports],
    )
