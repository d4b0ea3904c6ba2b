"""The configuration reference (docs/configuration.md), generated from `StackConfig` (stack_config/stack.py) and
the settings models its sections are written in.

    python -m tools.config_reference                   print the reference (Markdown)
    python -m tools.config_reference --check docs/configuration.md   exit 1 when its reference section is stale
    python -m tools.config_reference --write docs/configuration.md   replace its reference section

Each setting's text is the attribute docstring written right after its field (read from the model source with
`ast`, as pydantic does not keep it); its type, bounds and default come from the field itself.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import inspect
import json
import sys
import textwrap
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from components.contracts.settings import union_members
from stack_config import stack as stack_module
from components.contracts.settings import CpuQuantity, KubernetesName, LabelKey, LabelValue, MemoryQuantity, StorageQuantity
from components.clusters.settings import Cidr, KubernetesVersion
from components.contracts.stores import PostgresIdentifier
from components.contracts.settings import Hostname, ImageReference
from stack_config.stack import SECRET_SETTINGS, StackConfig
from components.contracts.workloads import CronSchedule, TimeZone

START_MARKER = "<!-- config-reference:start -->"
END_MARKER = "<!-- config-reference:end -->"
NAMESPACE = "kiban"

_NAMED_TYPES: tuple[tuple[object, str], ...] = (
    (CpuQuantity, "CPU quantity (`250m`, `2`; at least `1m`)"),
    (MemoryQuantity, "memory quantity with unit (`512Mi`; at least `4Mi`)"),
    (StorageQuantity, "volume size with unit (`20Gi`; at least `1Gi`)"),
    (KubernetesVersion, "Kubernetes version, quoted (`\"1.28\"` to `\"1.37\"`)"),
    (LabelKey, "label key (`example.com/name`)"),
    (TimeZone, "IANA time zone (`Asia/Tokyo`)"),
    (Cidr, "CIDR block (`192.168.0.41/32`)"),
    (PostgresIdentifier, "PostgreSQL name (lower-case letters, digits, `_`)"),
    (ImageReference, "image reference (`registry/repo:tag`, `…@sha256:…`)"),
    (KubernetesName, "DNS-1123 label (≤ 63 chars)"),
    (LabelValue, "label value"),
    (Hostname, "DNS host name"),
    (CronSchedule, "cron schedule (`0 3 * * *`, `@daily`)"),
)
"""Shared constrained types, shown by name instead of by their constraints."""

_MAX_PATTERN = 40
"""Longer regular expressions are left out of the type column: they would not help a reader."""

_SCALARS: dict[object, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


class UndocumentedFieldError(RuntimeError):
    """A config field has no docstring, so the reference could not say what it does."""


class _Required:
    """The default of a field that has none."""

    def __repr__(self) -> str:
        return "required"


class _Absent:
    """No enclosing object has a default that fixes this field's value."""

    def __repr__(self) -> str:
        return "absent"


REQUIRED = _Required()
ABSENT = _Absent()


@dataclass(frozen=True)
class Entry:
    """One row of the reference: a field of a model, at the YAML path where users write it."""

    path: str
    """camelCase path below `kiban:`, e.g. `faceRecognition.backend.replicas`."""

    model: type[BaseModel]
    """The model whose `model_fields` holds the field (for an inherited field: the subclass)."""

    field_name: str
    """The field's Python name."""

    type: str
    """The accepted values, in words."""

    default: str
    """`required`, `unset`, or the default value."""

    description: str
    """The field's docstring, on one line."""


@dataclass(frozen=True)
class Table:
    """Rows under an optional sub-heading (one per form of a union)."""

    heading: str | None
    intro: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Section:
    """Everything under one top-level `kiban:` key."""

    key: str
    intro: str
    tables: tuple[Table, ...]

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(entry for table in self.tables for entry in table.entries)


# --- docstrings ---------------------------------------------------------------------------------------------


