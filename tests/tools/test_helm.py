"""The real helm on the vendored archives: every pinned chart has its archive, and the values-key check works."""

from __future__ import annotations

import pytest

from tools.helm import HelmError, template, unknown_value_keys, written_whole
from versions import versions

CHARTS = versions().charts


@pytest.mark.parametrize("chart", CHARTS.all(), ids=lambda chart: chart.chart)
def test_every_pinned_chart_is_vendored(chart):
    assert len(CHARTS.all()) == 5
    assert chart.archive.is_file(), f"{chart.chart} {chart.version}: no {chart.archive.name} under charts/"


def test_unknown_keys_are_found_and_free_form_maps_are_the_callers():
    archive = CHARTS.argo_rollouts.archive
    values = {"controller": {"replicas": 2, "replica": 2, "nodeSelector": {"any/label": "x"}}, "controler": {}}
    assert unknown_value_keys(archive, values) == ["controller.replica", "controler"]
    assert unknown_value_keys(archive, {"controller": {"replicas": 2}}) == []


def test_template_renders_what_an_install_creates():
    objects = template(
        CHARTS.argo_rollouts.archive,
        release="argo-rollouts",
        namespace="argo-rollouts",
        values={"controller": {"replicas": 2}},
        kube_version="1.35",
    )
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    assert deployment["spec"]["replicas"] == 2
    assert any(o["kind"] == "CustomResourceDefinition" for o in objects)


def test_template_reports_helms_own_error():
    with pytest.raises(HelmError, match="kube-version|Kubernetes|version"):
        template(CHARTS.argo_rollouts.archive, release="r", namespace="n", values={}, kube_version="not-a-version")


def test_values_written_out_whole_admit_any_key_below_them():
    archive = CHARTS.argo_rollouts.archive
    assert "podSecurityContext" in written_whole(archive)
    assert unknown_value_keys(archive, {"podSecurityContext": {"runAsUser": 999, "seccompProfile": {}}}) == []
    # but a map the chart reads key by key is still checked
    assert unknown_value_keys(archive, {"controller": {"image": {"tagg": "v1"}}}) == ["controller.image.tagg"]


def test_subchart_values_are_checked_under_the_subchart_name():
    archive = CHARTS.nvidia_device_plugin.archive
    whole = written_whole(archive)
    assert any(path.startswith("nfd.") for path in whole), sorted(whole)[:20]


def test_maps_the_chart_iterates_over_admit_any_key():
    archive = CHARTS.argo_cd.archive
    values = {"configs": {"cm": {"timeout.reconciliation": "180s"}, "params": {"server.insecure": True}}}
    assert unknown_value_keys(archive, values) == []
    assert unknown_value_keys(archive, {"configs": {"secret": {"argocdServerAdminPasswrd": "x"}}}) == [
        "configs.secret.argocdServerAdminPasswrd"
    ]


def test_kinds_are_counted_off_helms_output_as_its_parse_counts_them():
    from collections import Counter

    from tools.helm import template_kinds

    arguments = dict(release="argo-rollouts", namespace="argo-rollouts", values={}, kube_version="1.35")
    parsed = Counter(o["kind"] for o in template(CHARTS.argo_rollouts.archive, **arguments))
    assert template_kinds(CHARTS.argo_rollouts.archive, **arguments) == parsed
    assert parsed["CustomResourceDefinition"] == 5, "CRDs, whose schemas say `kind:` inside, count once each"


def test_only_a_documents_own_kind_line_counts(monkeypatch):
    import tools.helm as helm

    text = (
        "---\n# Source: x/crd.yaml\napiVersion: v1\nkind: CustomResourceDefinition\nspec:\n  names:\n    kind: Foo\n"
        "  description: |\n    kind: NotThis\n---\n\n--- # Source: empty\n# only a comment\n"
        "---\napiVersion: v1\nmetadata:\n  name: a\nkind: 'ConfigMap'  # quoted, commented\ndata:\n  k: |\n"
        "    kind: Secret\n"
    )
    monkeypatch.setattr(helm, "_template_text", lambda *args: text)
    kinds = helm.template_kinds(CHARTS.argo_rollouts.archive, release="r", namespace="n", values={}, kube_version="1")
    assert kinds == {"CustomResourceDefinition": 1, "ConfigMap": 1}
