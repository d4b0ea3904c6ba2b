"""Shared fixtures: cluster facts for each target kind, a way to run components under the mock engine, and the real
servers the tests run, one of each per test session (tests/servers.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

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
from components.clusters.settings import (  # noqa: E402
    GkeApiServer,
    HomelabNode,
    K3sApiServer,
    K3sCluster,
    K3sGpuNodes,
)
from tools.mock_engine import Deployment, run_under_mocks  # noqa: E402
from tests import servers  # noqa: E402


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


def pytest_report_header(config) -> list[str]:
    """Which real servers this run uses (installed by `make tools`), and the images each stands in for."""
    lines = []
    for key in servers.INSTALL_NAMES:
        pin = servers.install_tools.pinned_tool(key)
        if not servers.tool_path(pin["binary"]).exists():
            lines.append(f"real server: {pin['binary']} is not installed (make tools)")
            continue
        try:
            lines.append("real server: " + servers.InstalledServer(key, servers.tool_path(pin["binary"]).resolve(),
                                                                   servers.install_tools.server_version(pin["binary"])).describe())
        except SystemExit as failed:
            lines.append(f"real server: {failed}")
    return lines


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[servers.PostgreSQL]:
    """The session's PostgreSQL (one initdb; tests/servers.py PostgreSQL)."""
    root = servers.scratch_folder("kiban-postgresql-")
    try:
        server = servers.PostgreSQL(servers.InstalledServer.find("postgresql"), root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def valkey_server(tmp_path_factory) -> Iterator[servers.Valkey]:
    """The session's Valkey, running the shared Valkey's generated configuration and ACL (tests/servers.py Valkey)."""
    server = servers.Valkey(servers.InstalledServer.find("valkeyServer"), tmp_path_factory.mktemp("valkey"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def registry_server() -> servers.RegistryBinary:
    """The registry image's binary, or the distribution's older major standing in (the run's header says which),
    found and checked once per session (tests/servers.py RegistryBinary)."""
    return servers.RegistryBinary(servers.InstalledServer.find("dockerRegistry"))


@pytest.fixture(scope="session")
def nginx_server() -> servers.Nginx:
    """nginx, found and checked once per session (tests/servers.py Nginx)."""
    return servers.Nginx(servers.InstalledServer.find("nginx"))
