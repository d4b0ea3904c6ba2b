"""`ChartOperator`: an operator (or controller) from its official Helm chart, in its own hardened namespace.

Argo CD, Argo Rollouts, Image Updater, CloudNativePG and NVIDIA's device plugin are all installed the same way: a
`PlatformNamespace` (Pod Security `restricted` unless a reason is given, default-deny), a NetworkPolicy that lets
the operator's pods call the API server (without it a controller in a default-deny namespace can watch nothing),
and a pinned `helm.v3.Release` that waits for both, so the pods reach the API server from their first start.

It declares those parts as children of the operator's own component rather than as a component of its own: a
component between them would change every part's URN, and a replaced Release or namespace on a running cluster
is an outage (the URN snapshots in `tests/snapshots/` hold them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import ClusterFacts
from components.kube.namespace import PlatformNamespace, PlatformNamespaceArgs, PodSecurityLevel
from components.kube.network_access import AllowApiServer, AllowApiServerArgs, PodGroup
from versions import PinnedChart


def with_values(values: Mapping[str, object], over: Mapping[str, object]) -> dict[str, object]:
    """`values` with `over` set into it, nested mappings merged key by key (neither is changed)."""
    merged = dict(values)
    for key, value in over.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = with_values(below, value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class OwnNamespace:
    """The namespace an operator gets to itself."""

    part_of: str
    """`app.kubernetes.io/part-of` of the namespace."""

    pod_security: PodSecurityLevel = "restricted"
    """Pod Security Standard enforced there. Default: `restricted`."""

    pod_security_reason: str | None = None
    """Why a level below `restricted` is needed (required for `baseline` and `privileged`). Default: unset."""


@dataclass(frozen=True)
class ApiServerAccess:
    """Why and under which name the operator's pods may call the API server."""

    policy: str
    """The policy's resource name after the operator's (`<name>-<policy>`, e.g. `controller-to-api-server`); the
    NetworkPolicy is named `allow-<name>-<policy>`."""

    description: str
    """What the pods do with the API (written on the policy)."""


@dataclass(frozen=True)
class ChartOperatorArgs:
    """Arguments of `ChartOperator`."""

    chart: PinnedChart
    """The pinned chart (required), from versions.json."""

    release_name: str
    """The Helm release's name (required); charts name their objects after it."""

    namespace: str
    """Where the release goes (required)."""

    cluster: ClusterFacts
    """The cluster (required): Pod Security version, DNS, where the API server is."""

    pod_labels: Mapping[str, str]
    """Labels that select the operator's pods (required; `{}`: every pod of the namespace)."""

    own_namespace: OwnNamespace | None
    """The namespace to create for it (required; `None`: the namespace exists already, e.g. Image Updater in Argo
    CD's)."""

    api_server: ApiServerAccess | None
    """The pods' access to the API server (required; `None`: they do not call it)."""

    timeout_seconds: int = 900
    """How long the Helm release may take (Helm's own default, 300 s, is short for a cold node). Default: 900."""

    after: Sequence[pulumi.Resource] = ()
    """What everything waits for besides its own namespace (e.g. the Argo CD release Image Updater joins).
    Default: nothing."""


class ChartOperator:
    """The namespace and the API-server access first; then `install` the release with its values.

    Declared as children of `parent` (see the module's docstring). `inside` orders other objects of the
    operator's namespace after it; `pods` selects the operator's pods for further policies.
    """

    namespace: PlatformNamespace | None
    """The operator's own namespace, if it has one."""

    pods: PodGroup
    """The operator's pods."""

    inside: pulumi.ResourceOptions
    """Options for other objects in the namespace: children of `parent`, after the namespace exists."""

    def __init__(self, resource_name: str, args: ChartOperatorArgs, parent: pulumi.Resource):
        self._name, self._args, self._parent = resource_name, args, parent
        self.pods = PodGroup(namespace=args.namespace, labels=dict(args.pod_labels))
        ready: list[pulumi.Resource] = list(args.after)
        self.namespace = None
        if args.own_namespace is not None:
            self.namespace = PlatformNamespace(
                f"{resource_name}-namespace",
                PlatformNamespaceArgs(
                    name=args.namespace,
                    cluster=args.cluster,
                    part_of=args.own_namespace.part_of,
                    pod_security=args.own_namespace.pod_security,
                    pod_security_reason=args.own_namespace.pod_security_reason,
                ),
                opts=pulumi.ResourceOptions(parent=parent, depends_on=list(args.after)),
            )
            ready.append(self.namespace)
        self.inside = pulumi.ResourceOptions(parent=parent, depends_on=list(ready))
        self._before_release = list(ready)
        if args.api_server is not None:
            self._before_release.append(
                AllowApiServer(
                    f"{resource_name}-{args.api_server.policy}",
                    AllowApiServerArgs(
                        pods=self.pods, api_server=args.cluster.api_server, description=args.api_server.description
                    ),
                    opts=self.inside,
                )
            )

    def install(self, values: Mapping[str, object], after: Sequence[pulumi.Resource] = ()) -> k8s.helm.v3.Release:
        """The Helm release, named like the operator, after its namespace, its API-server access and `after`; with
        the chart's pinned `appRelease`, if any, set over `values` (versions.json)."""
        chart = self._args.chart
        values = with_values(values, chart.app_release_values())
        return k8s.helm.v3.Release(
            self._name,
            k8s.helm.v3.ReleaseArgs(
                name=self._args.release_name,
                chart=chart.chart,
                version=chart.version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
                namespace=self._args.namespace,
                values=values,
                timeout=self._args.timeout_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=self._parent, depends_on=[*self._before_release, *after]),
        )
