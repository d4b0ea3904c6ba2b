"""The CRD-schema check is strict: unknown fields, wrong types and wrong enums fail; a valid object passes."""

from __future__ import annotations

import copy

import pytest

from tools.crd_schema import known_kinds, schema_errors

ROLLOUT = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {"name": "web", "namespace": "apps"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "registry.example/web:1.0.0"}]},
        },
        "strategy": {"blueGreen": {"activeService": "web", "previewService": "web-preview"}},
    },
}


def test_every_vendored_kind_is_known():
    assert {
        ("argoproj.io/v1alpha1", "Application"),
        ("argoproj.io/v1alpha1", "AppProject"),
        ("argoproj.io/v1alpha1", "Rollout"),
        ("argoproj.io/v1alpha1", "AnalysisTemplate"),
        ("argocd-image-updater.argoproj.io/v1alpha1", "ImageUpdater"),
    } <= known_kinds()


def test_a_valid_rollout_passes():
    assert schema_errors(ROLLOUT) == []


@pytest.mark.parametrize(
    "path, value, expected",
    [
        (("spec", "strategy", "blueGreen", "autoPromotionEnable"), True, "Additional properties"),
        (("spec", "replicas"), "two", "is not of type"),
        (("spec", "strategy", "blueGreen", "scaleDownDelaySeconds"), "30s", "is not of type"),
        (("spec", "bogus"), {}, "Additional properties"),
    ],
)
def test_unknown_fields_and_wrong_types_fail(path, value, expected):
    broken = copy.deepcopy(ROLLOUT)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    errors = schema_errors(broken)
    assert errors and any(expected in e for e in errors), errors


def test_an_unknown_kind_is_refused():
    with pytest.raises(LookupError, match="no CRD schema"):
        schema_errors({"apiVersion": "example.com/v1", "kind": "Widget"})
