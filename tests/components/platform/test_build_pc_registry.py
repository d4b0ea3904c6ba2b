"""BuildPcRegistry under mocks: the registry (registry:3) on the build PC's engine (never the deploying machine's), TLS
from kiban's own CA, htpasswd from a generated password, a named volume, a restart policy, the supervisor's clean-up
schedule, and the K3s node configuration as a secret that parses as K3s expects."""

from __future__ import annotations

import json
import tomllib

import pulumi
import pulumi_random
import pulumi_tls
import pytest
import yaml
from pulumi.runtime import rpc

from components.platform.build_pc_registry import (
    CA_FILE,
    CERT_FILE,
    CONFIG_FILE,
    CREDENTIALS_FILE,
    HTPASSWD_FILE,
    K3S_CA_FILE,
    KEY_FILE,
    BuildPcRegistry,
    BuildPcRegistryArgs,
    buildkitd_config,
    registry_configuration,
    registry_image_tag,
)
from images.registry.registry_maintenance import arguments
from components.platform.registry_settings import BuildPcRegistry as BuildPcRegistryConfig
from tools.mock_engine import run_under_mocks
from versions import versions

SETTINGS = {
    "kind": "build-pc",
    "dockerHost": "ssh://builder@build-pc.lan",
    "sshOptions": ["-o", "StrictHostKeyChecking=yes"],
    "host": "registry.lan",
    "ipAddresses": ["192.168.0.40"],
    "port": 5443,
    "username": "pusher",
    "cleanup": {"keepVersions": 3, "dailyAt": "02:30"},
}
CONFIG = BuildPcRegistryConfig.model_validate(SETTINGS)


def declare_registry(config: BuildPcRegistryConfig):
    def program():
        made = BuildPcRegistry(
            "registry",
            BuildPcRegistryArgs(config=config, build_args=versions().image_builds.registry, protect=True),
            opts=pulumi.ResourceOptions(providers=[pulumi_random.Provider("random"), pulumi_tls.Provider("tls")]),
        )
        pulumi.export("k3s", made.k3s_registries)
        pulumi.export("ca", made.facts.ca_certificate)
        pulumi.export("readerProvider", made.reader_provider is not None)

    return run_under_mocks(program, disabled_default_providers=("kubernetes", "gcp", "docker", "docker-build", "random", "tls"))


@pytest.fixture(scope="module")
def registry():
    return declare_registry(CONFIG)


def uploads(registration) -> dict[str, str]:
    """The files uploaded into a container (the SDK marks the whole list secret when one file is)."""
    return {u["file"]: u["content"] for u in plain(registration.inputs["uploads"])}


def plain(value):
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


def the_container(registry):
    (container,) = [r for r in registry.of_type("docker:index/container:Container") if r.name == "registry"]
    return container


def test_everything_docker_goes_to_the_build_pc_engine_over_ssh(registry):
    (provider,) = [p for p in registry.of_type("pulumi:providers:docker") if p.name == "registry-build-pc"]
    assert provider.inputs["host"] == "ssh://builder@build-pc.lan"
    assert json.loads(provider.inputs["sshOpts"]) == ["-o", "StrictHostKeyChecking=yes"]
    docker_resources = [r for r in registry.registrations if r.custom and r.package == "docker"]
    assert {r.name for r in docker_resources} == {"registry-data", "registry", "registry-engine-trust"}
    for resource in docker_resources:
        assert resource.provider.startswith(provider.urn + "::"), resource.name
    (buildkit,) = registry.of_type("pulumi:providers:docker-build")
    assert buildkit.inputs["host"] == "ssh://builder@build-pc.lan", "the image is built by the same engine"
    (image,) = registry.of_type("docker-build:index:Image")
    assert image.provider.startswith(buildkit.urn + "::")


