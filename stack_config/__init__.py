"""Typed stack configuration: everything under the `kiban:` namespace, validated before any resource exists."""

from stack_config.loader import ConfigError, LoadedConfig, load_stack_config
from stack_config.stack import StackConfig

__all__ = ["ConfigError", "LoadedConfig", "StackConfig", "load_stack_config"]
