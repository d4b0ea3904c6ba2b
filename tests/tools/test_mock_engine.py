"""The mock engine behaves like the Pulumi engine where it matters: disabled default providers, secure config."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest

from tools.mock_engine import DefaultProviderError, run_under_mocks, stack_config


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stacks_disable_the_default_providers(stack):
    assert {"kubernetes", "gcp", "docker"} <= set(stack_config(stack)["pulumi:disable-default-providers"])


def test_a_resource_without_a_provider_is_refused():
    with pytest.raises(DefaultProviderError, match="kubernetes:core/v1:Namespace 'stray'"):
        run_under_mocks(lambda: k8s.core.v1.Namespace("stray"))


def test_a_resource_with_an_explicit_provider_is_recorded_with_its_options():
    def program():
        provider = k8s.Provider("cluster", context="c")
        k8s.core.v1.Namespace("ns", opts=pulumi.ResourceOptions(provider=provider, protect=True, retain_on_delete=True))

    deployment = run_under_mocks(program)
    (namespace,) = deployment.of_type("kubernetes:core/v1:Namespace")
    assert namespace.protect and namespace.retain_on_delete
    assert "pulumi:providers:kubernetes::cluster::" in namespace.provider


def test_secure_config_becomes_a_secret_placeholder():
    seen = {}

    def program():
        seen["plain"] = pulumi.Config("kiban").require_object("settings")
        seen["is_secret"] = pulumi.runtime.is_config_secret("kiban:token")
        seen["raw"] = pulumi.runtime.get_config("kiban:token")
        seen["value"] = pulumi.Config("kiban").require_secret("token")

    run_under_mocks(program, config={"kiban:token": {"secure": "AAAbase64cipher"}, "kiban:settings": {"a": [1, 2]}})
    assert seen["plain"] == {"a": [1, 2]}
    assert seen["is_secret"] is True
    assert seen["raw"] == "<secret kiban:token>"
    assert isinstance(seen["value"], pulumi.Output)


def test_a_stack_as_its_files_stand_runs_once_and_each_caller_gets_its_own_copy():
    from tools.mock_engine import run_program

    first, second = run_program("dev"), run_program("dev")
    assert first is not second and first.registrations == second.registrations
    first.registrations.clear()
    assert run_program("dev").registrations == second.registrations, "one caller's change is not another's"


def test_the_program_runs_without_garbage_collection_and_a_test_process_gets_it_back(monkeypatch):
    import gc

    import tools.mock_engine as engine

    seen: list[bool] = []
    register = engine._RecordingMonitor.RegisterResource

    def recording(self, request):
        seen.append(gc.isenabled())
        return register(self, request)

    monkeypatch.setattr(engine._RecordingMonitor, "RegisterResource", recording)
    assert gc.isenabled()
    engine.run_program("dev", {})  # overrides, even empty, make a real run (not the cached one)
    assert seen and not any(seen), "__main__.py turns collection off before it declares anything"
    assert gc.isenabled()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_registration_is_answered_as_the_sdks_mock_monitor_answers(stack, monkeypatch):
    # The engine answers with a copy of the request where the mock echoes its inputs (cheaper than the SDK's
    # monitor, which serializes every output again): the same URN, ID and outputs as the program reads them, for
    # every resource of a stack. (The SDK's answer also lifts a nested secret to the whole property and drops
    # nested nulls, as its own deserializing of the request did; the program's deserializing does both anyway.)
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime import rpc

    from tools import mock_engine

    differing: list[str] = []
    answered: list[str] = []
    ours = mock_engine._RecordingMonitor._register

    def compared(self, request):
        response = ours(self, request)
        sdk = pulumi_mocks.MockMonitor.RegisterResource(self, request)
        answered.append(request.name)
        if (response.urn, response.id, rpc.deserialize_properties(response.object)) != (
            sdk.urn, sdk.id, rpc.deserialize_properties(sdk.object)
        ):
            differing.append(f"{request.type} {request.name}")
        return response

    monkeypatch.setattr(mock_engine._RecordingMonitor, "_register", compared)
    deployment = mock_engine.run_program(stack, previous_outputs=dict(mock_engine.RUNNING))  # a run of its own
    assert len(answered) == len(deployment.registrations) and not differing, differing
