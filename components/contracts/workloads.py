"""Settings shared by every workload: replicas, autoscaling, compute resources, storage and backups."""

from __future__ import annotations

import re
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, model_validator

from components.contracts.settings import ConfigModel, CpuQuantity, MemoryQuantity, StorageQuantity, cpu_millicores, memory_bytes


class ComputeQuantities(ConfigModel):
    """An amount of CPU and memory."""

    cpu: CpuQuantity
    """CPU, in cores (`1`) or millicores (`500m`)."""

    memory: MemoryQuantity
    """Memory, e.g. `512Mi`."""


class ComputeResources(ConfigModel):
    """Requests (what the scheduler reserves) and limits (the ceiling) of one container."""

    requests: ComputeQuantities
    limits: ComputeQuantities

    @model_validator(mode="after")
    def _requests_within_limits(self) -> "ComputeResources":
        if cpu_millicores(self.requests.cpu) > cpu_millicores(self.limits.cpu):
            raise ValueError(f"requests.cpu {self.requests.cpu} is above limits.cpu {self.limits.cpu}")
        if memory_bytes(self.requests.memory) > memory_bytes(self.limits.memory):
            raise ValueError(f"requests.memory {self.requests.memory} is above limits.memory {self.limits.memory}")
        return self


def compute(request_cpu: str, request_memory: str, limit_cpu: str, limit_memory: str) -> ComputeResources:
    """Shorthand for the defaults below."""
    return ComputeResources(
        requests=ComputeQuantities(cpu=request_cpu, memory=request_memory),
        limits=ComputeQuantities(cpu=limit_cpu, memory=limit_memory),
    )


class Autoscaling(ConfigModel):
    """A HorizontalPodAutoscaler on CPU utilisation; the workload's `replicas` is its minimum."""

    max_replicas: int = Field(ge=1, le=100)
    """Most replicas the autoscaler may run."""

    cpu_utilization: int = Field(default=70, ge=1, le=100)
    """Target average CPU utilisation, in percent of requests. Default: `70`."""


Replicas = Annotated[int, Field(ge=1, le=100)]


class ServiceSettings(ConfigModel):
    """A stateless service: how many replicas and how much each may use."""

    replicas: Replicas = 1
    """Replicas (the autoscaler's minimum when `autoscaling` is set). Default: `1`. From 2 up, a
    PodDisruptionBudget keeps at least one running during node drains."""

    autoscaling: Autoscaling | None = None
    """Scale on CPU between `replicas` and `autoscaling.maxReplicas`. Default: unset, a fixed replica count."""

    @model_validator(mode="after")
    def _autoscaling_above_replicas(self) -> "ServiceSettings":
        if self.autoscaling is not None and self.autoscaling.max_replicas < self.replicas:
            raise ValueError(
                f"autoscaling.maxReplicas ({self.autoscaling.max_replicas}) is below replicas ({self.replicas})"
            )
        return self


_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_CRON_ITEM = re.compile(r"(\*|(?P<low>\d+)(-(?P<high>\d+))?)(/(?P<step>\d+))?")


def _check_cron(value: str) -> str:
    if value in _MACROS:
        return value
    fields = value.split(" ")
    if len(fields) != 5 or any(not f for f in fields):
        raise ValueError(
            f"{value!r} is not a schedule: write five fields separated by single spaces (minute hour day-of-month "
            f"month day-of-week, e.g. '0 3 * * *') or one of {', '.join(_MACROS)}"
        )
    for text, (name, low, high) in zip(fields, _CRON_FIELDS, strict=False):
        for item in text.split(","):
            match = _CRON_ITEM.fullmatch(item)
            if match is None:
                raise ValueError(f"{value!r}: {name} {item!r} is not a number, a range a-b, '*' or a step /n")
            numbers = [int(n) for n in (match["low"], match["high"]) if n is not None]
            if any(not low <= n <= high for n in numbers) or (match["step"] is not None and int(match["step"]) < 1):
                raise ValueError(f"{value!r}: {name} {item!r} is outside {low} to {high}")
            if len(numbers) == 2 and numbers[0] > numbers[1]:
                raise ValueError(f"{value!r}: {name} range {item!r} runs backwards")
    return value


def _check_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as 'Etc/UTC' or 'Asia/Tokyo'") from None
    return value


CronSchedule = Annotated[str, AfterValidator(_check_cron)]
"""A CronJob schedule: five cron fields (`0 3 * * *`) or `@daily` and friends."""

TimeZone = Annotated[str, AfterValidator(_check_time_zone)]
"""An IANA time zone name such as `Asia/Tokyo`."""


class BackupSettings(ConfigModel):
    """A scheduled backup onto its own retained volume."""

    schedule: CronSchedule = "0 3 * * *"
    """When to back up (cluster time zone unless `timeZone` is set). Default: `0 3 * * *`, daily at 03:00."""

    time_zone: TimeZone = "Etc/UTC"
    """IANA time zone of the schedule. Default: `Etc/UTC`."""

    retention_days: int = Field(default=7, ge=1, le=3650)
    """Backups older than this many days are deleted after each successful run. Default: `7`."""

    storage_size: StorageQuantity = "20Gi"
    """Size of the backup volume. Default: `20Gi`. After the first deploy it may only grow, and only where its
    StorageClass allows expansion (K3s's `local-path` does not)."""
