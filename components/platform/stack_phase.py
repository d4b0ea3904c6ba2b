"""`checked_phase`: which part of the stack an `up` declares (`kiban:phase`), refused where it would break what runs.

A stack's first `up` cannot declare everything at once: the workloads pull kiban's images, which only exist once
something outside this `up` has happened:

- dev: every K3s node needs the registry's CA and `registries.yaml`, which are outputs of the `up` that creates the
  registry, and K3s reads `registries.yaml` only when it starts; the builder that pushes must trust the same CA;
- prod: the release workflow pushes the images to the Artifact Registry repository with CI's `images` identity,
  both created by the `up`; only then can `up` read their digests.

So the first `up` runs with `kiban:phase: foundation` (the cluster and what it needs to run, the registry with
its CA and credentials, CI's identity) and the later ones without it (`workloads`, everything). Leaving a stack's
workloads out of an `up` would delete them, so the foundation phase is refused for a stack whose last `up`
declared its workloads; and a stack that needs a foundation is refused its workloads until one was deployed.

What the last `up` declared is read from the stack's own outputs (a `StackReference` to itself: the engine's
built-in provider reads the named stack's last checkpoint, pkg/resource/deploy/builtins.go). A refused `up`
fails before the program finishes, and Pulumi deletes what a program no longer declares only after it finishes:
nothing is deleted.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping

import pulumi

Phase = Literal["foundation", "workloads"]
PHASE_OUTPUT = "phase"
"""The stack output that records the phase an `up` declared."""

WORKLOAD_OUTPUT = "url"
"""An output only the workloads export: a stack deployed before phases existed has it and no `phase`."""


class PhaseRefused(pulumi.RunError):
    """`kiban:phase` asks for an `up` that would delete running workloads or read what does not exist yet."""


def deployed_phase(outputs: Mapping[str, Any] | None) -> Phase | None:
    """The phase the stack's last `up` declared, from its outputs; `None` for a stack never deployed."""
    outputs = outputs or {}
    recorded = outputs.get(PHASE_OUTPUT)
    if recorded in ("foundation", "workloads"):
        return recorded
    return "workloads" if outputs.get(WORKLOAD_OUTPUT) is not None else None


def phase_problem(requested: Phase, deployed: Phase | None, *, stack: str, needs_foundation: bool) -> str | None:
    """Why an `up` of `requested` cannot run on a stack whose last `up` declared `deployed`, or `None`."""
    if requested == "foundation" and deployed == "workloads":
        return (
            f"kiban:phase is foundation, but stack '{stack}' already runs its workloads (its last up declared them); "
            "an up of the foundation alone would delete them. Remove the setting: "
            f"pulumi config rm --stack {stack} kiban:phase"
        )
    if requested == "workloads" and deployed is None and needs_foundation:
        return (
            f"stack '{stack}' has no foundation yet: its workloads would pull images and read digests that do not "
            f"exist. Deploy the foundation first (pulumi config set --stack {stack} kiban:phase foundation; "
            "pulumi up), do the steps docs/operations.md lists after it, then remove kiban:phase and run up again"
        )
    return None


def this_stack() -> str:
    """The fully qualified name of the stack being deployed (`organization` for a DIY backend)."""
    organization = pulumi.get_organization()
    name = f"{pulumi.get_project()}/{pulumi.get_stack()}"
    return f"{organization}/{name}" if organization else pulumi.get_stack()


def checked_phase(requested: Phase, *, needs_foundation: bool) -> pulumi.Output[str]:
    """`requested`, once the stack's last `up` shows it may run (export it as `PHASE_OUTPUT`: an `up` that fails
    the check fails with `PhaseRefused`'s message)."""
    previous = pulumi.StackReference("previous-up", stack_name=this_stack())

    def check(outputs: Mapping[str, Any] | None) -> str:
        problem = phase_problem(requested, deployed_phase(outputs), stack=pulumi.get_stack(), needs_foundation=needs_foundation)
        if problem is not None:
            raise PhaseRefused(problem)
        return requested

    # The outputs hold secrets (passwords, registries.yaml), which makes them secret as a whole; the phase is not.
    return pulumi.Output.unsecret(previous.outputs.apply(check))
