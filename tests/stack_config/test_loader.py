"""Loading `kiban:` config through the whole program: good stacks deploy, bad ones stop with one clear message
before any resource is registered."""

from __future__ import annotations

import copy
import runpy
from dataclasses import dataclass, field
from typing import Any

import pytest

from stack_config import ConfigError
from components.clusters.settings import K3sGpuNodes
from components.apps.face_recognition.settings import BackendSettings
from stack_config.stack import IngressConfig, StackConfig
from components.contracts.workloads import Autoscaling
from tools.mock_engine import ROOT, Deployment, run_program, run_under_mocks, stack_config

CERTIFICATE = (ROOT / "tests" / "fixtures" / "face.example.com.crt").read_text()
"""A real self-signed certificate (its key was thrown away): config parses the PEM block it is given."""
SECURE = {"secure": "v1:AAAAencryptedAAAA"}
"""How `pulumi config set --secret` stores a value; the mock engine marks such keys secret."""


def allowed(model: type) -> str:
    """The keys a model accepts, as the loader lists them."""
    return ", ".join(sorted(info.alias or name for name, info in model.model_fields.items()))


def dev(key: str, **changes: Any) -> dict[str, Any]:
    """The dev stack file's value of `kiban:<key>`, with top-level keys changed (a value of None removes one)."""
    value = copy.deepcopy(stack_config("dev")[f"kiban:{key}"])
    for name, new in changes.items():
        if new is None:
            value.pop(name, None)
        else:
            value[name] = new
    return value


def backend(**settings: Any) -> dict[str, Any]:
    """A `kiban:faceRecognition` override for dev (a GPU stack) with these backend settings."""
    return {"kiban:faceRecognition": {"gpu": True, "backend": {"onnxRuntime": "cuda", **settings}}}


@dataclass(frozen=True)
class Rejected:
    """A config the program must refuse, and what its message must say."""

    id: str
    overrides: dict[str, Any]
    says: tuple[str, ...]
    stack: str = "dev"
    lines: int = 1
    """How many problems the message lists."""


