"""Scanner exemptions: one annotation format that checkov reads, and that reads back for the policy pack."""

from __future__ import annotations

import pytest

from components.contracts.exemptions import (
    ScannerExemption,
    exemption_annotations,
    exemptions_of,
    image_exemptions,
    scanner_annotations,
)


def test_exemptions_need_a_reason_checkov_can_read():
    with pytest.raises(ValueError, match="needs its reason"):
        ScannerExemption("CKV_K8S_40", " ")
    with pytest.raises(ValueError, match="cannot contain '='"):
        ScannerExemption("CKV_K8S_40", "uid=70")


def test_image_exemptions_follow_the_images():
    digest = "r/a@sha256:" + "0" * 64
    assert image_exemptions([digest]) == []
    assert [e.check_id for e in image_exemptions(["r/a:1.0.0"])] == ["CKV_K8S_43"]
    assert [e.check_id for e in image_exemptions(["r/a:latest", digest])] == ["CKV_K8S_14", "CKV_K8S_43"]


def test_annotations_read_back_as_the_same_exemptions():
    written = [ScannerExemption("CKV_K8S_40", "runs as the image's uid 70"), ScannerExemption("CKV_K8S_35", "env")]
    annotations = {**exemption_annotations(written), "unrelated": "x"}
    assert annotations["checkov.io/skip1"] == "CKV_K8S_40=runs as the image's uid 70"
    assert exemptions_of(annotations) == written
    assert exemptions_of(None) == []
    with pytest.raises(ValueError, match="CHECK_ID=reason"):
        exemptions_of({"checkov.io/skip1": "CKV_K8S_40"})


def test_image_exemptions_come_first_and_nothing_means_none():
    assert scanner_annotations(["r/a@sha256:" + "0" * 64], []) is None
    together = scanner_annotations(["r/a:1"], [ScannerExemption("CKV_K8S_35", "env")])
    assert [e.check_id for e in exemptions_of(together)] == ["CKV_K8S_43", "CKV_K8S_35"]
