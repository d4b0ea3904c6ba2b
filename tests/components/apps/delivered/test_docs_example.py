"""docs/applications.md's example of adding an application renders as written: its YAML, put into the dev stack in
place of dev's own applications (its secret settings set as the `pulumi config set` lines below it say), runs the
program without a configuration error and delivers the application it describes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pulumi.runtime import rpc

from tests.stack_config.test_loader import run_main
from tools.mock_engine import stack_config

DOC = Path(__file__).resolve().parents[4] / "docs" / "applications.md"
MARKER = "<!-- example: add-an-application"


def example() -> tuple[dict, dict]:
    """The example's stack settings, and the secret settings its `pulumi config set --secret` lines set."""
    text = DOC.read_text()
    assert MARKER in text, f"{DOC.name} lost its add-an-application example"
    after = text[text.index(MARKER):]
    block = re.search(r"```yaml\n(.*?)```", after, re.S)
    shell = re.search(r"```sh\n(.*?)```", after, re.S)
    assert block and shell
    settings = yaml.safe_load(block.group(1))
    secrets: dict = {}
    for app, key in re.findall(r"--path 'kiban:applicationSecrets\.([a-z0-9-]+)\.([A-Za-z0-9_.-]+)'", shell.group(1)):
        secrets.setdefault(app, {})[key] = {"secure": f"{key} as set"}
    return settings, secrets


def test_the_example_renders_as_written():
    settings, secrets = example()
    dev = stack_config("dev")
    overrides = {key: {**dev.get(key, {}), **value} for key, value in settings.items()}
    overrides["kiban:applicationSecrets"] = secrets
    outcome = run_main("dev", overrides)
    assert outcome.error is None, outcome.error
    deployment = outcome.deployment
    (app,) = settings["kiban:argocd"]["applications"]
    application = deployment.object("Application", app["name"])
    assert application["spec"]["source"]["repoURL"] == app["repoUrl"]
    secret = rpc.unwrap_rpc_secret(deployment.object("Secret", app["secret"]["name"])["stringData"])
    assert set(secret) == set(app["secret"]["keys"])
    assert secret["GOOGLE_CLIENT_SECRET"] == "<secret kiban:applicationSecrets>"


def test_the_example_sets_every_secret_setting_it_needs():
    settings, secrets = example()
    (app,) = settings["kiban:argocd"]["applications"]
    wanted = {key for key, value in app["secret"]["keys"].items() if value == "setting"}
    assert set(secrets.get(app["name"], {})) == wanted
