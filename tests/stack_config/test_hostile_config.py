"""Hostile and careless stack files, by class: each is refused with a message that names the key (or the line) and
says what is allowed, never with a traceback or a hang, and with nothing registered.

Values reach the program through the CLI; the stack file itself is also read by the program (and `make render`),
for what the CLI resolves silently: duplicate keys, YAML 1.1 spellings, alias bombs.
"""

from __future__ import annotations

import os
import runpy
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from stack_config import ConfigError
from stack_config import stack_file
from stack_config.stack_file import StackFileError, check_stack_file, parse_stack_file, read_stack_file
from tests.stack_config.test_loader import run_main
from tools.mock_engine import ROOT, run_under_mocks, stack_config

DEV = stack_config("dev")


def with_(key: str, **changes: Any) -> dict[str, Any]:
    """`kiban:<key>` of dev with `changes` merged in (a value of None removes the key)."""
    merged = {**DEV[f"kiban:{key}"], **changes}
    return {f"kiban:{key}": {k: v for k, v in merged.items() if v is not None}}


def refused(overrides: dict[str, Any], *expected: str, stack: str = "dev") -> str:
    outcome = run_main(stack, overrides)
    assert outcome.error is not None, f"accepted: {overrides}"
    assert not outcome.deployment.registrations, "a refused config registers nothing"
    message = str(outcome.error)
    for text in expected:
        assert text in message, message
    assert "Traceback" not in message
    return message


FACE = DEV["kiban:faceRecognition"]


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"kiban:data_safety": {"protect": False}}, "kiban:data_safety: unknown key (keys are camelCase: did you mean `dataSafety`?)"),
        (with_("faceRecognition", model_loader="torch"), "kiban:faceRecognition.model_loader: unknown key"),
        (with_("faceRecognition", backend={"model_loader": "torch"}), "backend.model_loader: unknown key (keys are camelCase: did you mean `modelLoader`?)"),
        (with_("cluster", api_server={"addresses": ["1.2.3.4/32"]}), "kiban:cluster.api_server: unknown key (keys are camelCase: did you mean `apiServer`?)"),
        (with_("images", allow_mutable_tags=True), "kiban:images.allow_mutable_tags: unknown key"),
    ],
    ids=["top", "section", "nested", "union-member", "images"],
)
def test_snake_case_keys_are_unknown_at_every_depth(overrides, key):
    refused(overrides, key)


@pytest.mark.parametrize(
    "overrides, key",
    [
        (with_("ingress", host="face.example.com\n"), "kiban:ingress.host"),
        (with_("images", faceApi="registry.homelab.internal:5000/face-api:latest\n"), "kiban:images.faceApi"),
        ({"kiban:faceRecognition": {**FACE, "backend": {"resources": {"limits": {"cpu": "1\n", "memory": "2Gi"}}}}}, "limits.cpu"),
        ({"kiban:faceRecognition": {**FACE, "postgres": {"storageSize": "10Gi\n"}}}, "postgres.storageSize"),
        ({"kiban:faceRecognition": {**FACE, "postgres": {"database": "faceapi\n"}}}, "postgres.database"),
        (with_("cluster", kubernetesVersion="1.35\n"), "kiban:cluster.kubernetesVersion"),
    ],
    ids=["host", "image", "cpu", "storage", "name", "version"],
)
def test_a_trailing_newline_never_passes_a_pattern(overrides, key):
    refused(overrides, key)


@pytest.mark.parametrize(
    "schedule, why",
    [
        ("@daily; rm -rf /", "is not a schedule"),
        ("0 3 * * * *", "is not a schedule"),
        ("61 3 * * *", "minute '61' is outside 0 to 59"),
        ("0 24 * * *", "hour '24' is outside 0 to 23"),
        ("0 3 0 * *", "day of month '0' is outside 1 to 31"),
        ("0 3 * 13 *", "month '13' is outside 1 to 12"),
        ("0 3 * * 8", "day of week '8' is outside 0 to 7"),
        ("0 3 * * mon;ls", "is not a number"),
        ("0  3 * * *", "single spaces"),
        ("0 5-1 * * *", "runs backwards"),
    ],
)
def test_cron_schedules_are_validated_field_by_field(schedule, why):
    backup = {"backup": {"schedule": schedule}}
    refused({"kiban:faceRecognition": {**FACE, "postgres": backup}}, "kiban:faceRecognition.postgres.backup.schedule", why)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "UTC+9", "", "../../etc/passwd"])
def test_time_zones_must_be_iana_names(zone):
    backup = {"backup": {"timeZone": zone}}
    refused({"kiban:faceRecognition": {**FACE, "milvus": backup}}, "milvus.backup.timeZone", "IANA time zone")


