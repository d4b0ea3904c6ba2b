"""The URNs each stack declares, with their `protect` flags: a snapshot that makes every rename deliberate.

A resource's URN is made of its type token, its name and its parents' types; changing any of them plans a
replace, and a replace of a protected StatefulSet, namespace or claim fails (or, unprotected, loses data).
`tests/test_urn_snapshot.py` compares each stack's URNs with `tests/snapshots/<stack>.urns`; after a deliberate
change (a new resource, or a rename that carries `aliases`), rewrite the snapshots with
`uv run python -m tools.urn_snapshot`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tools.mock_engine import PROJECT, ROOT, Deployment, available_stacks, run_program

SNAPSHOTS = ROOT / "tests" / "snapshots"


def engine_urns(deployment: Deployment) -> dict[str, str]:
    """Each registration's URN as the Pulumi engine forms it: the qualified type holds the types of every ancestor
    below the stack (`a$b$c`), where the SDK's mock monitor keeps only the parent's."""
    by_urn = {r.urn: r for r in deployment.registrations}
    qualified: dict[str, str] = {}

    def qualified_type(urn: str) -> str:
        if urn not in qualified:
            registration = by_urn[urn]
            parent = by_urn.get(registration.parent)
            prefix = f"{qualified_type(parent.urn)}$" if parent is not None else ""
            qualified[urn] = prefix + registration.type
        return qualified[urn]

    return {
        r.urn: f"urn:pulumi:{deployment.stack}::{PROJECT}::{qualified_type(r.urn)}::{r.name}"
        for r in deployment.registrations
    }


def urn_lines(deployment: Deployment) -> list[str]:
    """One line per resource, sorted: `protect <urn>` or `-       <urn>`."""
    urns = engine_urns(deployment)
    return sorted(f"{'protect' if r.protect else '-      '} {urns[r.urn]}" for r in deployment.registrations)


def snapshot_path(stack: str) -> Path:
    return SNAPSHOTS / f"{stack}.urns"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", choices=available_stacks(), action="append", help="default: every stack")
    args = parser.parse_args(argv)
    SNAPSHOTS.mkdir(parents=True, exist_ok=True)
    for stack in args.stack or available_stacks():
        lines = urn_lines(run_program(stack))
        snapshot_path(stack).write_text("\n".join(lines) + "\n")
        print(f"{stack}: {len(lines)} URNs written to {snapshot_path(stack).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
