"""The base of every settings model and the value types they share.

Settings are contract values: components take them (a store's `PostgresSettings`, a workload's
`ComputeResources`), and the stack config (`stack_config/`) is written in them, so a stack file's section and the
component it configures share one definition. They sit on layer 0 with the other contracts."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import types
import typing
from typing import Annotated, Any, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel

from components.contracts.images import ImageReference as ContractImageReference


class ConfigModel(BaseModel):
    """Stack config is camelCase in YAML (as Pulumi users write it), snake_case in Python.

    Unknown keys are errors at every depth, and models are immutable once loaded. Stack files are validated by alias
    only (`model_validate(..., by_name=False)` in the loader): `data_safety` is an unknown key there, never a quiet
    synonym of `dataSafety`; Python code may still construct models by field name.

    An object written in part is merged onto its default: `milvus: {backup: {retentionDays: 3}}` keeps the rest
    of Milvus's backup defaults (its 50Gi volume, its 03:30 schedule), not the defaults of backups in general.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        validate_default=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _merge_onto_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, field in cls.model_fields.items():
            key = field.alias or name
            if not isinstance(merged.get(key), dict):
                continue
            default = field.get_default(call_default_factory=True, validated_data={})
            if isinstance(default, BaseModel):
                merged[key] = _deep_merge(default.model_dump(by_alias=True), merged[key])
        return merged


