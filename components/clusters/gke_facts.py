"""What every GKE cluster tells the components that deploy onto it, whether kiban created it or not."""

from __future__ import annotations

import dataclasses

from components.contracts.cluster import (
    ApiServerEndpoint,
    BackendHealthCheck,
    ClusterFacts,
    GpuScheduling,
    IngressBackends,
    IngressFacts,
    StorageProvisioner,
    Toleration,
    TrafficSource,
)

KUBE_DNS = TrafficSource(
    namespace_labels={"kubernetes.io/metadata.name": "kube-system"}, pod_labels={"k8s-app": "kube-dns"}
)
"""CoreDNS on K3s and kube-dns on GKE both carry `k8s-app: kube-dns`."""

GKE_DNS = TrafficSource(
    namespace_labels={"kubernetes.io/metadata.name": "kube-system"},
    pod_labels={"k8s-app": "kube-dns"},
    cidrs=("169.254.20.10/32", "169.254.169.254/32"),
)
"""How pods resolve names on GKE: kube-dns pods, NodeLocal DNSCache (hostNetwork, 169.254.20.10; on by default from
GKE 1.34.1) and, with Cloud DNS, the metadata server (169.254.169.254). A pod-selector peer never matches the two
link-local resolvers, so both are allowed as addresses too."""

GKE_KONNECTIVITY_AGENTS = TrafficSource(
    namespace_labels={"kubernetes.io/metadata.name": "kube-system"}, pod_labels={"k8s-app": "konnectivity-agent"}
)
"""Who calls an in-cluster admission webhook on GKE: the control plane reaches pods through its Konnectivity agents
(kube-system pods labelled `k8s-app: konnectivity-agent`, on the pod network), so the call arrives from an agent
pod's address, not the control-plane range (tigera/operator#5212: Calico's webhook policy had to admit these
agents on GKE and AKS). The control-plane range stays admitted for clusters that call directly."""

GKE_LOAD_BALANCER_RANGES = ("130.211.0.0/22", "35.191.0.0/16")
"""Google Front Ends and health checkers: where the load balancer's connections to a pod come from when it reaches
the pod directly (container-native load balancing, which a delivered application's own Services get by default on
a VPC-native cluster), or through the node the pod runs on."""

GKE_NO_NEG = {"cloud.google.com/neg": '{"ingress": false}'}
"""Instance groups, not NEGs, behind the Services kiban's Ingress routes to. GKE adds `{"ingress": true}` to a
Service that has no such annotation on a VPC-native cluster; ingress-gce reads the annotation as written
(pkg/controller/translator/translator.go, maybeEnableNEG: `sp.NEGEnabled = negAnnotation.NEGEnabledForIngress()`),
and a Service without NEGs must be a NodePort or LoadBalancer (ErrBadSvcType). Why: a blue/green switch moves the
active Service's selector, which detaches the old pods from a NEG before the new ones pass the load balancer's
health check (kubernetes/ingress-gce#638, argoproj/argo-rollouts#4772): 502s for the seconds in between. An
instance-group backend is health-checked on the node port (pkg/healthchecks/healthchecks.go, `new`:
`hc.Port = sp.NodePort`), which answers as long as any ready pod of the Service does, before and after a switch."""

GKE_NODE_PORT_HEALTH_CHECK = BackendHealthCheck(
    check_interval_seconds=10, timeout_seconds=5, healthy_threshold=2, unhealthy_threshold=3
)
"""The health check of each node behind a routed Service, through the Service's `BackendConfig`. ingress-gce's own for
an instance-group backend runs every readiness `periodSeconds` + 60 s, times out after the probe's `timeoutSeconds`
and needs 10 failures (pkg/translator/healthchecks.go: `DefaultHealthCheck`, `defaultUnhealthyThreshold = 10`,
`ApplyProbeSettingsToHC`), so a node that stays `Ready` but stops forwarding keeps its share of traffic for 10 x 70
s + 5 s, about 12 minutes. A BackendConfig's `healthCheck` overrides each field it sets, on create and on every sync
(pkg/healthchecks/healthchecks.go, `create`, `sync`; `HealthCheck.UpdateFromBackendConfig`). Chosen: every 10 s (the
readiness probe's period, and no shorter: ingress-gce adds 60 s to an instance-group interval because a short one
floods the nodes, as Google's probers check each node from several places per interval, each check one GET of the
probe's path forwarded to a pod), a 5 s timeout (the probe's), 3 failures to drop a node (the probe's failure
threshold: one lost or slow answer drops nothing) and 2 successes to take one back (a node that answers once between
failures gets no traffic): a node is out 3 x 10 s + 5 s = 35 s after it stops answering, close to ingress-gce's NEG
default (2 x 15 s + 15 s). No `port`: a BackendConfig port makes the check `USE_FIXED_PORT` on that number on every
node (`UpdateFromBackendConfig`), while without one the check keeps the Service's node port (`new`: `hc.Port =
sp.NodePort`), which the API server picks when it creates the Service, so no fixed number could name it."""

GKE_INGRESS_CLASS = "gce"
PD_BALANCED = StorageProvisioner(
    provisioner="pd.csi.storage.gke.io", parameters={"type": "pd-balanced"}, allow_volume_expansion=True
)


def gke_facts(
    *,
    kind: str,
    kubernetes_version: str,
    storage_class: str,
    api_server: ApiServerEndpoint,
    gpu_accelerator: str | None,
    ingress_class: str = GKE_INGRESS_CLASS,
    static_ip_name: str | None = None,
    managed_certificates: bool = False,
) -> ClusterFacts:
    """GKE: Persistent Disk CSI volumes, the GCE load balancer with instance-group backends (node ports, see
    `GKE_NO_NEG`), GPUs through accelerator node pools (GKE installs the driver and its own device plugin, and taints
    GPU nodes `nvidia.com/gpu`)."""
    gpu = (
        GpuScheduling(
            node_selector={"cloud.google.com/gke-accelerator": gpu_accelerator},
            tolerations=(Toleration("nvidia.com/gpu"),),
            runtime_class_name=None,
        )
        if gpu_accelerator
        else None
    )
    return ClusterFacts(
        kind=kind,
        kubernetes_version=kubernetes_version,
        storage_class=storage_class,
        storage_provisioner=PD_BALANCED,
        ingress=IngressFacts(
            class_name=ingress_class,
            class_as_annotation=True,
            source=TrafficSource(cidrs=GKE_LOAD_BALANCER_RANGES),
            backends=IngressBackends.NODE_PORTS,
            service_annotations=GKE_NO_NEG,
            backend_health_check=GKE_NODE_PORT_HEALTH_CHECK,
            https_only_annotations={"kubernetes.io/ingress.allow-http": "false"},
            static_ip_name=static_ip_name,
            managed_certificates=managed_certificates,
        ),
        dns_source=GKE_DNS,
        gpu=gpu,
        api_server=dataclasses.replace(api_server, proxy=GKE_KONNECTIVITY_AGENTS),
    )
