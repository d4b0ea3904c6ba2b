"""Shared fixtures: cluster facts for each target kind, and a way to run components under the mock engine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components.contracts.cluster import ClusterFacts  # noqa: E402
from components.clusters.gke_facts import gke_facts  # noqa: E402
from components.clusters.k3s_target import k3s_facts  # noqa: E402
from components.contracts.cluster import ApiServerEndpoint  # noqa: E402
from stack_config.cluster import (  # noqa: E402
    GkeApiServer,
    HomelabNode,
    K3sApiServer,
    K3sCluster,
    K3sGpuNodes,
)
from tools.mock_engine import Deployment, run_under_mocks  # noqa: E402


K3S_API = K3sApiServer(addresses=["192.168.0.41/32"])
GPU_NODES = [HomelabNode(name="gpu-node", cpu="4", memory="16Gi", gpus=1)]
GKE_API = GkeApiServer(addresses=["172.16.0.2/32"])


@pytest.fixture
def k3s_gpu_facts() -> ClusterFacts:
    return k3s_facts(K3sCluster(kind="k3s", context="homelab", api_server=K3S_API, nodes=GPU_NODES, gpu=K3sGpuNodes()))


@pytest.fixture
def k3s_cpu_facts() -> ClusterFacts:
    return k3s_facts(K3sCluster(kind="k3s", context="homelab", api_server=K3S_API))


@pytest.fixture
def gke_gpu_facts() -> ClusterFacts:
    return gke_facts(
        kind="existing-gke",
        kubernetes_version="1.35",
        storage_class="standard-rwo",
        api_server=ApiServerEndpoint(cidrs=("172.16.0.2/32",), port=443),
        gpu_accelerator="nvidia-l4",
    )


@pytest.fixture
def declare() -> Callable[[Callable[[pulumi.ResourceOptions], Any]], Deployment]:
    """Run `build(opts)` under mocks; `opts` carries explicit Kubernetes and random providers, as the program's do."""

    def run(build: Callable[[pulumi.ResourceOptions], Any]) -> Deployment:
        def program() -> None:
            providers = [k8s.Provider("test-cluster", context="test"), pulumi_random.Provider("test-random")]
            build(pulumi.ResourceOptions(providers=providers))

        return run_under_mocks(program)

    return run