def test_the_registry_runs_the_pinned_registry_binary_restarts_and_keeps_its_data_on_a_named_volume(registry):
    (image,) = registry.of_type("docker-build:index:Image")
    assert image.inputs["buildArgs"] == {**versions().image_builds.registry, "SOURCE_DATE_EPOCH": "0"}
    assert image.inputs["context"]["location"] == "images/registry"
    assert image.inputs["builder"] == {"name": "kiban"} and image.inputs["pull"] is False
    assert image.inputs["load"] is True and image.inputs["push"] is False, "into the build PC's engine, nowhere else"
    container = the_container(registry)
    assert container.inputs["image"] == image.inputs["tags"][0] == registry_image_tag(versions().image_builds.registry)
    assert image.urn in container.dependencies, "the container runs the image built there"
    assert container.inputs["restart"] == "unless-stopped"
    assert container.inputs["ports"] == [{"internal": 5000, "external": 5443}]
    (volume,) = registry.of_type("docker:index/volume:Volume")
    assert volume.protect, "dataSafety.protect reaches the volume"
    assert container.inputs["volumes"] == [{"volumeName": volume.inputs["name"], "containerPath": "/var/lib/registry"}]
    assert container.inputs["capabilities"] == {"drops": ["ALL"]}


def test_the_registry_configuration_enables_deletes_tls_and_htpasswd_with_the_uploaded_files(registry):
    files = uploads(the_container(registry))
    config = yaml.safe_load(files[CONFIG_FILE])
    assert config == yaml.safe_load(registry_configuration())
    assert config["storage"]["delete"] == {"enabled": True}
    assert config["http"]["tls"] == {"certificate": CERT_FILE, "key": KEY_FILE}
    assert config["auth"]["htpasswd"]["path"] == HTPASSWD_FILE
    assert {CONFIG_FILE, CA_FILE, CERT_FILE, KEY_FILE, HTPASSWD_FILE, CREDENTIALS_FILE} <= set(files)


def test_the_key_password_and_htpasswd_are_secret_and_the_htpasswd_holds_the_bcrypt_hash(registry):
    container = the_container(registry)
    assert rpc.is_rpc_secret(container.inputs["uploads"]), "the key, htpasswd and password stay secret in state"
    files = uploads(container)
    assert files[HTPASSWD_FILE] == "pusher:$2a$10$mock.bcrypt.registry-password\n"
    assert files[CREDENTIALS_FILE] == "pusher:mock-password-registry-password"
    assert files[KEY_FILE].startswith("-----BEGIN PRIVATE KEY-----\nmock registry-key")


def test_the_certificate_is_signed_by_kibans_ca_for_every_name_the_registry_is_reached_by(registry):
    (ca,) = registry.of_type("tls:index/selfSignedCert:SelfSignedCert")
    assert ca.inputs["isCaCertificate"] is True
    (request,) = registry.of_type("tls:index/certRequest:CertRequest")
    assert request.inputs["dnsNames"] == ["registry.lan", "localhost"]
    assert request.inputs["ipAddresses"] == ["192.168.0.40", "127.0.0.1"]
    (certificate,) = registry.of_type("tls:index/locallySignedCert:LocallySignedCert")
    assert certificate.inputs["caCertPem"] == registry.outputs["ca"]
    assert "server_auth" in certificate.inputs["allowedUses"]
    assert 0 < certificate.inputs["earlyRenewalHours"] < certificate.inputs["validityPeriodHours"]
    files = uploads(the_container(registry))
    assert "mock registry-certificate" in files[CERT_FILE], "the registry serves the signed certificate, not the CA's"
    assert "mock registry-ca" in files[CA_FILE]


def test_the_supervisor_command_parses_and_carries_the_cleanup_schedule(registry):
    parsed = arguments().parse_args(the_container(registry).inputs["command"])
    assert (parsed.keep, parsed.daily_at) == (3, "02:30")
    assert parsed.url == "https://localhost:5000" and parsed.ca_file == CA_FILE
    assert (parsed.config, parsed.credentials_file) == (CONFIG_FILE, CREDENTIALS_FILE)
    files = uploads(the_container(registry))
    assert {"/opt/kiban/registry_cleanup.py", "/opt/kiban/registry_maintenance.py"} <= set(files)


def test_the_build_pc_engine_trusts_the_ca_where_docker_reads_it(registry):
    (trust,) = [r for r in registry.of_type("docker:index/container:Container") if r.name == "registry-engine-trust"]
    assert trust.inputs["volumes"] == [{"hostPath": "/etc/docker/certs.d", "containerPath": "/certs.d"}]
    assert "/certs.d/registry.lan:5443/ca.crt" in trust.inputs["command"][0]
    assert uploads(trust)["/kiban/ca.crt"] == registry.outputs["ca"]
    assert trust.inputs["mustRun"] is False and trust.inputs["attach"] is True


