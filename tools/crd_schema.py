"""Validate custom resources against the CRD schemas vendored under `schemas/`, as strictly as the API server.

The API server prunes (or, with field validation, rejects) fields a structural schema does not list; a
misspelled field in a custom resource is silently dropped on a real cluster. Here every object schema that lists
`properties` and neither allows `additionalProperties` nor preserves unknown fields is closed, so an unknown
field is an error.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"


def _closed(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {k: _closed(v) for k, v in schema.items()}
    if (
        "properties" in closed
        and "additionalProperties" not in closed
        and not closed.get("x-kubernetes-preserve-unknown-fields")
    ):
        closed["additionalProperties"] = False
    return closed


@lru_cache(maxsize=None)
def _validators() -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    """(apiVersion, kind) -> a validator for that resource's served version."""
    found = {}
    for path in sorted(SCHEMAS.rglob("*-crd.yaml")):
        crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = _closed(version["schema"]["openAPIV3Schema"])
            # apiVersion, kind and metadata are the API machinery's: the CRD lists them without their fields.
            schema["properties"]["apiVersion"] = {"const": f"{group}/{version['name']}"}
            schema["properties"]["kind"] = {"const": kind}
            schema["properties"]["metadata"] = {"type": "object"}
            found[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return found


def known_kinds() -> set[tuple[str, str]]:
    """(apiVersion, kind) of every custom resource with a vendored schema."""
    return set(_validators())


def schema_errors(obj: dict[str, Any]) -> list[str]:
    """Every way `obj` breaks its CRD schema (`path: message`); raises `LookupError` for a kind with no schema."""
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    validator = _validators().get(key)
    if validator is None:
        raise LookupError(f"no CRD schema under schemas/ for {key[0]} {key[1]}")
    return sorted(
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(obj)
    )
