"""Where GKE can create a GPU node pool: the zones that offer each accelerator kiban supports, on its machine
types, pinned in `gpu_availability.json` with its source and the date it was read. GKE creates a regional pool's
nodes in the region's zones (or its `node_locations`); a GPU machine type missing from a zone makes the pool's
creation fail after the cluster exists, so the config refuses such a stack before anything is registered."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DATA = Path(__file__).with_name("gpu_availability.json")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Source(_Model):
    catalog: str
    collected_by: str = Field(alias="collectedBy")
    rows: str
    gpus_per_machine_type: str = Field(alias="gpusPerMachineType")
    read: str


class Accelerator(_Model):
    catalog_name: str = Field(alias="catalogName")
    machine_types: dict[str, int] = Field(alias="machineTypes", min_length=1)
    """GPUs each machine type carries (the accelerator comes with the machine type)."""
    zones: dict[str, list[str]] = Field(min_length=1)
    """Zones that offer the machine types, by region."""


class GpuAvailability(_Model):
    about: str
    source: Source
    accelerators: dict[str, Accelerator] = Field(min_length=1)

    def cited(self) -> str:
        """Where the facts come from, for an error message."""
        return f"{DATA.name}, read {self.source.read} from {self.source.catalog}"

    def problem(self, accelerator: str, machine_type: str, gpus_per_node: int, region: str) -> str | None:
        """Why a pool of `machine_type` with `gpus_per_node` `accelerator`s cannot exist in `region`, or None."""
        offered = self.accelerators.get(accelerator)
        if offered is None:
            return (
                f"accelerator {accelerator!r} is not one kiban knows where to find: use "
                f"{', '.join(sorted(self.accelerators))} (or add its zones to {DATA.name}, with their source)"
            )
        if machine_type not in offered.machine_types:
            return (
                f"machineType {machine_type!r} does not carry {accelerator}: use one of "
                f"{', '.join(offered.machine_types)}"
            )
        if offered.machine_types[machine_type] != gpus_per_node:
            fitting = [m for m, gpus in offered.machine_types.items() if gpus == gpus_per_node]
            return (
                f"gpusPerNode is {gpus_per_node}, but {machine_type} carries {offered.machine_types[machine_type]} "
                f"{accelerator}: set gpusPerNode to {offered.machine_types[machine_type]}"
                + (f", or use {', '.join(fitting)}" if fitting else "")
            )
        if not offered.zones.get(region):
            elsewhere = "; ".join(
                f"{r} ({', '.join(z.removeprefix(r + '-') for z in zones)})" for r, zones in sorted(offered.zones.items())
            )
            return (
                f"no zone of {region} offers {machine_type} with {accelerator}, so GKE cannot create the GPU pool "
                f"there; regions that do (zones): {elsewhere} ({self.cited()})"
            )
        return None

    def zones(self, accelerator: str, region: str) -> list[str]:
        """The zones of `region` that offer `accelerator` (empty when none do)."""
        offered = self.accelerators.get(accelerator)
        return list(offered.zones.get(region, [])) if offered else []


@cache
def gpu_availability() -> GpuAvailability:
    """The pinned availability data (read once)."""
    return GpuAvailability.model_validate(json.loads(DATA.read_text()))