def test_the_k3s_node_configuration_is_secret_and_parses_as_k3s_expects(registry):
    assert rpc.is_rpc_secret(registry.outputs["k3s"])
    config = yaml.safe_load(plain(registry.outputs["k3s"]))
    assert set(config) == {"mirrors", "configs"}
    assert config["mirrors"] == {"registry.lan:5443": {"endpoint": ["https://registry.lan:5443"]}}
    entry = config["configs"]["registry.lan:5443"]
    assert entry["auth"] == {"username": "pusher", "password": "mock-password-registry-password"}
    assert entry["tls"] == {"ca_file": K3S_CA_FILE}, "the CA, and no insecure_skip_verify"


def test_a_reader_provider_exists_only_when_no_build_reports_its_digest(registry):
    assert registry.outputs["readerProvider"] is True
    with_builds = declare_registry(BuildPcRegistryConfig.model_validate({**SETTINGS, "builds": {"context": "app", "version": "sha-1"}}))
    assert with_builds.outputs["readerProvider"] is False
    assert len(with_builds.of_type("pulumi:providers:docker")) == 1


def test_a_new_pin_is_a_new_registry_image_to_run():
    pinned = versions().image_builds.registry
    bumped = {**pinned, "REGISTRY_IMAGE": "docker.io/library/registry:3.1.2"}
    assert registry_image_tag(bumped) != registry_image_tag(pinned) == registry_image_tag(dict(pinned))


def test_each_application_ci_pushes_as_its_own_user():
    """`pushers`: a user of their own beside the nodes' pull user, each with its own generated password, in the
    registry's htpasswd and in the secret output CI reads; the nodes' credential is not among them."""
    config = BuildPcRegistryConfig.model_validate({**SETTINGS, "pushers": ["yomu-ci", "notes-ci"]})

    def program():
        made = BuildPcRegistry(
            "registry",
            BuildPcRegistryArgs(config=config, build_args=versions().image_builds.registry),
            opts=pulumi.ResourceOptions(providers=[pulumi_random.Provider("random"), pulumi_tls.Provider("tls")]),
        )
        pulumi.export("push", pulumi.Output.secret(made.push_credentials))

    deployment = run_under_mocks(
        program, disabled_default_providers=("kubernetes", "gcp", "docker", "docker-build", "random", "tls"))
    files = uploads(the_container(deployment))
    assert files[HTPASSWD_FILE].splitlines() == [
        "pusher:$2a$10$mock.bcrypt.registry-password",
        "yomu-ci:$2a$10$mock.bcrypt.registry-pusher-yomu-ci",
        "notes-ci:$2a$10$mock.bcrypt.registry-pusher-notes-ci",
    ]
    assert files[CREDENTIALS_FILE] == "pusher:mock-password-registry-password", "the supervisor keeps the nodes' user"
    pushed = deployment.outputs["push"]
    assert rpc.is_rpc_secret(pushed) or isinstance(pushed, dict)
    assert plain(pushed) == {"yomu-ci": "mock-password-registry-pusher-yomu-ci",
                             "notes-ci": "mock-password-registry-pusher-notes-ci"}


@pytest.mark.parametrize(
    "pushers, message",
    [(["yomu-ci", "yomu-ci"], "name each pusher once"), (["pusher"], "registry.username, the nodes' user"),
     (["Yomu CI"], "is not a user name")],
)
def test_a_pusher_is_a_user_of_its_own(pushers, message):
    with pytest.raises(ValueError, match=message):
        BuildPcRegistryConfig.model_validate({**SETTINGS, "pushers": pushers})


def test_the_builders_buildkit_trusts_the_registry_ca_as_buildx_copies_it(tmp_path):
    # A docker-container builder reads no /etc/docker/certs.d: its buildkitd.toml names the CA, and buildx copies
    # the file it names (read as given, from where `docker buildx create` runs) into the builder's container.
    config = tomllib.loads(buildkitd_config("registry.lan:5443"))
    assert config == {"registry": {"registry.lan:5443": {"ca": ["kiban-registry-ca.crt"]}}}