@pytest.mark.parametrize("tag", ["latest", "LATEST", "main", "stable", "edge", "dev", "nightly", "1.0.0-"])
def test_prod_accepts_only_a_version_tag_or_a_digest(tag):
    images = {"faceApi": f"asia-northeast1-docker.pkg.dev/kiban-prod/kiban/face-api:{tag}",
              "frontend": "asia-northeast1-docker.pkg.dev/kiban-prod/kiban/face-frontend:1.0.0"}
    refused({"kiban:images": images}, "kiban:images.faceApi", "which is not a version", stack="prod")


@pytest.mark.parametrize("tag", ["1.0.0", "v2.3", "1.4.2-rc.1", "3"])
def test_prod_takes_release_tags_and_digests(tag):
    prod = "asia-northeast1-docker.pkg.dev/kiban-prod/kiban"  # prod's Artifact Registry repository
    images = {"faceApi": f"{prod}/face-api:{tag}", "frontend": f"{prod}/face-frontend@sha256:" + "a" * 64}
    assert run_main("prod", {"kiban:images": images}).error is None


@pytest.mark.parametrize(
    "host, why",
    [
        ("a" * 64 + ".example.com", "not a host name"),
        ("10.0.0.1", "is an IP address"),
        ("::1", "is an IP address"),
        ("localhost", "not a host name"),
        ("-face.example.com", "not a host name"),
        ("face.example.com.", "not a host name"),
        ("fаce.example.com", "f\\u0430ce"),  # Cyrillic "а": shown escaped
    ],
)
def test_hosts_are_dns_names(host, why):
    refused(with_("ingress", host=host), "kiban:ingress.host", why)


@pytest.mark.parametrize(
    "selector, why",
    [({}, "at least 1 item"), ({"": "true"}, "is not a label key"), ({"a/b/c": "x"}, "prefix"),
     ({"nvidia.com/gpu.present": ""}, "is not a label value"), ({"bad key": "x"}, "is not a label key"),
     ({"example.com/gpu": "yes please"}, "is not a label value")],
)
def test_node_selectors_are_labels(selector, why):
    gpu = {**DEV["kiban:cluster"]["gpu"], "nodeSelector": selector}
    refused(with_("cluster", gpu=gpu), "kiban:cluster.gpu.nodeSelector", why)


