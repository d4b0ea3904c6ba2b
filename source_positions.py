"""The stack the Pulumi SDK sends with every resource registration (its source position): the same messages, each
built once per call site instead of once per registration.

`pulumi.runtime.resource._get_stack_trace` (pulumi 3.272.0) runs `traceback.extract_stack()` (a FrameSummary, a
linecache look-up and a stat per frame) and makes a `file://` URI with pathlib for every frame, on every
registration: 0.17 ms of a registration's ~1 ms, at the ~20 frames deep kiban's components register from, about
4 ms of each delivered application's cost. The same lines register again and again (every delivered application
runs the same code), so `stack_trace` walks the frames itself, keys the stack by its (file, line) pairs, and builds
each distinct stack's `StackTrace` once, with the SDK's own `_get_source_position_for_frame`; the SDK only copies
the message into its request (and the first frame's position into `sourcePosition`).

`install()` replaces the SDK's function only when it is the one this was written against (its source hashed in
`SDK_FUNCTION`): after an SDK upgrade the SDK's own runs until someone checks the new one and updates the hash.
`tests/test_source_positions.py` checks that both answer the same for every registration of both stacks.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from typing import Callable

from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import source_pb2

SDK_FUNCTION = "3943b2273016925109e1c3a7bc603db06a44ea09ff3494c29544e44bccf8dd1f"
"""SHA-256 of the source of `pulumi.runtime.resource._get_stack_trace` that `stack_trace` reproduces."""

SDK_STACK_TRACE: Callable[[], source_pb2.StackTrace] = sdk_resource._get_stack_trace
"""The SDK's own function, as imported (before any `install`)."""

_EMPTY = source_pb2.StackTrace()
_TRACES: dict[tuple[tuple[str, int | None], ...], source_pb2.StackTrace] = {}


class _Frame:
    """What `_get_source_position_for_frame` reads of a `traceback.FrameSummary`."""

    __slots__ = ("filename", "lineno")

    def __init__(self, filename: str, lineno: int | None):
        self.filename, self.lineno = filename, lineno


def stack_trace() -> source_pb2.StackTrace:
    """What the SDK's `_get_stack_trace` returns when called where this is: the frames outside the third `__init__`
    from the top of the stack (the concrete resource's constructor, after `Resource` and `CustomResource` or
    `ComponentResource`), innermost first; none when there are not three, or nothing is outside the third."""
    frame = sys._getframe(0)
    inits = 0
    while frame is not None:
        if frame.f_code.co_name == "__init__":
            inits += 1
            if inits == 3:
                break
        frame = frame.f_back
    if frame is None or frame.f_back is None:
        return _EMPTY
    frame = frame.f_back
    sites: list[tuple[str, int | None]] = []
    while frame is not None:
        sites.append((frame.f_code.co_filename, frame.f_lineno))
        frame = frame.f_back
    key = tuple(sites)
    trace = _TRACES.get(key)
    if trace is None:
        trace = _TRACES[key] = source_pb2.StackTrace(
            frames=[
                source_pb2.StackFrame(pc=sdk_resource._get_source_position_for_frame(_Frame(filename, line)))
                for filename, line in key
            ]
        )
    return trace


def is_the_known_sdk() -> bool:
    """Whether the SDK's `_get_stack_trace` is the one `stack_trace` reproduces (not when its source cannot be read:
    an install without the `.py` files)."""
    try:
        source = inspect.getsource(SDK_STACK_TRACE)
    except (OSError, TypeError):
        return False
    return hashlib.sha256(source.encode()).hexdigest() == SDK_FUNCTION


def install() -> bool:
    """Put `stack_trace` in the SDK's place, where the SDK's function is the known one; says whether it did."""
    if not is_the_known_sdk():
        return False
    sdk_resource._get_stack_trace = stack_trace
    return True
