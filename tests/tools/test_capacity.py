"""The capacity section: what the rendered workloads request agrees with what the config refuses on."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from components.clusters.settings import ClusterConfig
from stack_config.loader import parse_stack_config
from tools.capacity import UnboundedVersions, demand, summary_lines
from tools.mock_engine import available_stacks, run_program, stack_config
from tools.manifests import manifests


def config_of(stack: str):
    raw = {k.split(":", 1)[1]: v for k, v in stack_config(stack).items() if k.startswith("kiban:")}
    return parse_stack_config(raw, stack)


@pytest.mark.parametrize("stack", available_stacks())
def test_gpu_demand_of_the_render_is_what_the_config_check_counts(stack):
    objects = manifests(run_program(stack))
    assert demand(objects).gpus == sum(config_of(stack).gpu_demand().values())


def test_dev_fits_its_homelab_and_says_so():
    objects = manifests(run_program("dev"))
    cluster = TypeAdapter(ClusterConfig).validate_python(stack_config("dev")["kiban:cluster"])
    lines = summary_lines(objects, cluster)
    assert any(line.strip().startswith("offered: CPU 6000m, memory 18.0Gi, GPU 3") for line in lines)
    assert not any("WARNING" in line for line in lines)
    wanted = demand(objects)
    assert 0 < wanted.cpu_millicores < 6000 and wanted.storage_bytes > 100 * 2**30


def test_requests_beyond_the_nodes_are_flagged():
    objects = manifests(run_program("dev", {"kiban:faceRecognition": {"gpu": True, "backend": {"onnxRuntime": "cuda"}, "milvus": {
        "resources": {"requests": {"cpu": "7", "memory": "4Gi"}, "limits": {"cpu": "8", "memory": "8Gi"}}}}}))
    cluster = TypeAdapter(ClusterConfig).validate_python(stack_config("dev")["kiban:cluster"])
    assert any("WARNING: CPU requests exceed" in line for line in summary_lines(objects, cluster))


def test_prod_counts_the_gke_pools():
    objects = manifests(run_program("prod"))
    cluster = TypeAdapter(ClusterConfig).validate_python(stack_config("prod")["kiban:cluster"])
    (offered,) = [line for line in summary_lines(objects, cluster) if "offered:" in line]
    assert "GPU 9 (pool g2-standard-8, 0 to 9 nodes)" in offered and "general pool e2-standard-4" in offered


def test_the_operators_postgres_instances_count_like_pods():
    prod = manifests(run_program("prod"))
    without = [o for o in prod if o["kind"] != "Cluster"]
    (cluster,) = [o for o in prod if o["kind"] == "Cluster"]
    instances, requests = cluster["spec"]["instances"], cluster["spec"]["resources"]["requests"]
    assert instances == 3
    more = demand(prod).cpu_millicores - demand(without).cpu_millicores
    assert more == instances * int(requests["cpu"].removesuffix("m"))
    assert demand(prod).storage_bytes - demand(without).storage_bytes == instances * 10 * 2**30
    assert any("shared-postgres/shared-postgres (CloudNativePG): x3" in line for line in demand(prod).lines)


def test_a_switch_runs_two_versions_and_no_more():
    dev = manifests(run_program("dev"))
    (api,) = [o for o in dev if o["kind"] == "Rollout" and o["metadata"]["name"] == "face-api"]
    assert any("face-recognition/face-api: x1" in line and "GPU 2" in line for line in demand(dev).lines)
    # Without the revision limit, each switch inside the scale-down delay keeps one more version up: no bound.
    del api["spec"]["strategy"]["blueGreen"]["scaleDownDelayRevisionLimit"]
    with pytest.raises(UnboundedVersions, match="face-api: no scaleDownDelayRevisionLimit"):
        demand(dev)