def _assigned_name(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return statement.target.id
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id
    return None


def attribute_docstrings(body: Sequence[ast.stmt]) -> dict[str, str]:
    """`{name: docstring}` for every assignment in `body` directly followed by a string literal."""
    docs: dict[str, str] = {}
    for statement, following in zip(body, body[1:], strict=False):
        name = _assigned_name(statement)
        if (
            name is not None
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[name] = inspect.cleandoc(following.value.value)
    return docs


@cache
def _own_field_docstrings(cls: type) -> dict[str, str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    class_def = next(node for node in tree.body if isinstance(node, ast.ClassDef))
    return attribute_docstrings(class_def.body)


def field_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """The attribute docstrings of `model`'s fields, inherited ones included (the most derived class wins)."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if issubclass(cls, BaseModel) and not cls.__module__.startswith("pydantic"):
            docs.update(_own_field_docstrings(cls))
    return docs


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _class_doc(cls: type) -> str:
    return _one_line(inspect.cleandoc(cls.__doc__ or ""))


# --- types --------------------------------------------------------------------------------------------------


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models a field holds directly (one, or the forms of a union); `None` and scalars are not models."""
    return [member for member in union_members(annotation) if _is_model(member)]


def _yaml(value: Any) -> str:
    """A value as it is written in a stack file."""
    return value if isinstance(value, str) and value else json.dumps(to_jsonable_python(value))


def _constraints(metadata: Sequence[Any]) -> list[str]:
    found: dict[str, Any] = {}
    for item in metadata:
        for name in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern"):
            value = getattr(item, name, None)
            if value is not None:
                found[name] = value
    words: list[str] = []
    if "ge" in found and "le" in found:
        words.append(f"{found['ge']}–{found['le']}")
    else:
        words += [f"{sign} {found[name]}" for name, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")) if name in found]
    if found.get("min_length") == 1:
        words.append("non-empty")
    elif "min_length" in found:
        words.append(f"≥ {found['min_length']} chars")
    if "max_length" in found:
        words.append(f"≤ {found['max_length']} chars")
    if "pattern" in found and len(found["pattern"]) <= _MAX_PATTERN:
        words.append(f"matching `{found['pattern']}`")
    return words


def _discriminator(info: FieldInfo) -> str | None:
    return info.discriminator if isinstance(info.discriminator, str) else None


def _form(model: type[BaseModel], discriminator: str | None) -> str:
    """How a user picks this form of a union: its `kind` value, or the keys only it requires."""
    if discriminator is not None:
        (tag,) = typing.get_args(model.model_fields[discriminator].annotation)
        return f"`{discriminator}: {tag}`"
    required = [info.alias or name for name, info in model.model_fields.items() if info.is_required()]
    return " ".join(f"`{key}`" for key in required) or model.__name__


def describe_type(info: FieldInfo) -> str:
    """The values a field accepts, in words: named shared types, choices, bounds, short patterns."""
    return _describe(info.annotation, info.metadata, _discriminator(info))


def _describe_arg(annotation: Any) -> str:
    """A type argument (a union member, a map value), which may carry its own `Annotated` constraints."""
    info = FieldInfo.from_annotation(annotation)
    return _describe(info.annotation, info.metadata, None)


def _describe(annotation: Any, metadata: Sequence[Any], discriminator: str | None) -> str:
    for alias, label in _NAMED_TYPES:
        named = FieldInfo.from_annotation(alias)
        if annotation == named.annotation and list(metadata) == named.metadata:
            return label
    members = union_members(annotation, keep_annotated=True)
    if len(members) > 1:
        present = [member for member in members if member is not type(None)]
        if len(present) == 1:  # Optional: "unset" shows in the default column
            if typing.get_origin(present[0]) is typing.Annotated:  # `Annotated[str, ...] | None`
                inner = FieldInfo.from_annotation(present[0])
                return _describe(inner.annotation, [*metadata, *inner.metadata], discriminator)
            return _describe(present[0], metadata, discriminator)
        if all(_is_model(member) for member in present):
            return "object with " + " or with ".join(_form(member, discriminator) for member in present)
        return " or ".join(_describe_arg(member) for member in present)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        choices = [f"`{_yaml(choice)}`" for choice in typing.get_args(annotation)]
        return choices[0] if len(choices) == 1 else "one of " + ", ".join(choices)
    if origin is dict:
        key, value = typing.get_args(annotation)
        return f"map of {_describe_arg(key)} to {_describe_arg(value)}"
    if origin is list:
        (item,) = typing.get_args(annotation)
        return f"list of {_describe_arg(item)}"
    if _is_model(annotation):
        return "object"
    base = _SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))
    words = _constraints(metadata)
    return f"{base}, {', '.join(words)}" if words else base


# --- defaults -----------------------------------------------------------------------------------------------


def _own_default(info: FieldInfo) -> Any:
    """The value a field takes when its object is written without it."""
    return REQUIRED if info.is_required() else info.get_default(call_default_factory=True, validated_data={})


def _show(value: Any) -> str:
    if value is REQUIRED:
        return "required"
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return "defaults below"
    return f"`{_yaml(value)}`"


def describe_default(own: Any, implied: Any, parent_key: str) -> str:
    """The value a key takes when left out. A written object is merged onto its default, so where the enclosing
    object has a default of its own (`implied`), that object's value is the key's default; `own` (the class's
    default) applies only where the enclosing object has none."""
    if implied is ABSENT or (isinstance(own, BaseModel) and isinstance(implied, BaseModel)):
        return _show(own)
    return _show(implied)


# --- walking the models -------------------------------------------------------------------------------------


def _description(model: type[BaseModel], name: str, info: FieldInfo, discriminator: str | None = None) -> str:
    """The field's docstring; an undocumented tag of a union, or a field holding one model, borrows a description."""
    doc = field_docstrings(model).get(name)
    if doc is None and name == discriminator:
        doc = f"Selects this form: {_form(model, discriminator)}."
    if doc is None:
        held = _models(info.annotation)
        if len(held) != 1 or not held[0].__doc__:
            raise UndocumentedFieldError(
                f"{model.__module__}.{model.__name__}.{name} has no docstring: write one as a string literal "
                "right after the field"
            )
        doc = held[0].__doc__
    return _one_line(inspect.cleandoc(doc))


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _fields(
    model: type[BaseModel],
    prefix: str,
    implied_object: Any,
    parent_key: str,
    discriminator: str | None = None,
    label: str = "",
) -> Iterator[Entry]:
    """Rows for every field of `model` and, depth first, of the models it holds.

    `implied_object` is the value the enclosing object takes when it is left out (an instance of `model`), or
    `ABSENT`; `discriminator` is the tag field when `model` is one form of a union; `label` prefixes descriptions
    where forms of a union share a key.
    """
    for name, info in model.model_fields.items():
        key = info.alias or name
        path = f"{prefix}.{key}"
        own = _own_default(info)
        implied = getattr(implied_object, name) if isinstance(implied_object, model) else ABSENT
        description = _description(model, name, info, discriminator)
        yield Entry(
            path=path,
            model=model,
            field_name=name,
            type=describe_type(info),
            default=describe_default(own, implied, parent_key),
            description=f"{label}{description}",
        )
        yield from _children(info, path, own if own is not REQUIRED else implied, key)


def _children(info: FieldInfo, path: str, omitted_value: Any, key: str) -> Iterator[Entry]:
    """Rows for the models a field holds: itself, the forms of a union, map values or list items."""
    annotation = info.annotation
    origin = typing.get_origin(annotation)
    if origin is dict:
        for model in _models(typing.get_args(annotation)[1]):
            yield from _fields(model, f"{path}.<name>", ABSENT, "<name>")
        return
    if origin is list:
        for model in _models(typing.get_args(annotation)[0]):
            yield from _fields(model, f"{path}[]", ABSENT, f"{key}[]")
        return
    forms = _models(annotation)
    names = [name for model in forms for name in model.model_fields]
    shared = len(forms) > 1 and len(names) != len(set(names))
    for model in forms:
        discriminator = _discriminator(info)
        label = f"({_form(model, discriminator)}) " if shared else ""
        yield from _fields(model, path, omitted_value, key, discriminator, label)


def sections(root: type[BaseModel] = StackConfig) -> list[Section]:
    """One section per field of `root`; a union of forms gets one table per form."""
    result: list[Section] = []
    for name, info in root.model_fields.items():
        key = info.alias or name
        own = _own_default(info)
        top = Entry(key, root, name, describe_type(info), _show(own), _description(root, name, info))
        forms = _models(info.annotation)
        if len(forms) > 1:
            tables = [Table(None, "", (top,))] + [
                Table(
                    _form(form, _discriminator(info)),
                    _class_doc(form),
                    tuple(_fields(form, key, ABSENT, key, _discriminator(info))),
                )
                for form in forms
            ]
            result.append(Section(key, "", tuple(tables)))
        else:
            rows = (top, *_children(info, key, own, key))
            result.append(Section(key, _class_doc(forms[0]) if forms else "", (Table(None, "", rows),)))
    return result


# --- Markdown -----------------------------------------------------------------------------------------------

_PREAMBLE = f"""\
<!-- Generated from StackConfig (stack_config/stack.py and the components' settings models) by `python -m tools.config_reference --write docs/configuration.md`; edit the models, not this. -->

Keys are paths below `{NAMESPACE}:` in camelCase, as written in `Pulumi.<stack>.yaml`. Unknown keys are errors at
every depth. An object you write is merged onto its default: keys you leave out keep the defaults shown (so
`milvus.backup: {{retentionDays: 3}}` keeps Milvus's 50Gi backup volume and 03:30 schedule)."""


def _table(entries: Sequence[Entry]) -> list[str]:
    lines = ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for entry in entries:
        cells = (f"`{entry.path}`", entry.type, entry.default, entry.description)
        lines.append("| " + " | ".join(_escape(cell) for cell in cells) + " |")
    return lines


def _secret_section() -> list[str]:
    doc = attribute_docstrings(ast.parse(inspect.getsource(stack_module)).body)["SECRET_SETTINGS"]
    lines = ["## Secret settings", "", _one_line(doc), "", "| Key | Description | Required when |", "| --- | --- | --- |"]
    lines += [
        f"| `{NAMESPACE}:{s.key}` | {_escape(s.description)} | `{s.needed_when}` is set |" for s in SECRET_SETTINGS
    ]
    return lines


def render(parts: Sequence[Section]) -> str:
    """The reference as Markdown (headings start at level 2: docs/configuration.md puts it under its title)."""
    lines = [_PREAMBLE]
    for section in parts:
        lines += ["", f"## `{NAMESPACE}:{section.key}`", ""]
        if section.intro:
            lines += [section.intro, ""]
        for table in section.tables:
            if table.heading:
                lines += ["", f"### `{section.key}` with {table.heading}", ""]
                if table.intro:
                    lines += [table.intro, ""]
            lines += _table(table.entries)
    lines += ["", *_secret_section()]
    return "\n".join(lines) + "\n"


def generate() -> str:
    """The reference for `StackConfig` and the secret settings."""
    return render(sections(StackConfig))


# --- the document ----------------------------------------------------------------------------------------------


class MarkerError(ValueError):
    """The document lacks the reference markers (or has them out of order)."""


def _marker_span(document: str) -> tuple[int, int]:
    start, end = document.find(START_MARKER), document.find(END_MARKER)
    if start < 0 or end < start:
        raise MarkerError(f"expected {START_MARKER} ... {END_MARKER}, in that order")
    return start + len(START_MARKER), end


def extract_section(document: str) -> str:
    """The text between the markers, without the newline that follows the start marker."""
    start, end = _marker_span(document)
    return document[start:end].removeprefix("\n")


def replace_section(document: str, reference: str) -> str:
    start, end = _marker_span(document)
    return document[:start] + "\n" + reference + document[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", type=Path, metavar="DOC", help="exit 1 if DOC's reference section is stale")
    action.add_argument("--write", type=Path, metavar="DOC", help="replace DOC's reference section")
    args = parser.parse_args(argv)

    reference = generate()
    target: Path | None = args.check or args.write
    if target is None:
        sys.stdout.write(reference)
        return 0
    document = target.read_text()
    try:
        current = extract_section(document)
    except MarkerError as error:
        print(f"{target}: {error}", file=sys.stderr)
        return 2
    if args.write:
        target.write_text(replace_section(document, reference))
        return 0
    if current == reference:
        return 0
    sys.stderr.writelines(difflib.unified_diff(current.splitlines(True), reference.splitlines(True), str(target), "generated"))
    print(
        f"{target}: the configuration reference is out of date; run `python -m tools.config_reference --write {target}`",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
