"""`make render STACK=<stack>`: run the program offline and write what it declares.

Writes one YAML file per Kubernetes object under rendered/<stack>/<namespace>/ (cluster-scoped objects under
rendered/<stack>/_cluster/), with every secret value redacted, and prints a summary a person can read at a glance.
Runs under the Pulumi SDK's mock monitor: no CLI, no cluster, no cloud account, no decryption.
"""

from __future__ import annotations

import gc

if __name__ == "__main__":  # one run, then exit: see __main__.py (imports included, so before them)
    gc.disable()

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from tools.manifests import manifests
from tools.mock_engine import ROOT, available_stacks, run_program
from tools.render_summary import summary


def object_path(obj: dict[str, Any]) -> Path:
    metadata = obj.get("metadata", {})
    folder = metadata.get("namespace") or "_cluster"
    return Path(folder) / f"{obj['kind'].lower()}-{metadata['name']}.yaml"


def write(objects: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Write every object into a sibling folder first, then swap it in: `out_dir` is always one whole render."""
    partial = out_dir.with_name(f".{out_dir.name}.partial")
    if partial.exists():
        shutil.rmtree(partial)
    for obj in objects:
        path = partial / object_path(obj)
        if path.exists():
            shutil.rmtree(partial)
            raise RuntimeError(f"two objects render to {object_path(obj)}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(obj, sort_keys=False, default_flow_style=False))
    partial.mkdir(parents=True, exist_ok=True)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    partial.rename(out_dir)
    return [out_dir / object_path(obj) for obj in objects]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help=f"stack to render ({', '.join(available_stacks())})")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: rendered/<stack>)")
    args = parser.parse_args(argv)

    from stack_config import ConfigError
    from stack_config.stack_file import StackFileError

    try:
        deployment = run_program(args.stack)
    except (ConfigError, StackFileError, FileNotFoundError) as error:
        stale = args.out or ROOT / "rendered" / args.stack
        if stale.exists():  # an earlier render would pass for this one's result
            shutil.rmtree(stale)
        print(f"error: {error}", file=sys.stderr)
        return 1
    out_dir = args.out or ROOT / "rendered" / args.stack
    objects = manifests(deployment)
    write(objects, out_dir)
    print(summary(deployment, objects, out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT) else out_dir))
    return 0


if __name__ == "__main__":
    code = main()
    gc.freeze()  # the interpreter's collections at exit skip what the run left
    sys.exit(code)
