"""A careful reader of `Pulumi.<stack>.yaml`: what a YAML 1.2 reader refuses or reads differently is an error here.

The Pulumi CLI parses the stack file and hands the program its values; by then a duplicate key has silently
replaced its first copy and `yes` has become `true`. So the program (and `make render`) also reads the file itself
and refuses, before anything is registered:

- a key written twice in one mapping (the last copy would win);
- YAML 1.1 surprises: unquoted `yes`/`no`/`on`/`off`/`y`/`n` read as booleans, `0755`/`0o17` read as octal, `1:30`
  read as a base-60 number, `1.30` read as the number 1.3;
- merge keys (`<<:`), which only YAML 1.1 knows;
- aliases beyond a small budget (an alias "bomb" expands exponentially), and files over 1 MiB;
- a file that is empty, not YAML, or not a mapping with a `config:` mapping.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1 << 20
MAX_ALIASES = 16
_BOOLEAN_WORDS = {"true", "false"}
_TRAILING_ZERO_FLOAT = re.compile(r"[-+]?\d+\.\d*0")


class StackFileError(ValueError):
    """The stack file is unsafe to read as written; the message lists every problem with its line."""


class _CarefulLoader(yaml.SafeLoader):
    def __init__(self, stream: str, name: str) -> None:
        super().__init__(stream)
        self.file_name = name
        self.problems: list[str] = []
        self.aliases = 0

    def where(self, node: yaml.Node) -> str:
        return f"{self.file_name} line {node.start_mark.line + 1}"

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                event = self.peek_event()
                raise StackFileError(
                    f"{self.file_name} line {event.start_mark.line + 1}: more than {MAX_ALIASES} aliases (*name); "
                    "write the values out"
                )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        merges = [key_node for key_node, _ in node.value if key_node.tag == "tag:yaml.org,2002:merge"]
        if merges:
            self.problems += [
                f"{self.where(key_node)}: the merge key `<<:` is YAML 1.1 only (YAML 1.2 reads it as a key named "
                "'<<'); write the merged keys out" for key_node in merges
            ]
            node.value = [(k, v) for k, v in node.value if k.tag != "tag:yaml.org,2002:merge"]
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                self.problems.append(
                    f"{self.where(key_node)}: key {key!r} is written twice in this mapping (first on line "
                    f"{seen[key]}); a YAML reader keeps only the last, so remove one"
                )
            else:
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _surprise(loader: _CarefulLoader, node: yaml.ScalarNode, reads_as: str) -> None:
    loader.problems.append(
        f"{loader.where(node)}: {node.value!r} unquoted is read as {reads_as} by YAML 1.1; quote it "
        f"(\"{node.value}\") if you mean the text, or write {reads_as} as YAML 1.2 does"
    )


def _bool(loader: _CarefulLoader, node: yaml.ScalarNode) -> bool:
    value = yaml.SafeLoader.construct_yaml_bool(loader, node)
    if node.value.lower() not in _BOOLEAN_WORDS:
        _surprise(loader, node, str(value).lower())
    return value


def _int(loader: _CarefulLoader, node: yaml.ScalarNode) -> int:
    value = yaml.SafeLoader.construct_yaml_int(loader, node)
    text = node.value.lstrip("+-").replace("_", "")
    if ":" in text or (len(text) > 1 and text.startswith("0") and not text.startswith("0x")):
        _surprise(loader, node, str(value))
    return value


def _float(loader: _CarefulLoader, node: yaml.ScalarNode) -> float:
    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    if ":" in node.value or _TRAILING_ZERO_FLOAT.fullmatch(node.value):
        _surprise(loader, node, repr(value))
    return value


_CarefulLoader.add_constructor("tag:yaml.org,2002:bool", _bool)
_CarefulLoader.add_constructor("tag:yaml.org,2002:int", _int)
_CarefulLoader.add_constructor("tag:yaml.org,2002:float", _float)


def parse_stack_file(text: str, name: str) -> dict[str, Any]:
    """The `config:` mapping of a stack file's text; raises `StackFileError` listing every problem."""
    if len(text.encode()) > MAX_BYTES:
        raise StackFileError(f"{name} is larger than 1 MiB; a stack file holds settings, not data")
    loader = _CarefulLoader(text, name)
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as error:
        raise StackFileError(f"{name} is not valid YAML: {error}") from None
    finally:
        loader.dispose()
    if loader.problems:
        raise StackFileError("\n".join(loader.problems))
    if document is None:
        raise StackFileError(f"{name} is empty; it needs a `config:` mapping of settings")
    if not isinstance(document, dict):
        raise StackFileError(f"{name} must be a mapping with a `config:` key, not a {type(document).__name__}")
    config = document.get("config", {})
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise StackFileError(f"{name}: `config:` must be a mapping of settings, not a {type(config).__name__}")
    return config


def read_stack_file(path: Path) -> dict[str, Any]:
    """`parse_stack_file` of the file at `path`."""
    if path.stat().st_size > MAX_BYTES:
        raise StackFileError(f"{path.name} is larger than 1 MiB; a stack file holds settings, not data")
    text = path.read_text(encoding="utf-8")
    config = parse_stack_file(text, path.name)
    _SOUND.add(_fingerprint(text, path.name))
    return config


def check_stack_file(path: Path) -> None:
    """Raise `StackFileError` where `read_stack_file(path)` would; a text this process has already read whole (the
    offline engine reads the stack file before it runs the program, which checks it again) is not parsed twice."""
    if path.stat().st_size <= MAX_BYTES and _fingerprint(path.read_text(encoding="utf-8"), path.name) in _SOUND:
        return
    read_stack_file(path)


_SOUND: set[bytes] = set()
"""Fingerprints of the stack files `read_stack_file` found sound (parsing is deterministic: the same name and text
parse the same)."""


def _fingerprint(text: str, name: str) -> bytes:
    return hashlib.sha256(f"{name}\0{text}".encode()).digest()
