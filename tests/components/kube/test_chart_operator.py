"""ChartOperator: namespace, API-server access, then the pinned release, all children of the operator's component."""

from __future__ import annotations

import pulumi

from components.kube.chart_operator import ApiServerAccess, ChartOperator, ChartOperatorArgs, OwnNamespace, with_values
from versions import AppRelease, versions

CHART = versions().charts.argo_rollouts


class Holder(pulumi.ComponentResource):
    """Stands for an operator's own component."""

    def __init__(self, name: str, args: ChartOperatorArgs, opts: pulumi.ResourceOptions, **install):
        super().__init__("test:platform:Holder", name, None, opts)
        self.operator = ChartOperator(name, args, parent=self)
        self.operator.install({"replicas": 1}, **install)
        self.register_outputs({})


def operator_args(cluster, **overrides) -> ChartOperatorArgs:
    fields = dict(
        chart=CHART,
        release_name="thing",
        namespace="thing-system",
        cluster=cluster,
        pod_labels={"app.kubernetes.io/name": "thing"},
        own_namespace=OwnNamespace(part_of="thing"),
        api_server=ApiServerAccess("controller-to-api-server", "the controller watches things"),
        timeout_seconds=1200,
    )
    return ChartOperatorArgs(**{**fields, **overrides})


def test_namespace_api_access_and_release_under_the_operators_component(declare, k3s_cpu_facts):
    deployment = declare(lambda opts: Holder("thing", operator_args(k3s_cpu_facts), opts))
    (holder,) = deployment.of_type("test:platform:Holder")
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert release.name == "thing" and release.parent == holder.urn, "the release keeps the URN it had before"
    assert release.inputs["name"] == "thing" and release.inputs["namespace"] == "thing-system"
    assert (release.inputs["chart"], release.inputs["version"]) == (CHART.chart, CHART.version)
    assert release.inputs["repositoryOpts"] == {"repo": CHART.repository} and release.inputs["timeout"] == 1200
    (namespace,) = deployment.of_type("kiban:platform:PlatformNamespace")
    (api,) = deployment.of_type("kiban:network:AllowApiServer")
    assert (namespace.name, namespace.parent) == ("thing-namespace", holder.urn)
    assert (api.name, api.parent) == ("thing-controller-to-api-server", holder.urn)
    # A dependency on a component is a dependency on its resources (the SDK expands it).
    namespace_parts = {r.urn for r in deployment.registrations if r.parent == namespace.urn}
    api_policy = {r.urn for r in deployment.registrations if r.parent == api.urn}
    assert namespace_parts and api_policy
    assert namespace_parts | api_policy <= set(release.dependencies), "its pods reach the API server from the start"
    assert namespace_parts <= set(api.dependencies)
    labels = deployment.object("Namespace", "thing-system")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert deployment.object("NetworkPolicy", "default-deny")["metadata"]["namespace"] == "thing-system"
    policy = deployment.object("NetworkPolicy", "allow-thing-controller-to-api-server")
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "thing"}
    assert policy["metadata"]["annotations"]["kiban.dev/allows"] == "the controller watches things"


def test_in_an_existing_namespace_without_api_access(declare, k3s_cpu_facts):
    deployment = declare(
        lambda opts: Holder("thing", operator_args(k3s_cpu_facts, own_namespace=None, api_server=None), opts)
    )
    assert not deployment.of_type("kiban:platform:PlatformNamespace")
    assert not deployment.of_type("kiban:network:AllowApiServer")
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert release.inputs["namespace"] == "thing-system"


def test_the_charts_app_release_is_set_over_the_values(declare, k3s_cpu_facts):
    """versions.json's appRelease runs its patch release through the chart's own image-tag values; what the
    operator passes beside them stays."""
    chart = CHART.model_copy(update={"app_release": AppRelease.model_validate(
        {"version": "v1.9.7", "imageTagValues": ["controller.image.tag", "dashboard.image.tag"], "$comment": "why"})})

    class Tagged(Holder):
        def __init__(self, name, args, opts):
            pulumi.ComponentResource.__init__(self, "test:platform:Holder", name, None, opts)
            ChartOperator(name, args, parent=self).install({"replicas": 1, "controller": {"replicas": 2}})
            self.register_outputs({})

    deployment = declare(lambda opts: Tagged("thing", operator_args(k3s_cpu_facts, chart=chart), opts))
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert release.inputs["values"] == {
        "replicas": 1,
        "controller": {"replicas": 2, "image": {"tag": "v1.9.7"}},
        "dashboard": {"image": {"tag": "v1.9.7"}},
    }


def test_without_an_app_release_the_values_pass_unchanged(declare, k3s_cpu_facts):
    chart = CHART.model_copy(update={"app_release": None})
    deployment = declare(lambda opts: Holder("thing", operator_args(k3s_cpu_facts, chart=chart), opts))
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert release.inputs["values"] == {"replicas": 1}


def test_values_merge_nested_maps_without_changing_either():
    values, over = {"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"c": 9, "e": 4}}
    assert with_values(values, over) == {"a": {"b": 1, "c": 9, "e": 4}, "d": 3}
    assert values == {"a": {"b": 1, "c": 2}, "d": 3} and over == {"a": {"c": 9, "e": 4}}
