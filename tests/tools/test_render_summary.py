"""The summary `make render` prints says what the stack really declares: no GPU claim for a workload without GPUs,
the TLS a GKE Ingress really has, made-up values marked as such, and objects by the names they have in the cluster."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest

from tools.manifests import manifests
from tools.mock_engine import ROOT, Deployment, run_program
from tools.render_summary import ingress, outputs, protection, summary, workloads


@pytest.fixture(scope="module")
def prod() -> tuple[Deployment, list[dict]]:
    deployment = run_program("prod")
    return deployment, manifests(deployment)


def _line(lines: list[str], start: str) -> str:
    (found,) = [line for line in lines if line.strip().startswith(start)]
    return found


def test_only_a_blue_green_workload_with_gpus_is_said_to_hold_them_twice(prod):
    lines = workloads(*prod)
    assert "GPU x1" in lines[lines.index(_line(lines, "face-recognition/face-api ")) + 3]
    assert "(both colours hold their GPUs during a switch)" in _line(lines, "face-recognition/face-api ")
    frontend = _line(lines, "face-recognition/frontend ")
    assert "(both colours run during a switch)" in frontend and "GPU" not in frontend


def test_a_gke_managed_certificate_is_tls_not_plain_http(prod):
    deployment, objects = prod
    (line,) = ingress(deployment, objects)[1:]
    assert (
        "(class gce, TLS from Google-managed certificate face-recognition (face.kiban.example.com); plain HTTP refused)"
        in line
    )
    without = [o for o in objects if o["kind"] != "ManagedCertificate"]
    assert "(not declared by this stack)" in ingress(deployment, without)[1]
    objects = copy.deepcopy(objects)
    next(o for o in objects if o["kind"] == "Ingress")["metadata"]["annotations"].pop(
        "networking.gke.io/managed-certificates"
    )
    assert "no TLS (plain HTTP)" in ingress(deployment, objects)[1]


def test_values_the_mock_engine_made_up_are_marked(prod):
    deployment, objects = prod
    images = [line for line in workloads(deployment, objects) if "docker.pkg.dev" in line]
    assert images and all("@sha256:" in line and "[mock digest]" in line for line in images)
    pinned = [line for line in workloads(deployment, objects) if "docker.io/library/busybox" in line]
    assert pinned and not any("[mock" in line for line in pinned), "a pinned image is what it says"
    shown = outputs(deployment, objects)
    assert "[mock digest]" in _line(shown, "images:")
    assert "[mock address]" in _line(shown, "ingressAddress:") and "[mock address]" in _line(shown, "dnsRecord:")
    assert "[mock" not in _line(shown, "url:")
    assert "[mock ...] marks a value the mock engine made up" in summary(deployment, objects, Path("out"))


def test_protected_and_retained_objects_go_by_their_kubernetes_names(prod):
    lines = protection(*prod)
    for shown in (
        "  Namespace shared-postgres",
        "  StatefulSet postgresql/postgres",
        "  PersistentVolumeClaim milvus/milvus-backup",
        "  Database shared-postgres/yomu",
        "  Cluster kiban (Pulumi name cluster)",
    ):
        assert shown in lines
    assert not any("shared-postgres-namespace" in line or "milvus-backup-volume" in line for line in lines)


def test_the_summary_counts_the_resources_and_their_dependencies(prod):
    from tools.bench import edges_reported

    deployment, objects = prod
    head = summary(deployment, objects, Path("out")).splitlines()[0]
    assert head.startswith(f"kiban stack 'prod': {len(deployment.registrations)} resources with ")
    assert edges_reported(head) == sum(len(r.dependencies) for r in deployment.registrations) > 100


def test_render_and_its_summary_do_not_import_each_other():
    def imported(path: Path) -> set[str]:
        tree = ast.parse(path.read_text())
        return {
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        } - {None}

    assert "tools.render" not in imported(ROOT / "tools" / "render_summary.py")
    assert "tools.render_summary" in imported(ROOT / "tools" / "render.py")
