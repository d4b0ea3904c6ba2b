"""`GkeTarget`: the GKE Standard cluster kiban creates for prod: the APIs it needs, its VPC, a private regional
cluster (Workload Identity, Dataplane V2, shielded nodes, a maintenance window, deletion protection), a general
pool and a GPU pool that scales to zero, each with its own least-privilege service account, a reserved address for
the Ingress, and the Kubernetes provider for it. It yields the same cluster contract as every other target."""

from __future__ import annotations

import json

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.clusters.gke_facts import gke_facts
from components.clusters.gke_network import GkeNetwork, GkeNetworkArgs
from components.contracts.cluster import ApiServerEndpoint, ClusterFacts
from components.clusters.settings import GkeCluster, GkePool

APIS = (
    "container.googleapis.com", "compute.googleapis.com", "iam.googleapis.com", "iamcredentials.googleapis.com",
    "sts.googleapis.com", "artifactregistry.googleapis.com", "logging.googleapis.com", "monitoring.googleapis.com",
    "cloudresourcemanager.googleapis.com",
)
"""The APIs the stack calls, enabled before anything that calls them (`after_apis`): a fresh project has none of
them on. `cloudresourcemanager` serves every project-level IAM binding (`projects.IAMMember` reads and writes the
project's policy through it); terraform-google-kubernetes-engine's own test setup enables it beside `container`.
Service Usage itself, which enables the others, is on in every new project."""
NODE_ROLES = (
    "roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer", "roles/artifactregistry.reader",
)
"""What a node needs: write its logs and metrics, read its images. Nothing else (not the default compute account)."""
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
"""A plain mapping (NodePoolNodeConfigTaintArgsDict): the Args class at import would load pulumi_gcp.container,
~0.13 s of CPU, on every stack, K3s ones included."""


