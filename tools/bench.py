"""`make bench`: the full prod render against a floor program, each in fresh processes, medians side by side.

The floor imports the same provider SDKs and declares one resource under the same mock engine, so the ratio is
what kiban's own program costs on top of starting Pulumi's Python SDK. Performance is measured here, never asserted
in timed tests. Writes `rendered/bench.json`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOOR = """
import pulumi, pulumi_kubernetes as k8s, pulumi_random, pulumi_gcp, pulumi_docker, pulumi_tls
from tools.mock_engine import run_under_mocks
run_under_mocks(lambda: k8s.core.v1.Namespace("floor", opts=pulumi.ResourceOptions(
    provider=k8s.Provider("floor", context="floor"))))
"""

FULL = """
from tools.mock_engine import run_program
from tools.manifests import manifests
manifests(run_program("{stack}"))
"""


def timed(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each program (default 5)")
    parser.add_argument("--stack", default="prod")
    args = parser.parse_args(argv)
    floor = [timed(FLOOR) for _ in range(args.runs)]
    full = [timed(FULL.format(stack=args.stack)) for _ in range(args.runs)]
    result = {
        "stack": args.stack,
        "runs": args.runs,
        "floor_seconds": floor,
        "full_seconds": full,
        "floor_median": statistics.median(floor),
        "full_median": statistics.median(full),
        "ratio": statistics.median(full) / statistics.median(floor),
    }
    out = ROOT / "rendered" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{args.stack} render: median {result['full_median']:.2f}s; floor (same SDKs, one resource): median "
        f"{result['floor_median']:.2f}s; ratio {result['ratio']:.2f} ({args.runs} runs each, written to "
        f"{out.relative_to(ROOT)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
