"""Structural facts that keep the program cheap to run (its time is measured by `make bench`, never here).

Importing what `__main__.py` imports loads no SDK module that only some stacks use: pulumi_gcp's compute and
container packages (~0.6 s of CPU together) load only where a GKE cluster is declared, the Docker SDKs only for the
build PC's registry.

The dependency graph grows linearly with the applications Argo CD delivers. The Pulumi SDK expands a dependency on a component into one on every resource under it (pulumi/runtime/rpc.py
`_expand_dependencies`: "Local component resources act as aggregations of their descendents"), and the engine
walks every edge on each `up`. An application's shared-data access that waited on the whole SharedPostgres and
SharedValkey waited on every other application's login and database: 1,614 edges at 10 applications, 47,124 at 100.
"""

from __future__ import annotations

import ast
import copy
import re
import subprocess
import sys

from tools.bench import copies
from tools.mock_engine import ROOT, Deployment, run_program, stack_config

LOADED_WHERE_USED = ("pulumi_gcp.compute", "pulumi_gcp.container", "pulumi_docker", "pulumi_docker_build")


def test_the_programs_imports_load_no_sdk_that_only_some_stacks_use():
    tree = ast.parse((ROOT / "__main__.py").read_text())
    modules = sorted(
        {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
        | {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    )
    # pulumi_gcp loads its subpackages lazily: a subpackage is loaded once one of its modules is.
    probe = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(m for m in {LOADED_WHERE_USED!r} if any(k.startswith(m + '.') for k in sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout


def edges(deployment: Deployment) -> int:
    return sum(len(r.dependencies) for r in deployment.registrations)


def with_applications(count: int) -> Deployment:
    argocd = copy.deepcopy(stack_config("prod")["kiban:argocd"])
    (model,) = argocd["applications"]  # the stack's one application, with both shared stores
    assert set(model["sharedData"]) == {"postgres", "valkey"}
    argocd["applications"] = copies(model, count)
    return run_program("prod", {"kiban:argocd": argocd})


def test_dependency_edges_grow_linearly_with_the_applications():
    one, ten, hundred = run_program("prod"), with_applications(10), with_applications(100)
    per_application = (edges(ten) - edges(one)) / 9
    assert per_application < 100, f"{per_application} edges per application"
    assert edges(hundred) - edges(ten) == 90 * per_application, (edges(one), edges(ten), edges(hundred))


def test_an_applications_access_waits_on_its_own_login_not_on_the_others():
    deployment = with_applications(10)
    own = [r for r in deployment.registrations if r.name.startswith("app003-")]
    waits_on = {r.name: {urn.rsplit("::", 1)[1] for urn in r.dependencies} for r in own}
    # Its Secret (the connection Secrets, or the one in its manifests' shape) waits on its own login and database.
    assert any({"shared-postgres", "shared-postgres-app003", "shared-postgres-login-app003"} <= w for w in waits_on.values())
    others = {name: {d for d in w if re.search(r"app\d{3}", d) and "app003" not in d} for name, w in waits_on.items()}
    assert not any(others.values()), others
