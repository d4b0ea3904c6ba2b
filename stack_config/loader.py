"""Reads the `kiban:` namespace of the running stack's config into a validated `StackConfig`.

It runs before any resource is registered: a bad stack file stops the program with one message that names every
bad key path and what is allowed there, and nothing is created.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
import typing
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from components.contracts.settings import union_members
from components.contracts.tls import ExistingTlsSecret, IngressTls, TlsCertificate
from stack_config.stack_file import StackFileError, check_stack_file
from stack_config.stack import SECRET_SETTINGS, StackConfig, TlsFromConfig, TlsFromSecret

NAMESPACE = "kiban"


class ConfigError(pulumi.RunError):
    """A stack configuration that kiban will not deploy. Pulumi prints the message without a traceback."""


@dataclass(frozen=True)
class LoadedConfig:
    """The validated plain settings and the secret ones, which stay `Output.secret`."""

    stack: StackConfig
    ingress_tls: IngressTls | None
    """`ingress.tls` resolved: a certificate paired with its secret key, an existing Secret, or none."""

    secrets: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    """The secret settings of `SECRET_SETTINGS` this stack needs, by key (each present exactly when the setting it
    belongs to is set)."""

    def secret(self, key: str) -> pulumi.Output[str] | None:
        """The secret setting `kiban:<key>`, or None where the stack does not need it."""
        if key not in {s.key for s in SECRET_SETTINGS}:
            raise KeyError(f"{key!r} is not one of the secret settings in SECRET_SETTINGS")
        return self.secrets.get(key)

    application_secrets: dict[str, dict[str, pulumi.Output[str]]] = field(default_factory=dict)
    """`kiban:applicationSecrets`: by application and Secret key, each value an `Output.secret`; exactly the keys the
    applications' `secret.keys` take from a `setting`."""


def _namespace_keys() -> dict[str, str]:
    """Every `kiban:*` setting the engine handed to this program, by its short name."""
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = f"{NAMESPACE}:"
    return {key[len(prefix) :]: key for key in sorted(keys) if key.startswith(prefix)}


def _is_secret(full_key: str) -> bool:
    return runtime_config.is_config_secret(full_key) or full_key in runtime_config.get_config_secret_keys_env()


def _decode(raw: Any) -> Any:
    """Structured settings arrive as JSON text; scalars stay strings for pydantic to coerce."""
    if not isinstance(raw, str):
        return raw
    try:
        decoded = json.loads(raw)
    except ValueError:
        return raw
    return decoded if isinstance(decoded, (dict, list)) else raw


def _model_for(annotation: Any, data: Any) -> type[BaseModel] | None:
    """The model a value is validated as: for unions, the member its `kind` (or its keys) select."""
    models = [m for m in union_members(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]
    if not models:
        return None
    if len(models) == 1 or not isinstance(data, dict):
        return models[0]
    for model in models:
        kind = model.model_fields.get("kind")
        if kind is not None and data.get("kind") in typing.get_args(kind.annotation):
            return model
    return max(models, key=lambda m: len(set(data) & {f.alias or n for n, f in m.model_fields.items()}))


def _allowed_keys(path: list[str | int], data: dict[str, Any]) -> list[str]:
    """The keys the model at `path` accepts."""
    model: type[BaseModel] | None = StackConfig
    node: Any = data
    for part in path:
        if model is None or not isinstance(part, str):
            return []
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return []
        node = node.get(part) if isinstance(node, dict) else None
        model = _model_for(field.annotation, node)
    if model is None:
        return []
    return sorted(f.alias or n for n, f in model.model_fields.items())


def _display_path(loc: tuple[Any, ...], data: Any, missing: bool) -> list[str | int]:
    """The error location as the user wrote it: union member and tag names pydantic adds are dropped."""
    path: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            path.append(part)
            node = node[part] if part < len(node) else None
        elif missing and index == len(loc) - 1:
            path.append(part)
    return path


def _format_key(path: list[str | int]) -> str:
    if not path:  # a check across several settings names them itself
        return NAMESPACE
    text = f"{NAMESPACE}:"
    for index, part in enumerate(path):
        text += f"[{part}]" if isinstance(part, int) else (part if index == 0 else f".{part}")
    return text


def _describe(error: dict[str, Any], data: dict[str, Any]) -> str:
    kind = error["type"]
    path = _display_path(error["loc"], data, missing=kind == "missing")
    key = _format_key(path)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1], data)
        written = str(path[-1]) if path else ""
        hint = ""
        if to_camel(written) in allowed and to_camel(written) != written:
            hint = f" (keys are camelCase: did you mean `{to_camel(written)}`?)"
        elif not written.isascii():
            hint = f" (it has non-ASCII characters: {written.encode('ascii', 'backslashreplace').decode()})"
        return f"{_format_key(path)}: unknown key{hint}; allowed here: {', '.join(allowed)}"
    if kind == "missing":
        return f"{key}: required setting is missing"
    message = error["msg"].removeprefix("Value error, ")
    return f"{key}: {message} (got {error['input']!r})" if kind != "value_error" else f"{key}: {message}"