def kubeconfig(name: str, dns_endpoint: str) -> str:
    """A kubeconfig for the cluster's DNS-based endpoint, authenticated by `gke-gcloud-auth-plugin` with whatever
    Google identity runs it (a person's gcloud login, or CI's Workload Identity Federation). The DNS endpoint is
    served with a publicly trusted certificate and checked with IAM, so no IP allow-list is needed."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": f"https://{dns_endpoint}"}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "gke-gcloud-auth-plugin",
                            "installHint": "gcloud components install gke-gcloud-auth-plugin",
                            "provideClusterInfo": True,
                        }
                    },
                }
            ],
        }
    )


class GkeTarget(pulumi.ComponentResource):
    """A GKE cluster kiban creates, reached through its DNS endpoint."""

    provider: k8s.Provider
    """Provider every Kubernetes resource of the stack uses."""

    facts: ClusterFacts
    """What components need to know about this cluster."""

    gcp_provider: gcp.Provider
    """The explicit provider of the stack's project and region."""

    cluster: gcp.container.Cluster
    gpu_pool: gcp.container.NodePool | None
    ingress_address: gcp.compute.GlobalAddress
    """The reserved address of the Ingress's load balancer (point the host's DNS record at it)."""
    node_service_accounts: dict[str, gcp.serviceaccount.Account]
    node_pools: list[gcp.container.NodePool]
    """The general pool and, with `gpu`, the GPU pool: Kubernetes workloads need their nodes, not just the cluster."""

    apis: list[gcp.projects.Service]
    """The enabled APIs. Every GCP resource of the stack, here or in other components, depends on them
    (`after_apis`): with implicit dependencies only, a fresh project fails with SERVICE_DISABLED."""

    def __init__(self, resource_name: str, config: GkeCluster, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:cluster:GkeCluster", resource_name, None, opts)
        self.gcp_provider = gcp_provider = gcp.Provider(
            f"{resource_name}-gcp", project=config.project, region=config.region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_gcp = pulumi.ResourceOptions(parent=self, provider=gcp_provider)
        self.apis = self._apis(resource_name, config, on_gcp)
        after_apis = pulumi.ResourceOptions.merge(on_gcp, self.after_apis())
        network = GkeNetwork(
            f"{resource_name}-network",
            GkeNetworkArgs(name=config.name, region=config.region, ranges=config.network, after=self.apis),
            opts=on_gcp,
        )
        self.node_service_accounts = self._node_service_accounts(resource_name, config, after_apis)
        self.cluster = self._cluster(resource_name, config, network, after_apis)
        self.node_pools = [self._pool(resource_name, "general", config, config.general_pool, after_apis)]
        self.gpu_pool = self._pool(resource_name, "gpu", config, config.gpu, after_apis) if config.gpu else None
        if self.gpu_pool is not None:
            self.node_pools.append(self.gpu_pool)
        self.ingress_address = gcp.compute.GlobalAddress(
            f"{resource_name}-ingress-address", name=f"{config.name}-ingress", project=config.project, opts=after_apis
        )
        self.provider = self._kubernetes_provider(resource_name, config)
        self.facts = self._facts(config)
        self.register_outputs({"cluster": self.cluster.name, "ingressAddress": self.ingress_address.address})

    @staticmethod
    def _apis(resource_name: str, config: GkeCluster, on_gcp: pulumi.ResourceOptions) -> list[gcp.projects.Service]:
        """The APIs the stack calls (`APIS`), enabled; a destroy leaves them on (`disable_on_destroy=False`)."""
        return [
            gcp.projects.Service(f"{resource_name}-api-{api.split('.')[0]}", project=config.project, service=api,
                                 disable_on_destroy=False, opts=on_gcp)
            for api in APIS
        ]

    @staticmethod
    def _node_service_accounts(
        resource_name: str, config: GkeCluster, after_apis: pulumi.ResourceOptions
    ) -> dict[str, gcp.serviceaccount.Account]:
        """A least-privilege service account for each pool's nodes (general, gpu): `NODE_ROLES` and nothing else,
        not the default compute account."""
        accounts = {}
        for pool in ("general", "gpu"):
            account = gcp.serviceaccount.Account(
                f"{resource_name}-{pool}-nodes", account_id=f"{config.name}-{pool}-nodes",
                display_name=f"{config.name} {pool} nodes", project=config.project, opts=after_apis,
            )
            for role in NODE_ROLES:
                gcp.projects.IAMMember(
                    f"{resource_name}-{pool}-nodes-{role.split('/')[1].replace('.', '-')}",
                    project=config.project, role=role, member=account.email.apply(lambda e: f"serviceAccount:{e}"),
                    opts=after_apis,
                )
            accounts[pool] = account
        return accounts

    @staticmethod
    def _cluster(
        resource_name: str, config: GkeCluster, network: GkeNetwork, after_apis: pulumi.ResourceOptions
    ) -> gcp.container.Cluster:
        """The private regional cluster on `network` (VPC-native, private nodes; a DNS endpoint, and an IP endpoint
        for `authorizedNetworks`): Workload Identity, Dataplane V2, shielded nodes, the release channel, a daily
        maintenance window; protected and with deletion protection; its default pool removed (the pools follow)."""
        hour, minute = config.maintenance_window.split(":")
        return gcp.container.Cluster(
            resource_name,
            name=config.name,
            project=config.project,
            location=config.region,
            network=network.network.id,
            subnetwork=network.subnet.id,
            remove_default_node_pool=True,
            initial_node_count=1,
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=network.pods_range,
                services_secondary_range_name=network.services_range,
            ),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=False,
                master_ipv4_cidr_block=config.network.control_plane,
            ),
            control_plane_endpoints_config=gcp.container.ClusterControlPlaneEndpointsConfigArgs(
                dns_endpoint_config=gcp.container.ClusterControlPlaneEndpointsConfigDnsEndpointConfigArgs(
                    allow_external_traffic=True
                ),
                ip_endpoints_config=gcp.container.ClusterControlPlaneEndpointsConfigIpEndpointsConfigArgs(enabled=True),
            ),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[
                    gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=c, display_name=c)
                    for c in config.authorized_networks
                ],
            ),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=f"{config.project}.svc.id.goog"
            ),
            datapath_provider="ADVANCED_DATAPATH",  # Dataplane V2 enforces NetworkPolicies
            enable_shielded_nodes=True,
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=config.release_channel),
            min_master_version=config.kubernetes_version,
            maintenance_policy=gcp.container.ClusterMaintenancePolicyArgs(
                daily_maintenance_window=gcp.container.ClusterMaintenancePolicyDailyMaintenanceWindowArgs(
                    start_time=f"{hour}:{minute}"
                )
            ),
            deletion_protection=True,
            opts=pulumi.ResourceOptions.merge(
                after_apis,
                pulumi.ResourceOptions(
                    protect=True,
                    # GKE fills these in itself: the removed default pool's node config and size. The versions
                    # belong to the release channel once the cluster exists (`minMasterVersion` is only the version
                    # it is created at; kiban:cluster.kubernetesVersion says so). Ignoring them keeps a second
                    # preview empty.
                    ignore_changes=["nodeConfig", "initialNodeCount", "minMasterVersion", "nodeVersion"],
                ),
            ),
        )

    def _kubernetes_provider(self, resource_name: str, config: GkeCluster) -> k8s.Provider:
        """The Kubernetes provider, through the cluster's DNS endpoint (kubeconfig as a secret), after the cluster
        and its node pools."""
        dns_endpoint = self.cluster.control_plane_endpoints_config.apply(
            lambda c: c.dns_endpoint_config.endpoint if c and c.dns_endpoint_config else ""
        )
        return k8s.Provider(
            f"{resource_name}-kubernetes",
            kubeconfig=pulumi.Output.secret(dns_endpoint.apply(lambda e: kubeconfig(config.name, e))),
            cluster_identifier=f"gke/{config.project}/{config.region}/{config.name}",
            enable_secret_mutable=True,
            upsert_existing_objects=False,
            # Every Helm release and object waits for nodes to run on: the default pool is removed, so a cluster
            # alone has none.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster, *self.node_pools]),
        )

    @staticmethod
    def _facts(config: GkeCluster) -> ClusterFacts:
        """What components need to know of this cluster: its API server's range, GPU accelerator, static ingress
        address and managed certificates."""
        return gke_facts(
            kind=config.kind,
            kubernetes_version=config.kubernetes_version,
            storage_class=config.storage_class,
            # Pods reach the control plane's private endpoint, inside the control-plane range, on 443.
            api_server=ApiServerEndpoint(cidrs=(config.network.control_plane,), port=443),
            gpu_accelerator=config.gpu.accelerator if config.gpu else None,
            static_ip_name=f"{config.name}-ingress",
            managed_certificates=True,
        )

    def after_apis(self) -> pulumi.ResourceOptions:
        """Options that make a GCP resource wait for the project's APIs (merge them with the resource's own)."""
        return pulumi.ResourceOptions(depends_on=list(self.apis))

    def _pool(
        self, resource_name: str, pool: str, config: GkeCluster, settings: GkePool, on_gcp: pulumi.ResourceOptions
    ) -> gcp.container.NodePool:
        """One autoscaled node pool on its own service account; the `gpu` one with its accelerator, taint and driver,
        in the zones that offer its machine type, and protected."""
        gpu = config.gpu if pool == "gpu" else None
        if gpu is not None:
            # The GPU pool's limits are totals over its zones, and the autoscaler adds a node in whichever zone has
            # an L4 to give ("ANY"), as terraform-google-kubernetes-engine does with total_min/max_count. Per-zone
            # limits would multiply the maximum by the number of zones.
            autoscaling = gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=gpu.min_nodes, total_max_node_count=gpu.max_nodes, location_policy="ANY"
            )
        else:
            autoscaling = gcp.container.NodePoolAutoscalingArgs(
                min_node_count=settings.min_nodes, max_node_count=settings.max_nodes
            )
        return gcp.container.NodePool(
            f"{resource_name}-{pool}-pool",
            name=f"{config.name}-{pool}",
            project=config.project,
            location=config.region,
            # The GPU pool lives only in the zones that offer its machine type (a regional pool otherwise asks every
            # zone of the region for it, and fails in one without); the config refuses a region with none.
            node_locations=config.gpu_zones() if gpu else None,
            cluster=self.cluster.name,
            autoscaling=autoscaling,
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=settings.machine_type,
                service_account=self.node_service_accounts[pool].email,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                spot=gpu.spot if gpu else None,
                guest_accelerators=[
                    gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                        type=gpu.accelerator,
                        count=gpu.gpus_per_node,
                        gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                            gpu_driver_version=gpu.driver_version
                        ),
                    )
                ] if gpu else None,
                taints=[GPU_TAINT] if gpu else None,
            ),
            opts=pulumi.ResourceOptions.merge(
                on_gcp,
                pulumi.ResourceOptions(
                    protect=gpu is not None,
                    # GKE adds the GPU taint to GPU pools itself; its copy must not show as a diff of ours.
                    ignore_changes=["nodeConfig.taints"] if gpu else None,
                ),
            ),
        )
