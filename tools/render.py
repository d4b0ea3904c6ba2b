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


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's emitter where PyYAML has it, four times the pure-Python one's speed (a long string may be folded at
other places: the same YAML)."""


def object_path(obj: dict[str, Any]) -> Path:
    metadata = obj.get("metadata", {})
    folder = metadata.get("namespace") or "_cluster"
    return Path(folder) / f"{obj['kind'].lower()}-{metadata['name']}.yaml"


def write(objects: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Write every object into a sibling folder first, then swap it in: `out_dir` is always one whole render."""
    partial = out_dir.with_name(f".{out_dir.name}.partial")
    if partial.exists():
        shutil.rmtree(partial)
    written: set[Path] = set()
    folders: set[Path] = set()
    for obj in objects:
        relative = object_path(obj)
        if relative in written:
            shutil.rmtree(partial)
            raise RuntimeError(f"two objects render to {relative}")
        if relative.parent not in folders:
            (partial / relative.parent).mkdir(parents=True, exist_ok=True)
            folders.add(relative.parent)
        written.add(relative)
        (partial / relative).write_text(yaml.dump(obj, Dumper=_DUMPER, sort_keys=False, default_flow_style=False))
    partial.mkdir(parents=True, exist_ok=True)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    partial.rename(out_dir)
    return [out_dir / object_path(obj) for obj in objects]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help=f"stack to render ({', '.join(available_stacks())})")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: rendered/<stack>)")
    parser.add_argument(
        "--project-dir", type=Path, default=ROOT, help="where Pulumi.yaml and the stack file are (default: here)"
    )
    args = parser.parse_args(argv)

    from stack_config import ConfigError
    from stack_config.stack_file import StackFileError

    try:
        deployment = run_program(args.stack, project_dir=args.project_dir)
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
