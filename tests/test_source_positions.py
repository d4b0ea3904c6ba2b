"""`source_positions.stack_trace` answers what the SDK's `_get_stack_trace` answers, wherever it is called from."""

from __future__ import annotations

import pytest
from pulumi.runtime import resource as sdk_resource

import source_positions
from source_positions import SDK_STACK_TRACE, stack_trace
from tools.mock_engine import RUNNING, run_program


def both() -> tuple[bytes, bytes]:
    return SDK_STACK_TRACE().SerializeToString(), stack_trace().SerializeToString()


class Nested:
    """`depth` constructors deep (each an `__init__` frame, as Resource, CustomResource and a resource are)."""

    def __init__(self, depth: int):
        self.answers = both() if depth == 0 else Nested(depth - 1).answers


@pytest.mark.parametrize("depth", [0, 1, 2, 3, 4, 6])
def test_the_same_trace_at_any_depth_of_constructors(depth):
    sdk, ours = Nested(depth).answers
    assert sdk == ours
    if depth >= 3:
        assert ours  # frames outside the third constructor: this test's own, pytest's


def test_the_sdk_function_is_the_one_reproduced():
    # After an SDK upgrade: read the new `_get_stack_trace`, make `stack_trace` answer as it does (the tests here
    # check), then update SDK_FUNCTION. Until then `install` leaves the SDK's own in place.
    assert source_positions.is_the_known_sdk(), "pulumi's _get_stack_trace changed: see source_positions.py"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_registration_of_the_program_gets_the_sdks_trace(stack, monkeypatch):
    calls: list[bool] = []

    def compared() -> object:
        sdk = SDK_STACK_TRACE()
        calls.append(sdk.SerializeToString() == stack_trace().SerializeToString())
        return sdk

    # The program installs its speed-up; here it installs the comparison instead, for this run only.
    monkeypatch.setattr(source_positions, "install", lambda: setattr(sdk_resource, "_get_stack_trace", compared))
    monkeypatch.setattr(sdk_resource, "_get_stack_trace", sdk_resource._get_stack_trace)
    deployment = run_program(stack, previous_outputs=dict(RUNNING))  # a run of its own, not the shared one
    assert len(calls) > len(deployment.registrations)  # the stack's own too, and a read asks twice
    assert all(calls), f"{calls.count(False)} of {len(calls)} registrations got another trace"


def test_an_sdk_whose_source_cannot_be_read_keeps_its_own_function(monkeypatch):
    def unreadable(_):
        raise OSError("could not get source code")

    monkeypatch.setattr(source_positions.inspect, "getsource", unreadable)
    monkeypatch.setattr(sdk_resource, "_get_stack_trace", SDK_STACK_TRACE)
    assert source_positions.install() is False
    assert sdk_resource._get_stack_trace is SDK_STACK_TRACE


def test_another_sdk_function_keeps_its_own(monkeypatch):
    monkeypatch.setattr(source_positions, "SDK_FUNCTION", "0" * 64)  # as after an upgrade that changed it
    monkeypatch.setattr(sdk_resource, "_get_stack_trace", SDK_STACK_TRACE)
    assert source_positions.install() is False
    assert sdk_resource._get_stack_trace is SDK_STACK_TRACE
