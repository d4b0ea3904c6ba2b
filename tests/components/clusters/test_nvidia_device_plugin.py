"""NvidiaDevicePlugin: the official chart, pinned, on the nvidia RuntimeClass and only on GPU nodes."""

from __future__ import annotations

import pytest
import yaml

from components.clusters.nvidia_device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs
from versions import versions

CHART = versions().charts.nvidia_device_plugin


def test_chart_values_follow_the_cluster(declare, k3s_gpu_facts):
    deployment = declare(lambda opts: NvidiaDevicePlugin("gpu", NvidiaDevicePluginArgs(cluster=k3s_gpu_facts, chart=CHART), opts))
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    pinned = versions().charts.nvidia_device_plugin
    assert release.inputs["chart"] == pinned.chart and release.inputs["version"] == pinned.version
    assert release.inputs["repositoryOpts"] == {"repo": pinned.repository}
    assert release.inputs["namespace"] == "nvidia-device-plugin"
    values = release.inputs["values"]
    assert values["runtimeClassName"] == "nvidia"
    assert values["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["tolerations"]
    namespace = deployment.object("Namespace", "nvidia-device-plugin")["metadata"]
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert "from the host" in namespace["annotations"]["kiban.dev/pod-security-reason"]
    assert deployment.object("NetworkPolicy", "default-deny")["metadata"]["namespace"] == "nvidia-device-plugin"
    assert release.dependencies, "the release waits for its namespace"


def test_refused_without_gpu_nodes(declare, k3s_cpu_facts):
    with pytest.raises(ValueError, match="GPU nodes"):
        declare(lambda opts: NvidiaDevicePlugin("gpu", NvidiaDevicePluginArgs(cluster=k3s_cpu_facts, chart=CHART), opts))


def test_time_slicing_shares_each_gpu(declare, k3s_gpu_facts):
    deployment = declare(
        lambda opts: NvidiaDevicePlugin("gpu", NvidiaDevicePluginArgs(cluster=k3s_gpu_facts, chart=CHART, time_slicing_replicas=3), opts)
    )
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    config = yaml.safe_load(release.inputs["values"]["config"]["map"]["default"])
    assert config["version"] == "v1"
    assert config["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 3}]


def test_no_sharing_by_default(declare, k3s_gpu_facts):
    deployment = declare(lambda opts: NvidiaDevicePlugin("gpu", NvidiaDevicePluginArgs(cluster=k3s_gpu_facts, chart=CHART), opts))
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert "config" not in release.inputs["values"]


def test_time_slicing_lets_the_config_manager_reach_the_api_server(declare, k3s_gpu_facts):
    shared = declare(
        lambda opts: NvidiaDevicePlugin("gpu", NvidiaDevicePluginArgs(cluster=k3s_gpu_facts, chart=CHART, time_slicing_replicas=3), opts)
    )
    spec = shared.object("NetworkPolicy", "allow-gpu-config-manager-to-api-server")["spec"]
    assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "nvidia-device-plugin"}
    (rule,) = spec["egress"]
    assert rule["to"] == [{"ipBlock": {"cidr": "192.168.0.41/32"}}] and rule["ports"][0]["port"] == 6443
    whole = declare(lambda opts: NvidiaDevicePlugin("gpu", NvidiaDevicePluginArgs(cluster=k3s_gpu_facts, chart=CHART), opts))
    assert not [p for p in whole.objects("NetworkPolicy") if "api-server" in p["metadata"]["name"]], (
        "without a sharing config the plugin never calls the API"
    )