def _invalid(stack: str, problems: list[str]) -> ConfigError:
    """The one message a bad stack file gets: every problem, one per line."""
    # Anything not ASCII is shown escaped, so a look-alike character (Cyrillic "а" for "a") is visible.
    listed = "\n".join(f"  - {p.encode('ascii', 'backslashreplace').decode()}" for p in problems)
    return ConfigError(
        f"stack '{stack}' has invalid configuration; nothing was deployed:\n{listed}\n"
        "See the configuration reference in docs/configuration.md."
    )


def _node_at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _union_forms(path: tuple[Any, ...]) -> list[type[BaseModel]]:
    """The member models of the union field at `path` (below `StackConfig`)."""
    model: type[BaseModel] | None = StackConfig
    members: list[type[BaseModel]] = []
    for part in path:
        field = next((f for n, f in (model.model_fields.items() if model else []) if (f.alias or n) == part), None)
        if field is None:
            return []
        members = [m for m in union_members(field.annotation) if isinstance(m, type) and issubclass(m, BaseModel)]
        model = members[0] if len(members) == 1 else None
    return members


def _form_words(model: type[BaseModel]) -> str:
    required = [f.alias or n for n, f in model.model_fields.items() if f.is_required()]
    kind = model.model_fields.get("kind")
    if kind is not None:
        return f"`kind: {typing.get_args(kind.annotation)[0]}`"
    return " and ".join(f"`{key}`" for key in required)


def _collapse_unions(errors: list[dict[str, Any]], data: dict[str, Any]) -> list[str]:
    """One message per union a value fits no form of; the errors of the one form it does fit otherwise."""
    problems: list[str] = []
    by_union: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for error in errors:
        loc = error["loc"]
        if error["type"] in ("union_tag_not_found", "union_tag_invalid"):
            forms = " or ".join(_form_words(m) for m in _union_forms(loc))
            written = _node_at(data, loc)
            got = f" (got kind {written.get('kind')!r})" if isinstance(written, dict) and "kind" in written else ""
            problems.append(f"{_format_key(list(loc))}: say which form this is: {forms}{got}")
            continue
        # pydantic puts the member's class name into the location of an error inside an untagged union.
        split = next(
            (i for i, part in enumerate(loc) if i and part in {m.__name__ for m in _union_forms(loc[:i])}), None
        )
        if split is None:
            problems.append(_describe(error, data))
        else:
            by_union.setdefault(loc[:split], []).append(error)
    for prefix, grouped in by_union.items():
        written = _node_at(data, prefix)
        keys = set(written) if isinstance(written, dict) else set()
        forms = _union_forms(prefix)
        fitting = [m for m in forms if keys and keys <= {f.alias or n for n, f in m.model_fields.items()}]
        if len(fitting) == 1:
            member = fitting[0].__name__
            problems += [
                _describe({**e, "loc": prefix + e["loc"][len(prefix) + 1 :]}, data)
                for e in grouped
                if e["loc"][len(prefix)] == member
            ]
        else:
            words = " or ".join(_form_words(m) for m in forms)
            problems.append(f"{_format_key(list(prefix))}: write exactly one of its forms: {words}")
    return problems


MAX_TEXT = 16 * 1024
"""The longest text a setting may hold (a PEM chain of a few certificates fits; no setting needs more)."""

MULTILINE_KEYS = frozenset({"certificate", "registryCa"})
"""Settings whose text is a PEM block and may hold line breaks; no other text may."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_PEM_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def _unsafe_text(node: Any, path: list[str | int]) -> Iterator[str]:
    """Every text setting with control characters (a NUL, a line break outside a PEM block) or over `MAX_TEXT`:
    such a value would reach a file, a command line or an HTTP header as something other than what it looks like."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _unsafe_text(value, [*path, str(key)])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _unsafe_text(value, [*path, index])
    elif isinstance(node, str):
        key = _format_key(path)
        if len(node) > MAX_TEXT:
            yield f"{key}: {len(node)} characters is more than any setting holds (at most {MAX_TEXT})"
        control = (_PEM_CONTROL if path and path[-1] in MULTILINE_KEYS else _CONTROL).search(node)
        if control:
            yield (
                f"{key}: has the control character {control.group()!r} at position {control.start()}; settings are "
                "single lines of text (only PEM blocks span lines)"
            )


def parse_stack_config(settings: dict[str, Any], stack: str) -> StackConfig:
    """Validate already-decoded settings (short key -> value); raise `ConfigError` naming every bad key."""
    unsafe = list(_unsafe_text(settings, []))
    if unsafe:
        raise _invalid(stack, unsafe)
    try:
        return StackConfig.model_validate(settings, by_alias=True, by_name=False)
    except ValidationError as error:
        raise _invalid(stack, _collapse_unions(error.errors(), settings)) from None