def _deep_merge(base: dict[str, Any], written: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in written.items():
        merged[key] = (
            _deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def union_members(annotation: Any, *, keep_annotated: bool = False) -> list[Any]:
    """The forms a field's annotation allows: the members of a union (nested unions flattened), or the annotation
    itself. `Annotated[...]` is looked through unless `keep_annotated`, which keeps each member's constraints for
    a reader (the configuration reference); the loader only needs the models."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated and not keep_annotated:
        return union_members(typing.get_args(annotation)[0])
    if origin is Union or isinstance(annotation, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in union_members(arg, keep_annotated=keep_annotated)]
    return [annotation]


_CPU = re.compile(r"(?P<n>\d+(\.\d+)?)(?P<unit>m?)")
_MEMORY = re.compile(r"(?P<n>\d+(\.\d+)?)(?P<unit>Ki|Mi|Gi|Ti|K|M|G|T)?")
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
    match = _CPU.fullmatch(quantity)
    if not match:
        raise ValueError(f"{quantity!r} is not a CPU quantity; write cores ('1', '0.5') or millicores ('500m')")
    number = float(match["n"])
    return number if match["unit"] == "m" else number * 1000


def memory_bytes(quantity: str) -> float:
    """`"512Mi"` -> 536870912."""
    match = _MEMORY.fullmatch(quantity)
    if not match:
        raise ValueError(
            f"{quantity!r} is not a memory quantity; write a number with Ki, Mi, Gi, Ti (or K, M, G, T), e.g. '512Mi'"
        )
    return float(match["n"]) * _MEMORY_FACTORS[match["unit"]]


MEMORY_FLOOR = 4 * 2**20
STORAGE_FLOOR = 2**30


def _check_cpu(value: str) -> str:
    if cpu_millicores(value) < 1:
        raise ValueError(f"{value!r} is no CPU at all; the least a container can have is 1m")
    return value


def _check_unit(value: str) -> float:
    amount = memory_bytes(value)
    if not _MEMORY.fullmatch(value)["unit"]:
        raise ValueError(f"{value!r} has no unit (it would mean bytes); write e.g. '512Mi' or '2Gi'")
    return amount


def _check_memory(value: str) -> str:
    if _check_unit(value) < MEMORY_FLOOR:
        raise ValueError(f"{value!r} is below 4Mi, less than any process needs; write e.g. '512Mi'")
    return value


def _check_storage(value: str) -> str:
    if _check_unit(value) < STORAGE_FLOOR:
        raise ValueError(f"{value!r} is below 1Gi, too small for a data or backup volume; write e.g. '20Gi'")
    return value


CpuQuantity = Annotated[str, AfterValidator(_check_cpu)]
"""A Kubernetes CPU quantity such as `250m` or `2` (at least `1m`)."""

MemoryQuantity = Annotated[str, AfterValidator(_check_memory)]
"""A Kubernetes memory quantity with its unit, such as `512Mi` or `2Gi` (at least `4Mi`)."""

StorageQuantity = Annotated[str, AfterValidator(_check_storage)]
"""The size of a volume with its unit, such as `20Gi` (at least `1Gi`)."""

def worded(pattern: str, words: str, max_length: int | None = None, flags: int = 0) -> AfterValidator:
    """A check that the whole value matches `pattern`, whose error says `words` instead of the regex. Non-ASCII
    input is shown escaped, so a look-alike character is visible."""
    compiled = re.compile(pattern, flags)

    def check(value: str) -> str:
        if not compiled.fullmatch(value) or (max_length is not None and len(value) > max_length):
            shown = value.encode("ascii", "backslashreplace").decode() if not value.isascii() else value
            raise ValueError(f"{shown!r} is not {words}")
        return value

    return AfterValidator(check)


KubernetesName = Annotated[
    str,
    worded(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", "a DNS-1123 label: 1 to 63 lower-case letters, digits or '-', "
           "starting and ending with a letter or digit", max_length=63),
]
"""A DNS-1123 label: lower-case letters, digits and '-'."""

LabelValue = Annotated[
    str,
    worded(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", "a label value: 1 to 63 letters, digits, '-', '_' or '.', "
           "starting and ending with a letter or digit", max_length=63),
]
"""A Kubernetes label value (not empty in a selector)."""

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


def _check_label_key(value: str) -> str:
    prefix, _, name = value.rpartition("/")
    if "/" in value and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        raise ValueError(f"{value!r}: the prefix before '/' must be a DNS subdomain such as example.com")
    if not name or len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        raise ValueError(
            f"{value!r} is not a label key: an optional DNS-subdomain prefix and '/', then at most 63 letters, "
            "digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    return value


LabelKey = Annotated[str, AfterValidator(_check_label_key)]
"""A Kubernetes label key such as `nvidia.com/gpu.present`."""


_HOST_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def check_hostname(value: str) -> str:
    """A DNS host name of at least two labels, lower case, no IP address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        raise ValueError(f"{value!r} is an IP address; the Ingress needs a DNS name such as face.example.com")
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError(
            f"{value!r} is not a host name: at least two dot-separated labels of 1 to 63 lower-case letters, "
            "digits or '-' (not at either end), at most 253 characters, e.g. face.example.com"
        )
    return value


Hostname = Annotated[str, AfterValidator(check_hostname)]
"""A DNS host name such as `face.example.com` (lower case, ASCII, at least two labels, not an IP address)."""

_PATH_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def _segments(value: str) -> list[str]:
    segments = value.split("/")
    if not all(_PATH_SEGMENT.fullmatch(s) for s in segments) or any(s in (".", "..") for s in segments):
        raise ValueError(
            f"{value!r} is not a plain path: '/'-separated names of letters, digits, '_', '.' and '-' "
            "(no '..', no empty part, no spaces or shell characters)"
        )
    return segments


def check_relative_path(value: str, inside: str = "the project") -> str:
    """A path inside `inside`, relative to it: plain names, never absolute, never `..`, never `.` alone."""
    if value.startswith("/") or value.startswith("~"):
        raise ValueError(
            f"{value!r} is absolute; write a directory inside {inside}, relative to it (e.g. `app`), so that "
            "every machine names the same path"
        )
    _segments(value)
    return value


ProjectPath = Annotated[str, AfterValidator(check_relative_path)]
"""A directory inside the project, relative to it (e.g. `app`): never `/`, `..` or the project itself."""


def _check_absolute_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path such as /faceapi/model.onnx")
    _segments(value[1:])
    return value


AbsolutePath = Annotated[str, AfterValidator(_check_absolute_path)]
"""An absolute path inside a container, such as `/faceapi/model.onnx` (plain names, no `..`)."""

_PEM_CERTIFICATE = re.compile(
    r"-----BEGIN CERTIFICATE-----\r?\n(?P<body>[A-Za-z0-9+/=\r\n]+?)\r?\n?-----END CERTIFICATE-----"
)


def _der_sequence_length(der: bytes) -> int | None:
    """The total length a DER SEQUENCE at the start of `der` declares (header included), or None if it is none."""
    if len(der) < 2 or der[0] != 0x30:
        return None
    first = der[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(der) < 2 + count:
        return None
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big")


def check_pem_certificates(value: str) -> str:
    """One or more PEM `CERTIFICATE` blocks and nothing else: each body base64 that decodes to one whole DER
    SEQUENCE (an X.509 certificate is one)."""
    stripped = value.strip()
    blocks = list(_PEM_CERTIFICATE.finditer(stripped))
    leftover = _PEM_CERTIFICATE.sub("", stripped).strip()
    if not blocks or leftover:
        raise ValueError(
            "is not a PEM certificate chain: one or more blocks from -----BEGIN CERTIFICATE----- to "
            "-----END CERTIFICATE-----, with nothing else around them (no private key)"
        )
    for index, block in enumerate(blocks):
        try:
            der = base64.b64decode("".join(block["body"].split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"certificate {index + 1} of the chain is not base64") from None
        if _der_sequence_length(der) != len(der):
            raise ValueError(f"certificate {index + 1} of the chain is not a DER-encoded certificate")
    return value


PemCertificates = Annotated[str, AfterValidator(check_pem_certificates)]
"""A PEM certificate chain (`-----BEGIN CERTIFICATE-----` blocks only)."""


def _check_image(reference: str) -> str:
    try:
        parsed = ContractImageReference.parse(reference)
    except ValueError:
        raise ValueError(
            f"{reference!r} is not an image reference; write registry/repository:tag or ...@sha256:<digest> "
            "(lower-case repository, no spaces or shell characters)"
        ) from None
    if parsed.tag is None and parsed.digest is None:
        raise ValueError(f"{reference!r} has neither a tag nor a digest; name the version you deploy")
    return reference


ImageReference = Annotated[str, AfterValidator(_check_image)]
"""`registry/repository:tag`, optionally `@sha256:<digest>`."""
