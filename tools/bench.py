"""`make bench`: what `make render STACK=prod` costs against a floor program, and what each delivered application adds.

Every run is a fresh interpreter, measured for its CPU time (user + system, with the `helm` it runs) and its wall
time. Runs are paired, each round running every program once (floor, render, floor, render, ...), so both see the
same machine; CPU medians are the figure to read on a shared machine, wall medians stand beside them.

- floor: `pulumi`, `pulumi_kubernetes` and `pulumi_random` (the SDKs every stack's program loads) declaring one
  Namespace under the SDK's own mock monitor, run as the engine runs a program (`run_in_stack`); collection off,
  as in the program.
- floor with the stack's SDKs: the same, also importing every other Pulumi SDK package the stack's run loads (for
  prod, pulumi_gcp's compute, container, IAM... packages), so the render's cost splits into Python and Pulumi's
  start, the SDKs the stack needs, and kiban's own work.
- program: the program under the mock engine and the manifests it declares (`run_program`, `manifests`), nothing
  written and no summary: the issue's "program + manifests" row (the mock monitor's own work included).
- render: `python -m tools.render --stack prod --out <tmp>`, which `make render` runs (without `uv run`'s own
  start): the program under the mock engine, one YAML file per object, the summary with its `helm template` runs.
- scaling: the same render of a copy of the stack whose delivered applications are 0, 10, 50 and 100 copies of its
  first one (both shared stores each); the marginal CPU per application between the counts, and the dependency
  edges the render reports.

Writes `rendered/bench.json`. Performance is measured here, never asserted in timed tests.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent
FLOOR_SDKS = ("pulumi", "pulumi_kubernetes", "pulumi_random")
SCALE = (0, 10, 50, 100)

FLOOR = """
import gc
gc.disable()
import importlib
import pulumi, pulumi_kubernetes as k8s, pulumi_random
from pulumi.runtime import mocks, settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await
for module in {extra!r}:
    hasattr(importlib.import_module(module), "_load_")  # an SDK's lazily imported package loads on first use
declared = []
class Mocks(mocks.Mocks):
    def new_resource(self, args):
        declared.append(args.typ)
        return args.name + "-id", dict(args.inputs)
    def call(self, args):
        return {{}}, None
pulumi.runtime.set_mocks(Mocks(), project="floor", stack="floor", preview=False)
settings.ROOT.set(None)
def program():
    provider = k8s.Provider("floor", context="floor")
    k8s.core.v1.Namespace("floor", metadata={{"name": "floor"}}, opts=pulumi.ResourceOptions(provider=provider))