def load_stack_config() -> LoadedConfig:
    """Load, decode and validate the running stack's `kiban:` settings.

    The stack file itself is read too, where the program runs (the project directory): the CLI has already
    resolved its duplicate keys and YAML 1.1 spellings silently, and `stack_file` refuses them.
    """
    stack = pulumi.get_stack()
    stack_file = Path.cwd() / f"Pulumi.{stack}.yaml"
    if stack_file.is_file():
        try:
            check_stack_file(stack_file)
        except StackFileError as error:
            raise _invalid(stack, str(error).splitlines()) from None
    keys = _namespace_keys()
    problems: list[str] = []
    settings: dict[str, Any] = {}
    secret_keys = {s.key for s in SECRET_SETTINGS}
    for short, full in keys.items():
        if short in secret_keys:
            if not _is_secret(full):
                problems.append(
                    f"{full} is stored in plain text; it must be encrypted: "
                    f"pulumi config set --secret {full} <value>"
                )
        elif _is_secret(full):
            problems.append(
                f"{full} is stored as a secret but is not a secret setting; set it without --secret "
                f"(secret settings: {', '.join(f'{NAMESPACE}:{k}' for k in sorted(secret_keys))})"
            )
        else:
            settings[short] = _decode(runtime_config.get_config(full))
    if problems:
        raise _invalid(stack, problems)

    config = parse_stack_config(settings, stack)

    pairing = [
        f"{secret.needed_when} is set but {NAMESPACE}:{secret.key} is not: "
        f"pulumi config set --secret {NAMESPACE}:{secret.key} {secret.value_from}"
        if secret.needed(config)
        else f"{NAMESPACE}:{secret.key} is set but {secret.needed_when} is not; set it or remove the secret"
        for secret in SECRET_SETTINGS
        if secret.needed(config) != (secret.key in keys) and secret.key != APPLICATION_SECRETS
    ]
    pairing += _application_secret_problems(config, keys)
    if pairing:
        raise _invalid(stack, pairing)
    secrets = {
        s.key: pulumi.Config(NAMESPACE).require_secret(s.key)
        for s in SECRET_SETTINGS
        if s.needed(config) and s.key != APPLICATION_SECRETS  # an object of values, read below
    }
    application_secrets: dict[str, dict[str, pulumi.Output[str]]] = {}
    if any(app.setting_keys() for app in config.argocd.applications):
        stored = pulumi.Config(NAMESPACE).require_secret_object(APPLICATION_SECRETS)
        application_secrets = {
            app.name: {
                key: stored.apply(lambda values, a=app.name, k=key: str(values[a][k])) for key in app.setting_keys()
            }
            for app in config.argocd.applications
            if app.setting_keys()
        }
    return LoadedConfig(
        stack=config, ingress_tls=resolve_tls(config, secrets), secrets=secrets, application_secrets=application_secrets
    )


APPLICATION_SECRETS = "applicationSecrets"


def _application_secret_problems(config: StackConfig, keys: dict[str, str]) -> list[str]:
    """`kiban:applicationSecrets` holds exactly the values the applications' `secret.keys` take from a `setting`:
    each missing one and each left over, by its path (never its value)."""
    wanted = {
        (app.name, key): index for index, app in enumerate(config.argocd.applications) for key in app.setting_keys()
    }
    stored: Any = {}
    if APPLICATION_SECRETS in keys:
        stored = _decode(runtime_config.get_config(keys[APPLICATION_SECRETS]))
    shape = "an object of applications, each an object of Secret keys and their values"
    if not isinstance(stored, dict) or not all(isinstance(v, dict) for v in stored.values()):
        return [f"{NAMESPACE}:{APPLICATION_SECRETS} must be {shape}"]
    present = {(app, key) for app, values in stored.items() for key in values}
    problems = [
        f"argocd.applications[{index}].secret.keys.{key} is `setting` but {NAMESPACE}:{APPLICATION_SECRETS}.{app}.{key} "
        f"is not set: pulumi config set --secret --path '{NAMESPACE}:{APPLICATION_SECRETS}.{app}.{key}' <value>"
        for (app, key), index in wanted.items()
        if (app, key) not in present
    ]
    problems += [
        f"{NAMESPACE}:{APPLICATION_SECRETS}.{app}.{key} is set but no application's secret takes it (a key with "
        f"`setting`); remove it: pulumi config rm --path '{NAMESPACE}:{APPLICATION_SECRETS}.{app}.{key}'"
        for app, key in sorted(present - set(wanted))
    ]
    return problems


    secrets = {s.key: pulumi.Config(NAMESPACE).require_secret(s.key) for s in SECRET_SETTINGS if s.needed(config)}
    return LoadedConfig(stack=config, ingress_tls=resolve_tls(config, secrets), secrets=secrets)


def resolve_tls(config: StackConfig, secrets: Mapping[str, pulumi.Output[str]]) -> IngressTls | None:
    """`ingress.tls` as the entry point takes it: a certificate from config paired with its key from `secrets`."""
    tls = config.ingress.tls
    if isinstance(tls, TlsFromConfig):
        return TlsCertificate(tls.certificate, secrets["tlsPrivateKey"])
    if isinstance(tls, TlsFromSecret):
        return ExistingTlsSecret(tls.secret_name)
    return None
