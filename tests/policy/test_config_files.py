"""`policy/config.<stack>.json` agrees with the stack file: one file per stack, every policy of the pack configured,
its environment the stack's `kiban:environment`, and never laxer than the stack: moving tags are allowed to the
policies only where the stack's images may carry them (dev's pods run digests, so its policies may refuse them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy.pack import policies
from policy.rules import Settings
from stack_config.loader import parse_stack_config
from tools.mock_engine import available_stacks, stack_config

POLICY = Path(__file__).resolve().parents[2] / "policy"


def stack_settings(stack: str):
    written = stack_config(stack)
    return parse_stack_config({k.removeprefix("kiban:"): v for k, v in written.items() if k.startswith("kiban:")}, stack)


def test_one_policy_config_per_stack():
    assert sorted(p.name.split(".")[1] for p in POLICY.glob("config.*.json")) == sorted(available_stacks())


@pytest.mark.parametrize("stack", available_stacks())
def test_policy_config_agrees_with_the_stack_file(stack):
    config = json.loads((POLICY / f"config.{stack}.json").read_text())
    assert sorted(config) == sorted(p.name for p in policies()), "every policy configured, no stale name"
    settings_of_stack = stack_settings(stack)
    environment = {"production": "prod", "development": "dev"}[settings_of_stack.environment]
    allow_mutable = settings_of_stack.images.allow_mutable_tags
    for name, settings in config.items():
        read = Settings.from_config(settings)
        assert read.environment == environment, (
            f"{name}: environment {read.environment!r} in config.{stack}.json but Pulumi.{stack}.yaml's "
            f"kiban:environment is {settings_of_stack.environment}"
        )
        assert allow_mutable or not read.allow_mutable_tags, (
            f"{name}: allowMutableTags is true in config.{stack}.json but Pulumi.{stack}.yaml's images refuse them"
        )