@pytest.mark.parametrize(
    "where, value, why",
    [
        (("postgres", "storageSize"), "0", "has no unit"),
        (("postgres", "storageSize"), "10", "has no unit"),
        (("postgres", "storageSize"), "100Mi", "below 1Gi"),
        (("milvus", "minioStorageSize"), "0Gi", "below 1Gi"),
        (("backend", "resources"), {"requests": {"cpu": "0", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}, "no CPU at all"),
        (("backend", "resources"), {"requests": {"cpu": "1", "memory": "0Mi"}, "limits": {"cpu": "1", "memory": "2Gi"}}, "below 4Mi"),
        (("backend", "modelEmbeddingDim"), 40000, "less than or equal to 32768"),
    ],
)
def test_quantities_have_units_and_floors(where, value, why):
    section, key = where
    refused({"kiban:faceRecognition": {**FACE, section: {key: value}}}, f"kiban:faceRecognition.{section}.{key}", why)


def test_silent_conflicts_are_refused():
    gpu = {"timeSlicingReplicas": 3, "installDevicePlugin": False}
    refused(with_("cluster", gpu=gpu), "timeSlicingReplicas is set but gpu.installDevicePlugin is false")
    refused({"kiban:faceRecognition": {**FACE, "backend": {"onnxRuntime": "cuda", "replicas": 2}}}, "ask for 5 GPUs", "the cluster has 3")


@pytest.mark.parametrize("level", ["info", "debug"])
def test_log_levels_that_write_secrets_to_the_log_need_saying_so(level):
    backend = {**FACE.get("backend", {}), "logLevel": level}
    refused(
        {"kiban:faceRecognition": {**FACE, "backend": backend}},
        "kiban:faceRecognition.backend",
        f"logLevel '{level}' makes the app log its passwords and JWT key",
        "allowSensitiveLogs: true",
    )
    outcome = run_main("dev", {"kiban:faceRecognition": {**FACE, "backend": {**backend, "allowSensitiveLogs": True}}})
    assert outcome.error is None, outcome.error


def test_one_message_per_union_saying_which_forms_exist():
    no_kind = {k: v for k, v in DEV["kiban:cluster"].items() if k != "kind"}
    message = refused({"kiban:cluster": no_kind}, "kiban:cluster: say which form this is: `kind: k3s` or `kind: existing-gke` or `kind: gke`")
    assert message.count("\n  - ") == 1
    both = {"certificate": "-----BEGIN CERTIFICATE-----\nx", "secretName": "tls"}
    message = refused(with_("ingress", tls=both), "kiban:ingress.tls: write exactly one of its forms: `certificate` or `secretName`")
    assert message.count("\n  - ") == 1


def test_messages_say_what_is_allowed_in_words_not_regexes():
    message = refused(with_("cluster", kubernetesVersion="1.3"), "from 1.28 to 1.37, quoted")
    assert "^" not in message and "$" not in message


def test_a_partial_object_keeps_the_defaults_of_what_it_leaves_out():
    outcome = run_main("dev", {"kiban:faceRecognition": {**FACE, "milvus": {"backup": {"retentionDays": 3}}}})
    assert outcome.error is None
    claim = outcome.deployment.object("PersistentVolumeClaim", "milvus-backup")
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi", "Milvus's backup volume, not backups' 20Gi"
    assert outcome.deployment.object("CronJob", "milvus-backup")["spec"]["schedule"] == "30 3 * * *"


# --- the stack file itself ---------------------------------------------------------------------------------

GOOD = (ROOT / "Pulumi.dev.yaml").read_text()


@pytest.mark.parametrize(
    "text, expected",
    [
        (GOOD + "  kiban:images:\n    faceApi: r/a:latest\n    frontend: r/b:latest\n", "key 'kiban:images' is written twice"),
        (GOOD.replace("    kind: k3s\n", "    kind: k3s\n    kind: existing-gke\n"), "key 'kind' is written twice"),
        (GOOD.replace('kubernetesVersion: "1.35"', "kubernetesVersion: 1.30"), "'1.30' unquoted is read as 1.3"),
        (GOOD.replace("protect: false", "protect: no"), "'no' unquoted is read as false"),
        (GOOD.replace("gpu: true", "gpu: on"), "'on' unquoted is read as true"),
        (GOOD.replace("timeSlicingReplicas: 3", "timeSlicingReplicas: 03"), "'03' unquoted is read as 3"),
        ("", "is empty"),
        ("- config\n", "must be a mapping"),
        ("config: [1, 2]\n", "`config:` must be a mapping"),
        ("config:\n  kiban:cluster: {kind: k3s\n", "is not valid YAML"),
        ("a: &a [x, x, x]\n" + "".join(f"b{i}: &b{i} [*a, *a, *a]\n" for i in range(10)), "aliases"),
    ],
    ids=["dup-top", "dup-nested", "float-version", "no", "on", "octal", "empty", "list", "config-list", "invalid", "alias-bomb"],
)
def test_stack_files_a_careful_reader_refuses(text, expected, tmp_path: Path):
    with pytest.raises(StackFileError, match=expected.replace("(", r"\(").replace("[", r"\[")):
        parse_stack_file(text, "Pulumi.dev.yaml")
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project)
    (project / "Pulumi.dev.yaml").write_text(text)
    # make render refuses it ...
    with pytest.raises(StackFileError):
        stack_config("dev", project_dir=project)
    # ... and so does the program, whatever values the CLI handed over, before registering anything.
    caught: list[ConfigError] = []

    def program() -> None:
        try:
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        except ConfigError as error:
            caught.append(error)

    config = dict(DEV)
    disabled = config.pop("pulumi:disable-default-providers")
    previous = Path.cwd()
    os.chdir(project)
    try:
        deployment = run_under_mocks(program, stack="dev", config=config, disabled_default_providers=disabled)
    finally:
        os.chdir(previous)
    assert caught and not deployment.registrations
    assert "Pulumi.dev.yaml" in str(caught[0]) and "Traceback" not in str(caught[0])


def test_an_alias_bomb_is_refused_quickly():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"b{i}: &b{i} [" + ", ".join([f"*{'a' if i == 0 else f'b{i - 1}'}"] * 9) + "]\n" for i in range(12)
    )
    started = time.perf_counter()
    with pytest.raises(StackFileError, match="aliases"):
        parse_stack_file(bomb, "Pulumi.dev.yaml")
    assert time.perf_counter() - started < 5, "bounded before it expands"


def test_the_real_stack_files_pass_the_careful_reader():
    for name in ("Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        assert parse_stack_file((ROOT / name).read_text(), name)


def test_the_program_parses_again_only_a_stack_file_not_already_read_sound(tmp_path: Path, monkeypatch):
    # The offline engine reads the stack file, then the program checks it: one parse, not two (make bench).
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(GOOD)
    read_stack_file(path)
    parsed: list[str] = []
    real_parse = stack_file.parse_stack_file
    monkeypatch.setattr(stack_file, "parse_stack_file", lambda text, name: parsed.append(name) or real_parse(text, name))
    check_stack_file(path)
    assert parsed == []
    # A changed file is read anew, and refused where it has to be.
    path.write_text(GOOD.replace("protect: false", "protect: no"))
    with pytest.raises(StackFileError, match="'no' unquoted is read as false"):
        check_stack_file(path)
    assert parsed == ["Pulumi.dev.yaml"]
