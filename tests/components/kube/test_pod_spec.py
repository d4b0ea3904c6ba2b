"""pod_spec: the hardening building blocks refuse what kiban never runs."""

from __future__ import annotations

import pytest

from components.kube.pod_spec import (
    GpuRequest,
    ContainerSpec,
    RunAs,
    SecretFiles,
    container_volumes,
    pod_spec,
    volume_name,
)
from components.contracts.workloads import compute

R = compute("10m", "16Mi", "20m", "32Mi")


def test_root_is_refused():
    with pytest.raises(ValueError, match="root"):
        RunAs(user=0)
    with pytest.raises(ValueError, match="root"):
        RunAs(group=0)
    assert RunAs(fs_group=0).fs_group == 0, "group 0 for file access is allowed; the user never is root"


def test_volume_names_are_dns_labels():
    assert volume_name("app-w", "/var/cache/nginx") == "app-w-var-cache-nginx"
    assert volume_name("app-w", "/") == "app-w-root"
    long = volume_name("a-very-long-container-name-w", "/" + "x" * 80)
    assert len(long) <= 63 and not long.endswith("-")


def test_single_file_secret_mount():
    files = SecretFiles("config", "/etc/app/user.yaml", single_file="user.yaml")
    assert files.mounted_keys() == ("user.yaml",)
    (volume,) = container_volumes(ContainerSpec(name="app", image="r/a:1", resources=R, secret_files=[files], writable_paths=()))
    assert volume.secret.items[0].key == "user.yaml"
    with pytest.raises(ValueError, match="exactly the key"):
        SecretFiles("config", "/etc/app/user.yaml", keys=("other",), single_file="user.yaml")


def test_repeated_container_names_are_refused():
    spec = ContainerSpec(name="app", image="r/a:1", resources=R)
    with pytest.raises(ValueError, match="repeat"):
        pod_spec(containers=[spec], init_containers=[spec], run_as=RunAs())


def test_a_gpu_request_reserves_for_the_main_container_only_and_places_the_pod(k3s_gpu_facts):
    main = ContainerSpec(name="app", image="r/a:1", resources=R)
    sidecar = ContainerSpec(name="sidecar", image="r/s:1", resources=R)
    init = ContainerSpec(name="init", image="r/i:1", resources=R)
    pod = pod_spec(
        containers=[main, sidecar], init_containers=[init], run_as=RunAs(),
        gpu=GpuRequest(count=2, scheduling=k3s_gpu_facts.gpu),
    )
    limits = [c.resources.limits for c in (*pod.init_containers, *pod.containers)]
    assert [lim.get("nvidia.com/gpu") for lim in limits] == [None, "2", None]
    assert pod.runtime_class_name == "nvidia" and pod.node_selector == {"nvidia.com/gpu.present": "true"}
    without = pod_spec(containers=[main], run_as=RunAs())
    assert "nvidia.com/gpu" not in without.containers[0].resources.limits and without.node_selector is None



def test_container_defaults():
    pod = pod_spec(containers=[ContainerSpec(name="app", image="r/a:1", resources=R)], run_as=RunAs())
    assert pod.automount_service_account_token is False and pod.enable_service_links is False
    (container,) = pod.containers
    assert container.security_context.read_only_root_filesystem is True
    assert container.security_context.capabilities.drop == ["ALL"]
    assert container.image_pull_policy == "Always"


def test_image_pull_secrets_and_resolved_images_reach_the_pod():
    from components.contracts.images import DeployedImage

    resolved = DeployedImage(reference="r/a:latest@sha256:" + "c" * 64, configured="r/a:latest", pinned=True)
    spec = pod_spec(
        containers=[ContainerSpec(name="app", image=resolved, resources=R)],
        run_as=RunAs(),
        image_pull_secrets=["registry-pull"],
    )
    assert [s.name for s in spec.image_pull_secrets] == ["registry-pull"]
    assert spec.containers[0].image == resolved.reference
    assert spec.containers[0].image_pull_policy == "IfNotPresent", "a digest never changes: no pull on each start"
    assert pod_spec(containers=[ContainerSpec(name="app", image="r/a:1", resources=R)], run_as=RunAs()).image_pull_secrets is None
