"""How kiban's stateless services release a new version: the blue/green contract between Argo Rollouts (a
platform component) and the services that use it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi


@dataclass(frozen=True)
class PreviewCheck:
    """The health calls a new version must pass on its preview Service before it takes traffic."""

    count: int
    """Calls made."""

    interval_seconds: int
    """Seconds between calls."""

    failure_limit: int
    """Failed calls tolerated; one more aborts the release and rolls back."""

    timeout_seconds: int
    """Timeout of one call."""


@dataclass(frozen=True)
class BlueGreenDelivery:
    """Releases as Argo Rollouts blue/green: the new version starts beside the old one behind a preview Service,
    passes `check`, then takes the active Service's traffic; the old one stays up `scale_down_delay_seconds`."""

    auto_promote: bool
    """Switch as soon as the check passes (development); otherwise a person promotes (production)."""

    scale_down_delay_seconds: int
    """How long the previous version keeps running after a switch (the window of an instant roll-back)."""

    check: PreviewCheck
    """The pre-promotion analysis."""

    controller_namespace: str
    """Namespace of the Argo Rollouts controller, whose pods make the check's calls."""

    controller_labels: Mapping[str, str]
    """Labels that select the controller's pods (for the NetworkPolicy that lets the check through)."""

    check_image: str
    """The image of the check's pods (a pinned busybox: its `wget` makes the call)."""

    crds: Sequence[pulumi.Resource]
    """What installs the Rollout and AnalysisTemplate CRDs: every custom resource depends on it, so a first `up`
    on an empty cluster works and a destroy removes Rollouts before their controller."""
