"""The base of every config model and the value types they share."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class ConfigModel(BaseModel):
    """Stack config is camelCase in YAML (as Pulumi users write it), snake_case in Python.

    Unknown keys are errors at every depth, and models are immutable once loaded.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
    )


_CPU = re.compile(r"^(?P<n>\d+(\.\d+)?)(?P<unit>m?)$")
_MEMORY = re.compile(r"^(?P<n>\d+(\.\d+)?)(?P<unit>Ki|Mi|Gi|Ti|K|M|G|T)?$")
_MEMORY_FACTORS = {
    None: 1,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def cpu_millicores(quantity: str) -> float:
    """`"500m"` -> 500, `"1.5"` -> 1500."""
    match = _CPU.match(quantity)
    if not match:
        raise ValueError(f"{quantity!r} is not a CPU quantity; write cores ('1', '0.5') or millicores ('500m')")
    number = float(match["n"])
    return number if match["unit"] == "m" else number * 1000


def memory_bytes(quantity: str) -> float:
    """`"512Mi"` -> 536870912."""
    match = _MEMORY.match(quantity)
    if not match:
        raise ValueError(
            f"{quantity!r} is not a memory quantity; write a number with Ki, Mi, Gi, Ti (or K, M, G, T), e.g. '512Mi'"
        )
    return float(match["n"]) * _MEMORY_FACTORS[match["unit"]]


def _check_cpu(value: str) -> str:
    cpu_millicores(value)
    return value


def _check_memory(value: str) -> str:
    memory_bytes(value)
    return value


CpuQuantity = Annotated[str, AfterValidator(_check_cpu)]
"""A Kubernetes CPU quantity such as `250m` or `2`."""

MemoryQuantity = Annotated[str, AfterValidator(_check_memory)]
"""A Kubernetes memory or storage quantity such as `512Mi` or `20Gi`."""

KubernetesName = Annotated[
    str,
    Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63),
]
"""A DNS-1123 label: lower-case letters, digits and '-'."""

LabelValue = Annotated[str, Field(pattern=r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$", max_length=63)]
"""A Kubernetes label value."""
