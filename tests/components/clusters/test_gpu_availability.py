"""GPU availability is a checked fact: the pinned zones of each accelerator kiban offers, with their source and
date; a `kind: gke` stack whose GPU pool cannot exist in its region is refused at config load, naming the regions
and zones that offer it; the prod pool is placed only in those zones."""

from __future__ import annotations

import re

import pytest

from components.clusters.gpu_availability import DATA, gpu_availability
from tests.stack_config.test_hostile_config import refused
from tools.mock_engine import run_program, stack_config

PROD_CLUSTER = stack_config("prod")["kiban:cluster"]


def prod_cluster(**changes) -> dict:
    return {"kiban:cluster": {**PROD_CLUSTER, **changes}}


def test_the_data_names_its_source_and_date_and_holds_only_well_formed_rows():
    data = gpu_availability()
    assert re.fullmatch(r"https://github\.com/skypilot-org/skypilot-catalog/blob/[0-9a-f]{40}/catalogs/v8/gcp/vms\.csv",
                        data.source.catalog)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data.source.read)
    l4 = data.accelerators["nvidia-l4"]
    assert set(l4.machine_types) == {f"g2-standard-{n}" for n in (4, 8, 12, 16, 24, 32, 48, 96)}
    assert l4.machine_types["g2-standard-8"] == 1 and l4.machine_types["g2-standard-96"] == 8
    for region, zones in l4.zones.items():
        assert zones and all(re.fullmatch(rf"{region}-[a-z]", z) for z in zones), (region, zones)
    # What issue 23 found in the Compute API's lists: L4s in Tokyo and Seoul, none in Osaka.
    assert l4.zones["asia-northeast1"] == ["asia-northeast1-a", "asia-northeast1-b", "asia-northeast1-c"]
    assert l4.zones["asia-northeast3"] == ["asia-northeast3-a", "asia-northeast3-b"]
    assert "asia-northeast2" not in l4.zones


def test_a_gpu_pool_in_a_region_without_its_machine_type_is_refused_at_load_naming_where_it_exists():
    message = refused(prod_cluster(region="asia-northeast2"), "kiban:cluster", "gpu:",
                      "no zone of asia-northeast2 offers g2-standard-8 with nvidia-l4",
                      "asia-northeast1 (a, b, c)", "asia-northeast3 (a, b)", DATA.name, stack="prod")
    assert gpu_availability().source.read in message


@pytest.mark.parametrize(
    "gpu, expected",
    [
        ({"accelerator": "nvidia-tesla-t4"}, ["accelerator 'nvidia-tesla-t4'", "nvidia-l4"]),
        ({"machineType": "n1-standard-8"}, ["machineType 'n1-standard-8' does not carry nvidia-l4", "g2-standard-8"]),
        ({"gpusPerNode": 2}, ["gpusPerNode is 2, but g2-standard-8 carries 1 nvidia-l4", "or use g2-standard-24"]),
    ],
    ids=["accelerator", "machine-type", "gpus-per-node"],
)
def test_a_pool_kiban_cannot_place_is_refused_naming_what_fits(gpu, expected):
    refused(prod_cluster(gpu={**PROD_CLUSTER["gpu"], **gpu}), "kiban:cluster", "gpu:", *expected, stack="prod")


def test_a_stack_without_gpus_needs_no_gpu_zone():
    cluster = {k: v for k, v in PROD_CLUSTER.items() if k != "gpu"}
    overrides = {"kiban:cluster": {**cluster, "region": "asia-northeast2"},
                 "kiban:faceRecognition": {**stack_config("prod")["kiban:faceRecognition"], "gpu": False}}
    images = stack_config("prod")["kiban:images"]
    overrides["kiban:images"] = {k: v.replace("asia-northeast1", "asia-northeast2") if isinstance(v, str) else v
                                 for k, v in images.items()}
    deployment = run_program("prod", overrides)
    assert not [r for r in deployment.of_type("gcp:container/nodePool:NodePool") if r.name.endswith("gpu-pool")]


def test_prod_places_its_gpu_pool_in_the_zones_that_offer_it():
    deployment = run_program("prod")
    (pool,) = [r for r in deployment.of_type("gcp:container/nodePool:NodePool") if r.name == "cluster-gpu-pool"]
    assert pool.inputs["location"] == "asia-northeast1"
    assert pool.inputs["nodeLocations"] == ["asia-northeast1-a", "asia-northeast1-b", "asia-northeast1-c"]
    (general,) = [r for r in deployment.of_type("gcp:container/nodePool:NodePool") if r.name == "cluster-general-pool"]
    assert "nodeLocations" not in general.inputs, "the general pool takes every zone of the region"