_sync_await(run_in_stack(program))
assert "kubernetes:core/v1:Namespace" in declared, declared
print("declared", *declared)
gc.freeze()
"""
"""The floor program; `extra` names the SDK modules it imports beyond `FLOOR_SDKS` (none for the plain floor)."""

PROGRAM = """
import gc
gc.disable()  # as tools.render does
from tools.manifests import manifests
from tools.mock_engine import run_program
print("objects", len(manifests(run_program({stack!r}))))
gc.freeze()
"""
"""The program and its manifests, as `make render` runs them, without writing them or the summary."""

SDKS_OF_A_RUN = """
import json, sys, types
from tools.mock_engine import run_program
run_program({stack!r})
print(json.dumps(sorted(
    name for name, module in list(sys.modules.items())
    if name.startswith("pulumi_") and type(module) is types.ModuleType  # loaded, not a lazy stand-in
    and module.__spec__ is not None and module.__spec__.submodule_search_locations is not None
)))
"""
"""Prints the SDK packages, subpackages included (pulumi_gcp.compute, pulumi_kubernetes.apps.v1), a run loaded."""


@dataclass(frozen=True)
class Run:
    cpu: float
    wall: float
    stdout: str


def run(argv: list[str]) -> Run:
    """Run `argv` (a Python command) in a fresh process from the project; its CPU time includes what it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed:\n{result.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(cpu=cpu, wall=wall, stdout=result.stdout)


def floor_argv(extra: tuple[str, ...] = ()) -> list[str]:
    return ["-c", FLOOR.format(extra=list(extra))]


def program_argv(stack: str) -> list[str]:
    return ["-c", PROGRAM.format(stack=stack)]


def render_argv(stack: str, out: Path, project_dir: Path | None = None) -> list[str]:
    argv = ["-m", "tools.render", "--stack", stack, "--out", str(out)]
    return argv + ["--project-dir", str(project_dir)] if project_dir else argv


def sdks_of(stack: str) -> tuple[str, ...]:
    """The SDK packages a run of `stack` loads beyond the floor's (one untimed run)."""
    loaded = json.loads(run(["-c", SDKS_OF_A_RUN.format(stack=stack)]).stdout.strip().splitlines()[-1])
    return tuple(m for m in loaded if m not in FLOOR_SDKS)


def copies(model: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """`count` copies of the delivered application `model` (as a stack file writes it), each with a name, a namespace
    and ingress hosts of its own (a host has one owner). Each is its own object: shared objects would be written as
    YAML aliases, which the stack file reader limits."""
    made = []
    for index in range(count):
        name = f"app{index:03d}"
        application = {**copy.deepcopy(model), "name": name, "namespace": name}
        if application.get("ingress", {}).get("hosts"):
            application["ingress"]["hosts"] = [f"{name}.{host}" for host in application["ingress"]["hosts"]]
        made.append(application)
    return made


def with_applications(stack: str, count: int, into: Path) -> Path:
    """A project folder whose stack file is `stack`'s with `count` copies of its first delivered application."""
    raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    argocd = raw["config"]["kiban:argocd"]
    argocd["applications"] = copies(argocd["applications"][0], count)
    folder = into / f"{stack}-{count}-applications"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (folder / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder


def grouped(modules: tuple[str, ...]) -> str:
    """`pulumi_gcp (compute, iam), pulumi_tls` for pulumi_gcp, pulumi_gcp.compute, pulumi_gcp.iam, pulumi_tls."""
    tops: dict[str, list[str]] = {}
    for module in modules:
        top, _, rest = module.partition(".")
        parts = tops.setdefault(top, [])
        if rest and not any(other.startswith(f"{top}.{rest}.") for other in modules):
            parts.append(rest)  # the deepest loaded package only: apps.v1, not apps as well
    return ", ".join(f"{top} ({', '.join(parts)})" if parts else top for top, parts in tops.items()) or "none"


def edges_reported(summary: str) -> int:
    found = re.search(r"(\d+) resources with (\d+) dependencies", summary)
    if found is None:
        raise RuntimeError(f"the render reported no dependency count:\n{summary[:500]}")
    return int(found.group(2))


def paired(programs: dict[str, Callable[[], Run]], rounds: int) -> dict[str, list[Run]]:
    """Each round runs every program once, in order: A B A B ..."""
    runs: dict[str, list[Run]] = {name: [] for name in programs}
    for _ in range(rounds):
        for name, program in programs.items():
            runs[name].append(program())
    return runs


def medians(runs: list[Run]) -> dict[str, Any]:
    return {
        "cpu_median": statistics.median(r.cpu for r in runs),
        "wall_median": statistics.median(r.wall for r in runs),
        "cpu": [round(r.cpu, 3) for r in runs],
        "wall": [round(r.wall, 3) for r in runs],
    }


def machine() -> dict[str, Any]:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor(),
    ) if Path("/proc/cpuinfo").exists() else platform.processor()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="minutes"),
        "cpu": model,
        "cores": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds of the floor/render pairs (default 5)")
    parser.add_argument("--scale-runs", type=int, default=3, help="rounds of the scaling renders (default 3; 0: none)")
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--out", type=Path, default=ROOT / "rendered" / "bench.json", help="where the figures go")
    args = parser.parse_args(argv)
    started = machine()

    (ROOT / "rendered").mkdir(exist_ok=True)
    # Beside where `make render` writes (rendered/<stack>), on the same file system: file creation is part of it.
    with tempfile.TemporaryDirectory(prefix=".bench-", dir=ROOT / "rendered") as scratch:
        work = Path(scratch)
        stack_sdks = sdks_of(args.stack)
        runs = paired(
            {
                "floor": lambda: run(floor_argv()),
                "floor_with_stack_sdks": lambda: run(floor_argv(stack_sdks)),
                "program": lambda: run(program_argv(args.stack)),
                "render": lambda: run(render_argv(args.stack, work / "render")),
            },
            args.runs,
        )
        projects = {count: with_applications(args.stack, count, work) for count in SCALE}
        scaling = paired(
            {count: (lambda c=count: run(render_argv(args.stack, work / f"out-{c}", projects[c]))) for count in SCALE},
            args.scale_runs,
        ) if args.scale_runs else {}

    result: dict[str, Any] = {
        "machine": started,
        "load_average_after": [round(x, 1) for x in os.getloadavg()],
        "stack": args.stack,
        "rounds": args.runs,
        "floor_sdks": list(FLOOR_SDKS),
        "stack_sdks": list(stack_sdks),
        **{name: medians(series) for name, series in runs.items()},
    }
    floor, render = result["floor"]["cpu_median"], result["render"]["cpu_median"]
    result["ratio_cpu"] = render / floor
    result["ratio_wall"] = result["render"]["wall_median"] / result["floor"]["wall_median"]  # the same rounds
    result["ratio_cpu_to_floor_with_stack_sdks"] = render / result["floor_with_stack_sdks"]["cpu_median"]
    program = result["program"]["cpu_median"]
    result["program_ratio_cpu"] = program / floor
    result["program_ratio_cpu_to_floor_with_stack_sdks"] = program / result["floor_with_stack_sdks"]["cpu_median"]
    lines = [
        f"machine: {started['cpu']}, {started['cores']} cores, Python {started['python']}, {started['date']}, "
        f"load average {started['load_average'][0]} before, {result['load_average_after'][0]} after",
        f"floor ({' + '.join(FLOOR_SDKS)}, one Namespace under the SDK's mock monitor): "
        f"CPU {floor:.2f}s, wall {result['floor']['wall_median']:.2f}s",
        f"floor + the other SDK packages the {args.stack} run loads, {grouped(stack_sdks)}: "
        f"CPU {result['floor_with_stack_sdks']['cpu_median']:.2f}s",
        f"make render STACK={args.stack} (python -m tools.render): CPU {render:.2f}s, wall "
        f"{result['render']['wall_median']:.2f}s; {result['ratio_cpu']:.2f}x the floor in CPU "
        f"({result['ratio_wall']:.2f}x in wall), {result['ratio_cpu_to_floor_with_stack_sdks']:.2f}x the floor with "
        f"the stack's SDKs ({args.runs} paired rounds, medians)",
        f"program + manifests only (run_program, manifests; no files, no summary): CPU {program:.2f}s; "
        f"{result['program_ratio_cpu']:.2f}x the floor, {result['program_ratio_cpu_to_floor_with_stack_sdks']:.2f}x the "
        "floor with the stack's SDKs",
    ]
    if scaling:
        result["scaling"] = {
            str(count): {**medians(series), "dependency_edges": edges_reported(series[0].stdout)}
            for count, series in scaling.items()
        }
        cpu = {count: result["scaling"][str(count)]["cpu_median"] for count in SCALE}
        steps = list(zip(SCALE, SCALE[1:], strict=False))
        result["marginal_cpu_ms_per_application"] = {
            f"{a}-{b}": (cpu[b] - cpu[a]) / (b - a) * 1000 for a, b in steps
        } | {"10-100": (cpu[100] - cpu[10]) / 90 * 1000}
        lines.append(f"scaling ({args.scale_runs} paired rounds, medians): applications, CPU, dependency edges")
        lines += [
            f"  {count:>4}  {cpu[count]:6.2f}s  {result['scaling'][str(count)]['dependency_edges']:>7}" for count in SCALE
        ]
        # Each round's own 10-to-100 step (its renders ran back to back): on a shared machine another session's
        # burst slows every run of a round alike, so rounds that disagree show the machine, not the program.
        result["marginal_cpu_ms_per_application_by_round"] = [
            (hundred.cpu - ten.cpu) / 90 * 1000 for ten, hundred in zip(scaling[10], scaling[100], strict=True)
        ]
        lines.append(
            "  CPU per extra application: "
            + ", ".join(f"{span}: {ms:.0f} ms" for span, ms in result["marginal_cpu_ms_per_application"].items())
            + "; 10-100 round by round: "
            + ", ".join(f"{ms:.0f}" for ms in result["marginal_cpu_ms_per_application_by_round"])
            + " ms"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join([*lines, f"written to {args.out}"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