REJECTED = [
    Rejected(
        "misspelled-top-level-key",
        {"kiban:faceRecogniton": {"gpu": False}},
        (f"kiban:faceRecogniton: unknown key; allowed here: {allowed(StackConfig)}",),
    ),
    Rejected(
        "misspelled-key-at-depth-1",
        {"kiban:ingress": {"host": "face.homelab.internal", "tsl": {"secretName": "tls"}}},
        (f"kiban:ingress.tsl: unknown key; allowed here: {allowed(IngressConfig)}",),
    ),
    Rejected(
        "misspelled-key-at-depth-2",
        backend(replcas=2),
        (f"kiban:faceRecognition.backend.replcas: unknown key; allowed here: {allowed(BackendSettings)}", " replicas,"),
    ),
    Rejected(
        "misspelled-key-at-depth-3",
        backend(autoscaling={"maxReplicas": 3, "cpuUtilisation": 50}),
        (f"kiban:faceRecognition.backend.autoscaling.cpuUtilisation: unknown key; allowed here: {allowed(Autoscaling)}",),
    ),
    Rejected(
        "misspelled-key-in-the-chosen-cluster-kind",
        {"kiban:cluster": dev("cluster", gpu={"nodeSelectr": {"gpu": "yes"}})},
        (f"kiban:cluster.gpu.nodeSelectr: unknown key; allowed here: {allowed(K3sGpuNodes)}",),
    ),
    Rejected(
        "wrong-type",
        backend(replicas="two"),
        ("kiban:faceRecognition.backend.replicas: Input should be a valid integer", "(got 'two')"),
    ),
    Rejected(
        "negative-count",
        backend(replicas=-1),
        ("kiban:faceRecognition.backend.replicas: Input should be greater than or equal to 1 (got -1)",),
    ),
    Rejected(
        "unknown-cluster-kind",
        {"kiban:cluster": dev("cluster", kind="eks")},
        ("kiban:cluster: say which form this is: `kind: k3s` or `kind: existing-gke` or `kind: gke` (got kind 'eks')",),
    ),
    Rejected(
        "unknown-model-loader",
        backend(modelLoader="tensorflow"),
        ("kiban:faceRecognition.backend.modelLoader: Input should be 'onnx' (got 'tensorflow')",),
    ),
    Rejected("missing-top-level-key", {"kiban:images": None}, ("kiban:images: required setting is missing",)),
    Rejected(
        "missing-nested-key",
        {"kiban:cluster": dev("cluster", context=None)},
        ("kiban:cluster.context: required setting is missing",),
    ),
    Rejected(
        "requests-above-limits",
        backend(resources={"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}),
        ("kiban:faceRecognition.backend.resources: requests.cpu 2 is above limits.cpu 1",),
    ),
    Rejected(
        "latest-without-allow-mutable-tags",
        {"kiban:images": dev("images", allowMutableTags=None)},
        ("kiban:images.faceApi: 'registry.homelab.internal:5000/face-api:latest' has the tag 'latest'", "set allowMutableTags: true"),
        lines=2,  # both images are named
    ),
    Rejected(
        "gpu-without-cluster-gpu",
        {"kiban:cluster": dev("cluster", gpu=None)},
        ("faceRecognition.gpu is true but cluster.gpu is not set",),
    ),
    Rejected(
        "secret-setting-in-plain-text",
        {"kiban:tlsPrivateKey": "-----BEGIN PRIVATE KEY-----"},
        ("kiban:tlsPrivateKey is stored in plain text; it must be encrypted: pulumi config set --secret kiban:tlsPrivateKey",),
    ),
    Rejected(
        "certificate-without-its-key",
        {"kiban:ingress": {"host": "face.homelab.internal", "tls": {"certificate": CERTIFICATE}}},
        ("kiban:ingress.tls.certificate is set but kiban:tlsPrivateKey is not", "pulumi config set --secret kiban:tlsPrivateKey < key.pem"),
    ),
    Rejected(
        "key-without-a-certificate",
        {"kiban:tlsPrivateKey": SECURE},
        ("kiban:tlsPrivateKey is set but kiban:ingress.tls.certificate is not",),
    ),
    Rejected(
        "plain-setting-stored-as-secret",
        {"kiban:dataSafety": SECURE},
        ("kiban:dataSafety is stored as a secret but is not a secret setting; set it without --secret",),
    ),
    Rejected(
        "every-problem-at-once",
        {**backend(replicas=0, logLevel="TRACE"), "kiban:ingress": {"host": "Bad_Host"}},
        (
            "kiban:ingress.host: 'Bad_Host' is not a host name",
            "kiban:faceRecognition.backend.replicas: Input should be greater than or equal to 1 (got 0)",
            "kiban:faceRecognition.backend.logLevel: Input should be 'debug', 'info', 'warning' or 'error' (got 'TRACE')",
        ),
        lines=3,
    ),
    Rejected(
        "prod-rejects-latest",
        {"kiban:images": dev("images", allowMutableTags=None)},
        ("stack 'prod' has invalid configuration", "kiban:images.faceApi: ", "has the tag 'latest', which is not a version"),
        stack="prod",
        lines=2,  # both images are named
    ),
]


@dataclass
class Outcome:
    """What one run of `__main__.py` registered, and the `ConfigError` that stopped it, if any."""

    deployment: Deployment
    error: ConfigError | None = field(default=None)


def run_main(stack: str, overrides: dict[str, Any]) -> Outcome:
    """`run_program`, except that a `ConfigError` is caught inside the program, so the Deployment stays readable."""
    config = stack_config(stack, overrides)
    disabled = config.pop("pulumi:disable-default-providers", [])
    caught: list[ConfigError] = []

    def program() -> None:
        try:
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        except ConfigError as error:
            caught.append(error)

    deployment = run_under_mocks(program, stack=stack, config=config, disabled_default_providers=disabled)
    return Outcome(deployment, caught[0] if caught else None)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_stack_file_loads(stack: str):
    deployment = run_program(stack)
    assert deployment.outputs["clusterKind"] == stack_config(stack)["kiban:cluster"]["kind"]
    assert deployment.registrations


def test_a_certificate_with_its_key_stored_as_secret_loads():
    overrides = {
        "kiban:ingress": {"host": "face.homelab.internal", "tls": {"certificate": CERTIFICATE}},
        "kiban:tlsPrivateKey": SECURE,
    }
    assert run_program("dev", overrides).registrations


@pytest.mark.parametrize("case", REJECTED, ids=[case.id for case in REJECTED])
def test_a_bad_config_is_rejected_with_a_message_naming_the_key(case: Rejected):
    with pytest.raises(ConfigError) as caught:
        run_program(case.stack, case.overrides)
    message = str(caught.value)
    assert message.startswith(f"stack '{case.stack}' has invalid configuration; nothing was deployed:\n")
    for text in case.says:
        assert text in message
    assert sum(line.startswith("  - ") for line in message.splitlines()) == case.lines


def test_the_run_without_catching_sees_what_the_program_registers():
    """The check below is meaningful: on a good config, the same helper does see registrations."""
    outcome = run_main("dev", {})
    assert outcome.error is None
    assert len(outcome.deployment.registrations) > 10


@pytest.mark.parametrize("case", REJECTED, ids=[case.id for case in REJECTED])
def test_a_rejected_config_registers_nothing(case: Rejected):
    outcome = run_main(case.stack, case.overrides)
    assert isinstance(outcome.error, ConfigError)
    assert outcome.deployment.registrations == []


def test_the_documented_example_of_a_wrong_configuration_is_what_the_program_prints():
    readme = (ROOT / "docs" / "operations.md").read_text()
    example = readme.split("## When the configuration is wrong", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    printed = example.split("\n", 1)[1].removeprefix("error: ").rstrip("\n")  # after the command line
    face = stack_config("dev")["kiban:faceRecognition"]
    backend = {**face.get("backend", {}), "replcas": 2, "modelLoader": "tensorflow"}
    outcome = run_main("dev", {"kiban:faceRecognition": {**face, "backend": backend}, "kiban:data_safety": {"protect": False}})
    assert str(outcome.error) == printed
