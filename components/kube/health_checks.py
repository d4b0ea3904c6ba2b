"""Readiness, liveness and startup probes, each built from one check."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class HttpCheck:
    """An HTTP GET of `path` on the named container port; any 2xx or 3xx passes."""

    path: str
    port: str


@dataclass(frozen=True)
class ExecCheck:
    """A command in the container; exit code 0 passes."""

    command: tuple[str, ...]


@dataclass(frozen=True)
class TcpCheck:
    """A TCP connection to the named container port."""

    port: str


Check = HttpCheck | ExecCheck | TcpCheck


@dataclass(frozen=True)
class HealthChecks:
    """Readiness, liveness and (for slow starters) startup probes built from one check each."""

    readiness: Check
    liveness: Check
    startup: Check | None = None
    """Default: none. Set it when loading is slow (models, databases): liveness waits until it passes."""
    period_seconds: int = 10
    timeout_seconds: int = 5
    failure_threshold: int = 3
    startup_budget_seconds: int = 300
    """How long startup may take before the container is restarted. Default: 300s."""

    def _probe(self, check: Check, failure_threshold: int) -> k8s.core.v1.ProbeArgs:
        action: dict = {}
        if isinstance(check, HttpCheck):
            action["http_get"] = k8s.core.v1.HTTPGetActionArgs(path=check.path, port=check.port)
        elif isinstance(check, TcpCheck):
            action["tcp_socket"] = k8s.core.v1.TCPSocketActionArgs(port=check.port)
        else:
            action["exec_"] = k8s.core.v1.ExecActionArgs(command=list(check.command))
        return k8s.core.v1.ProbeArgs(
            period_seconds=self.period_seconds,
            timeout_seconds=self.timeout_seconds,
            failure_threshold=failure_threshold,
            **action,
        )

    def probes(self) -> dict[str, k8s.core.v1.ProbeArgs]:
        probes = {
            "readiness_probe": self._probe(self.readiness, self.failure_threshold),
            "liveness_probe": self._probe(self.liveness, self.failure_threshold),
        }
        if self.startup is not None:
            budget = max(1, -(-self.startup_budget_seconds // self.period_seconds))
            probes["startup_probe"] = self._probe(self.startup, budget)
        return probes
