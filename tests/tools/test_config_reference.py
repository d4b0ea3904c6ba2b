"""The configuration reference: generated from the models, complete, correct on defaults, and in sync with docs/configuration.md."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from components.contracts.settings import ConfigModel
from components.clusters.settings import ExistingClusterAccess, ExistingGkeCluster, K3sCluster
from components.contracts.stores import MilvusSettings, PostgresSettings
from components.apps.face_recognition.settings import BackendSettings, FaceRecognitionConfig
from stack_config.stack import SECRET_SETTINGS, StackConfig
from components.contracts.workloads import Autoscaling, BackupSettings, ComputeQuantities
from tools.config_reference import (
    END_MARKER,
    START_MARKER,
    Entry,
    UndocumentedFieldError,
    extract_section,
    generate,
    main,
    render,
    sections,
)

REFERENCE_DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
FieldKey = tuple[type[BaseModel], str]


def models_in(annotation: Any) -> set[type[BaseModel]]:
    """Every model an annotation can hold: through Optional, unions, Annotated, dict and list."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {annotation}
    return set().union(*(models_in(arg) for arg in typing.get_args(annotation)))


def reachable_fields(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[FieldKey]:
    """(model, field name) for every field of every model reachable from `model`, by walking `model_fields`."""
    seen = set() if seen is None else seen
    seen.add(model)
    fields: set[FieldKey] = set()
    for name, info in model.model_fields.items():
        fields.add((model, name))
        for nested in models_in(info.annotation) - seen:
            fields |= reachable_fields(nested, seen)
    return fields


def all_entries() -> list[Entry]:
    return [entry for section in sections() for entry in section.entries]


def entry(path: str, model: type[BaseModel] | None = None) -> Entry:
    """The one row at `path` (of `model`, where forms of a union share a path)."""
    found = [e for e in all_entries() if e.path == path and (model is None or e.model is model)]
    assert len(found) == 1, f"{len(found)} rows for {path}"
    return found[0]


def test_the_documented_reference_matches_the_models():
    assert extract_section(REFERENCE_DOC.read_text()) == generate(), (
        "docs/configuration.md is stale: run `python -m tools.config_reference --write docs/configuration.md`"
    )


def test_every_field_of_every_reachable_model_has_a_row():
    expected = reachable_fields(StackConfig)
    assert {(K3sCluster, "kind"), (ExistingGkeCluster, "gpu"), (ComputeQuantities, "cpu"), (Autoscaling, "max_replicas")} <= expected
    assert {(e.model, e.field_name) for e in all_entries()} == expected


def test_every_row_is_written_at_its_camel_case_path():
    markdown = generate()
    for e in all_entries():
        alias = e.model.model_fields[e.field_name].alias or e.field_name
        assert e.path.split(".")[-1] == alias
        assert f"| `{e.path}` | " in markdown


def test_one_section_per_top_level_key_and_one_table_per_cluster_kind():
    markdown = generate()
    for name, info in StackConfig.model_fields.items():
        assert f"\n## `kiban:{info.alias or name}`\n" in markdown
    assert "\n### `cluster` with `kind: k3s`\n" in markdown
    assert "\n### `cluster` with `kind: existing-gke`\n" in markdown
    k3s, gke = markdown.index("with `kind: k3s`\n"), markdown.index("with `kind: existing-gke`\n")
    assert k3s < markdown.index("| `cluster.gpu.runtimeClass` |") < gke < markdown.index("| `cluster.gpu.accelerator` |")


def test_secret_settings_are_listed():
    markdown = generate()
    assert "\n## Secret settings\n" in markdown
    for secret in SECRET_SETTINGS:
        assert f"| `kiban:{secret.key}` | {secret.description} | `{secret.needed_when}` is set |" in markdown


def test_table_rows_keep_their_four_columns():
    rows = [line for line in generate().splitlines() if line.startswith("| `")]
    assert len(rows) == len(all_entries()) + len(SECRET_SETTINGS)
    for row in rows:
        unescaped_pipes = len(re.findall(r"(?<!\\)\|", row))
        assert unescaped_pipes in (5, 4), row  # config rows have four cells, secret rows three


def test_plain_defaults():
    assert entry("faceRecognition.backend.replicas").default == f"`{BackendSettings().replicas}`"
    assert entry("faceRecognition.backend.modelThreshold").default == "`0.2285`"
    assert entry("dataSafety.protect").default == "`true`"
    assert entry("images.allowMutableTags").default == "`false`"
    assert entry("cluster.storageClass", K3sCluster).default == "`local-path`"
    assert entry("cluster.storageClass", ExistingGkeCluster).default == "`standard-rwo`"
    assert entry("cluster.gpu.nodeSelector").default == '`{"nvidia.com/gpu.present": "true"}`'


def test_required_and_unset():
    assert entry("cluster").default == "required"
    assert entry("cluster.context", K3sCluster).default == "required"
    assert entry("images.faceApi").default == "required"
    assert entry("ingress.tls").default == "unset"
    assert entry("faceRecognition.backend.autoscaling").default == "unset"
    assert entry("faceRecognition.backend.autoscaling.maxReplicas").default == "required"
    assert entry("faceRecognition").default == "defaults below"


def test_a_default_set_by_the_enclosing_object_is_the_one_shown_and_the_one_a_partial_object_keeps():
    milvus_backup, plain_backup = MilvusSettings().backup, BackupSettings()
    assert milvus_backup.schedule != plain_backup.schedule  # the case this test is about
    assert entry("faceRecognition.milvus.backup.schedule").default == f"`{milvus_backup.schedule}`"
    assert entry("faceRecognition.postgres.backup.schedule").default == f"`{PostgresSettings().backup.schedule}`"
    partial = MilvusSettings.model_validate({"backup": {"retentionDays": 3}}, by_name=False).backup
    assert (partial.schedule, partial.storage_size, partial.retention_days) == (
        milvus_backup.schedule, milvus_backup.storage_size, 3
    ), "the reference and the loader agree: a partial object keeps the enclosing object's defaults"


def test_resources_show_their_defaults_which_a_partial_object_keeps():
    requests = BackendSettings().resources.requests
    assert entry("faceRecognition.backend.resources.requests.cpu").default == f"`{requests.cpu}`"
    assert entry("faceRecognition.backend.resources.requests").default == "defaults below"
    partial = BackendSettings.model_validate({"resources": {"limits": {"cpu": "2"}}}, by_name=False).resources
    assert (partial.requests.cpu, partial.limits.cpu, partial.limits.memory) == (requests.cpu, "2", "2Gi")


def test_types():
    assert entry("faceRecognition.backend.modelLoader").type == "`onnx`"
    assert entry("faceRecognition.backend.logLevel").type == "one of `debug`, `info`, `warning`, `error`"
    assert entry("faceRecognition.backend.replicas").type == "integer, 1–100"
    assert entry("faceRecognition.backend.modelThreshold").type == "number, > 0, < 1"
    assert entry("cluster.kind", K3sCluster).type == "`k3s`"
    assert entry("cluster").type == "object with `kind: k3s` or with `kind: existing-gke` or with `kind: gke`"
    assert entry("ingress.tls").type == "object with `certificate` or with `secretName`"
    assert entry("cluster.gpu.runtimeClass").type.startswith("DNS-1123 label")
    assert entry("faceRecognition.backend.resources.limits.memory").type.startswith("memory quantity with unit")
    assert entry("cluster.kubernetesVersion", K3sCluster).type == 'Kubernetes version, quoted (`"1.28"` to `"1.37"`)'
    assert "^" not in generate() and "$`" not in generate(), "no raw regular expression reaches the reference"


def test_descriptions_are_the_field_docstrings_on_one_line():
    assert entry("faceRecognition.backend.jwtAlgorithm").description == (
        "`JWT_ALGORITHM`. Default: `HS256`. The key itself is generated and kept in a Secret."
    )
    kubeconfig = entry("cluster.kubeconfig", ExistingGkeCluster).description  # inherited, written over two lines
    assert kubeconfig.startswith("Path to the kubeconfig file") and "own default (`$KUBECONFIG`" in kubeconfig
    assert "\n" not in kubeconfig
    assert ExistingClusterAccess.model_fields["kubeconfig"].description is None  # pydantic did not keep it


def test_a_field_holding_one_model_without_a_docstring_borrows_the_model_s():
    assert "backend" in FaceRecognitionConfig.model_fields
    assert entry("faceRecognition.backend").description == "The FastAPI face-recognition API (port 8000)."


class _Documented(ConfigModel):
    """A model for these tests."""

    size: int = 1
    """How big."""

    colour: str = "red"
    # A comment (or a blank line) between a field and its docstring is not a statement.

    """Which colour."""


class _Undocumented(ConfigModel):
    """A model with a field nobody described."""

    documented: int = 1
    """Described."""

    mystery: str = "?"


def test_docstrings_are_read_from_the_source_and_a_missing_one_is_an_error():
    (section_size, section_colour) = sections(_Documented)
    assert section_size.entries[0].description == "How big."
    assert section_colour.entries[0].description == "Which colour."
    with pytest.raises(UndocumentedFieldError, match=r"_Undocumented\.mystery has no docstring"):
        sections(_Undocumented)


def test_render_is_stable():
    assert render(sections()) == generate() == generate()


def _readme(tmp_path: Path, reference: str) -> Path:
    path = tmp_path / "README.md"
    path.write_text(f"# Title\n\nBefore.\n\n{START_MARKER}\n{reference}{END_MARKER}\n\nAfter.\n")
    return path


def test_check_fails_on_a_stale_section_and_write_fixes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    readme = _readme(tmp_path, "An old reference.\n")
    assert main(["--check", str(readme)]) == 1
    assert "out of date" in capsys.readouterr().err

    assert main(["--write", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\nBefore.\n\n") and text.endswith(f"{END_MARKER}\n\nAfter.\n")
    assert extract_section(text) == generate()
    assert main(["--check", str(readme)]) == 0


def test_check_fails_when_one_character_differs(tmp_path: Path):
    reference = generate()
    assert main(["--check", str(_readme(tmp_path, reference))]) == 0
    assert main(["--check", str(_readme(tmp_path, reference.replace("`onnx`", "`onxx`", 1)))]) == 1


def test_missing_markers_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    readme = tmp_path / "README.md"
    readme.write_text("# No markers\n")
    assert main(["--check", str(readme)]) == 2
    assert main(["--write", str(readme)]) == 2
    assert readme.read_text() == "# No markers\n"
    assert START_MARKER in capsys.readouterr().err


def test_without_options_the_reference_is_printed(capsys: pytest.CaptureFixture[str]):
    assert main([]) == 0
    assert capsys.readouterr().out == generate()


def test_the_reference_names_every_key_of_the_connection_secrets():
    """The keys kiban writes into an application's connection Secrets, as the components write them."""
    from components.apps.delivered.shared_data_access import postgres_connection, valkey_connection
    from components.contracts.endpoint import DatabaseEndpoint

    login = DatabaseEndpoint(host="h", port=1, database="d", username="u", password=None)  # type: ignore[arg-type]
    reference = generate()
    for connection in (postgres_connection, valkey_connection):
        missing = [key for key in connection(login, "p") if f"`{key}`" not in reference]
        assert not missing, f"the configuration reference omits {missing} of {connection.__name__}"
