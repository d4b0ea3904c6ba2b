"""`kiban:rollouts`: blue/green releases of kiban's stateless services with Argo Rollouts."""

from __future__ import annotations

from pydantic import Field, model_validator

from components.contracts.settings import ConfigModel
from components.contracts.workloads import ComputeResources, compute


class PreviewAnalysis(ConfigModel):
    """The check a new version must pass on its preview Service before it may take traffic."""

    count: int = Field(default=3, ge=1, le=60)
    """Health calls made against the preview Service. Default: `3`."""

    interval_seconds: int = Field(default=10, ge=1, le=600)
    """Seconds between two calls. Default: `10`."""

    failure_limit: int = Field(default=0, ge=0, le=59)
    """Failed calls tolerated before the version is aborted and rolled back. Default: `0`: one failure aborts."""

    timeout_seconds: int = Field(default=5, ge=1, le=60)
    """Timeout of one call. Default: `5`."""

    @model_validator(mode="after")
    def _failure_limit_reachable(self) -> "PreviewAnalysis":
        if self.failure_limit >= self.count:
            raise ValueError(
                f"failureLimit {self.failure_limit} can never be exceeded in {self.count} calls, so the check could "
                f"never fail; set failureLimit below count (at most {self.count - 1})"
            )
        if self.timeout_seconds >= self.interval_seconds:
            raise ValueError(
                f"timeoutSeconds {self.timeout_seconds} is not below intervalSeconds {self.interval_seconds}: a call "
                "would still run when the next one starts"
            )
        return self


class RolloutsConfig(ConfigModel):
    """How a new version of the backend and the frontend replaces the running one (blue/green).

    The new version starts beside the old one behind a preview Service, is checked there, and then takes the
    traffic of the active Service at once; the old version stays up for `scaleDownDelaySeconds`, so a roll-back
    inside that window is instant. During a switch both versions run, each with its GPUs.
    """

    auto_promote: bool = False
    """Switch traffic to a new version as soon as its preview check passes. Default: `false`: the new version waits
    on the preview until a person promotes it (`kubectl argo rollouts promote <name> -n face-recognition`), as
    production releases should; development stacks set `true`."""

    scale_down_delay_seconds: int = Field(default=600, ge=30, le=86400)
    """Seconds the previous version keeps running after a switch, so `kubectl argo rollouts undo` returns to it
    instantly. Only the version just replaced is kept: a second switch inside the delay scales the older one down
    at once. Default: `600` (10 minutes)."""

    analysis: PreviewAnalysis = Field(default_factory=PreviewAnalysis)
    """The pre-promotion check. Default: 3 calls of the health endpoint, 10 s apart; one failure aborts."""

    controller_replicas: int = Field(default=1, ge=1, le=5)
    """Replicas of the Argo Rollouts controller (leader-elected; more than one only for availability). Default:
    `1`."""

    controller_resources: ComputeResources = compute("50m", "128Mi", "500m", "256Mi")
    """Requests and limits of the controller. Default: requests `50m`/`128Mi`, limits `500m`/`256Mi`."""
