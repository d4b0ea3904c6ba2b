"""`GkeNetwork`: the VPC a private GKE cluster needs: a VPC-native subnet, Cloud NAT for the nodes' egress, and the
firewall rule that lets the private control plane reach admission webhooks on the nodes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_gcp as gcp

from components.clusters.settings import GkeNetwork as GkeNetworkConfig

WEBHOOK_PORTS = ("443", "8443", "9443", "10250")
"""What the control plane calls on the nodes: admission webhooks (8443, 9443: CloudNativePG's and most charts'),
443 and the kubelet. Without a rule, a private control plane reaches only 443 and 10250, and webhooks time out.
The vendored charts (Argo CD, Rollouts, Image Updater) register no admission webhook today;
`tests/policy/test_helm_releases.py` fails when a rendered release serves one on a port missing here."""


@dataclass(frozen=True)
class GkeNetworkArgs:
    """Arguments of `GkeNetwork`."""

    name: str
    """Prefix of every resource's name (required)."""

    region: str
    """Region of the subnet and the router (required)."""

    ranges: GkeNetworkConfig
    """Node, pod, Service and control-plane ranges (required)."""

    after: Sequence[pulumi.Resource] = ()
    """What every resource waits for: the Compute API's Service (a component's own `depends_on` does not reach its
    children's registrations). Default: nothing."""


class GkeNetwork(pulumi.ComponentResource):
    """The cluster's VPC."""

    network: gcp.compute.Network
    subnet: gcp.compute.Subnetwork
    pods_range: str
    services_range: str

    def __init__(self, resource_name: str, args: GkeNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:cluster:GkeNetwork", resource_name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.after))
        self.pods_range, self.services_range = f"{args.name}-pods", f"{args.name}-services"
        self.network = gcp.compute.Network(f"{resource_name}-vpc", name=args.name, auto_create_subnetworks=False, opts=child)
        self.subnet = gcp.compute.Subnetwork(
            f"{resource_name}-nodes",
            name=f"{args.name}-nodes",
            region=args.region,
            network=self.network.id,
            ip_cidr_range=args.ranges.nodes,
            private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=self.pods_range, ip_cidr_range=args.ranges.pods),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=self.services_range, ip_cidr_range=args.ranges.services),
            ],
            opts=child,
        )
        router = gcp.compute.Router(
            f"{resource_name}-router", name=f"{args.name}-router", region=args.region, network=self.network.id, opts=child
        )
        gcp.compute.RouterNat(
            f"{resource_name}-nat",
            name=f"{args.name}-nat",
            router=router.name,
            region=args.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            opts=child,
        )
        gcp.compute.Firewall(
            f"{resource_name}-control-plane-to-webhooks",
            name=f"{args.name}-control-plane-to-webhooks",
            network=self.network.id,
            direction="INGRESS",
            source_ranges=[args.ranges.control_plane],
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=list(WEBHOOK_PORTS))],
            description="the private control plane calls admission webhooks and the kubelet on the nodes",
            opts=child,
        )
        self.register_outputs({"network": self.network.id, "subnet": self.subnet.id})
