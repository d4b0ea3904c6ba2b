"""ImageUpdater: the pinned chart and one ImageUpdater resource (v1 API) that follows `latest` by digest and writes
back to git with Argo CD's credentials for the repository, after the release that installs its CRD; and the
applications it cannot update (a plain directory) or write back to (git without credentials) refused at load."""

from __future__ import annotations

import pulumi_kubernetes as k8s
import pytest
from pydantic import ValidationError

from components.platform.image_updater import ImageUpdater, ImageUpdaterArgs, chart_values
from components.platform.argocd_settings import ArgoCdConfig
from tools.crd_schema import schema_errors
from tools.helm import unknown_value_keys
from versions import versions

CHART = versions().charts.argocd_image_updater
CONFIG = ArgoCdConfig.model_validate(
    {
        "autoSync": True,
        "imageUpdater": {},
        "repositoryUsername": "kiban-bot",
        "applications": [
            {"name": "yomu", "repoUrl": "https://github.com/example/yomu.git", "targetRevision": "main", "namespace": "yomu",
             "sourceType": "kustomize", "images": [{"alias": "yomu", "image": "registry.homelab.internal:5000/yomu:latest"}]},
            {"name": "plain", "repoUrl": "https://github.com/example/plain.git", "targetRevision": "main", "namespace": "plain"},
        ],
    },
    by_name=False,
)


def test_one_image_updater_resource_follows_latest_by_digest_and_writes_back_to_git(declare, k3s_cpu_facts):
    def build(opts):
        argocd = k8s.core.v1.ConfigMap("stand-in-for-argocd", opts=opts)
        ImageUpdater(
            "image-updater",
            ImageUpdaterArgs(config=CONFIG.image_updater, applications=CONFIG.applications, cluster=k3s_cpu_facts,
                             chart=CHART, argocd=argocd),
            opts,
        )

    deployment = declare(build)
    resource = deployment.object("ImageUpdater", "kiban")
    assert schema_errors(resource) == []
    assert resource["metadata"]["namespace"] == "argocd"
    spec = resource["spec"]
    assert spec["writeBackConfig"] == {"method": "git:repocreds", "gitConfig": {"branch": "main"}}
    assert spec["applicationRefs"] == [
        {"namePattern": "yomu", "images": [{"alias": "yomu", "imageName": "registry.homelab.internal:5000/yomu:latest",
                                           "commonUpdateSettings": {"updateStrategy": "digest"}}]}
    ], "only applications that follow images"
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    assert release.urn in deployment.registration("ImageUpdater", "kiban").dependencies
    assert any(d.endswith("::stand-in-for-argocd") for d in release.dependencies)
    egress = deployment.object("NetworkPolicy", "allow-image-updater-out")["spec"]["egress"][0]
    assert {p["port"] for p in egress["ports"]} == {22, 443, 5000}


def test_values_name_the_followed_registries_and_exist_in_the_chart():
    values = chart_values(CONFIG.applications)
    assert values["config"]["registries"] == [
        {"name": "registry.homelab.internal:5000", "prefix": "registry.homelab.internal:5000",
         "api_url": "https://registry.homelab.internal:5000", "default": True}
    ]
    assert unknown_value_keys(CHART.archive, values) == []


def test_registry_credentials_and_ca_reach_image_updater(declare, k3s_cpu_facts):
    import pulumi
    from pulumi.runtime import rpc

    ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    config = CONFIG.image_updater.model_copy(update={"registry_username": "kiban", "registry_ca": ca})

    def build(opts):
        argocd = k8s.core.v1.ConfigMap("stand-in-for-argocd", metadata=k8s.meta.v1.ObjectMetaArgs(name="x"), opts=opts)
        ImageUpdater(
            "image-updater",
            ImageUpdaterArgs(config=config, applications=CONFIG.applications, cluster=k3s_cpu_facts, chart=CHART,
                             argocd=argocd, registry_password=pulumi.Output.secret("s3cret")),
            opts,
        )

    deployment = declare(build)
    secret = deployment.object("Secret", "image-updater-registry")
    assert rpc.is_rpc_secret(secret["stringData"]) and rpc.unwrap_rpc_secret(secret["stringData"]) == {"creds": "kiban:s3cret"}
    assert deployment.object("ConfigMap", "image-updater-registry-ca")["data"] == {"ca.crt": ca}
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    values = release.inputs["values"]
    (registry,) = values["config"]["registries"]
    assert registry["credentials"] == "secret:argocd/image-updater-registry#creds"
    assert values["extraEnv"] == [{"name": "SSL_CERT_DIR", "value": "/etc/ssl/certs:/etc/ssl/registry-ca"}]
    assert unknown_value_keys(CHART.archive, chart_values(CONFIG.applications, config)) == []
    assert deployment.registration("Secret", "image-updater-registry").urn in release.dependencies


def test_images_in_the_stacks_own_registry_use_its_credentials_and_ca(declare, k3s_cpu_facts):
    import pulumi
    from pulumi.runtime import rpc

    from components.contracts.registry import PullCredentials, RegistryFacts

    def with_registry(endpoint: str):
        def build(opts):
            own = RegistryFacts(
                kind="build-pc", pull_endpoint=endpoint, push_endpoint=endpoint,
                ca_certificate=pulumi.Output.from_input("-----BEGIN CERTIFICATE-----\nkiban CA\n-----END CERTIFICATE-----\n"),
                pull_credentials=PullCredentials("kiban", pulumi.Output.secret("generated")),
            )
            argocd = k8s.core.v1.ConfigMap("stand-in-for-argocd", metadata=k8s.meta.v1.ObjectMetaArgs(name="x"), opts=opts)
            ImageUpdater(
                "image-updater",
                ImageUpdaterArgs(config=CONFIG.image_updater, applications=CONFIG.applications, cluster=k3s_cpu_facts,
                                 chart=CHART, argocd=argocd, registry=own),
                opts,
            )

        return declare(build)

    deployment = with_registry("registry.homelab.internal:5000")
    secret = deployment.object("Secret", "image-updater-registry")
    assert rpc.unwrap_rpc_secret(secret["stringData"]) == {"creds": "kiban:generated"}
    assert deployment.object("ConfigMap", "image-updater-registry-ca")["data"] == {
        "ca.crt": "-----BEGIN CERTIFICATE-----\nkiban CA\n-----END CERTIFICATE-----\n"
    }
    (release,) = deployment.of_type("kubernetes:helm.sh/v3:Release")
    (registry,) = release.inputs["values"]["config"]["registries"]
    assert registry["credentials"] == "secret:argocd/image-updater-registry#creds"
    assert release.inputs["values"]["extraEnv"] == [{"name": "SSL_CERT_DIR", "value": "/etc/ssl/certs:/etc/ssl/registry-ca"}]
    other = with_registry("registry.elsewhere.internal:5000")
    assert not other.objects("Secret"), "another registry's credentials never go to Image Updater"
    assert [c["metadata"]["name"] for c in other.objects("ConfigMap")] == ["x"], "nor its CA"


def test_a_plain_directory_application_is_refused_with_what_to_do():
    """Image Updater 1.x skips it (argocd-image-updater pkg/argocd/argocd.go: getApplicationType returns
    ApplicationTypeUnsupported for a Directory source, and processApplicationForUpdate logs "skipping app")."""
    entry = {**CONFIG.model_dump(by_alias=True)["applications"][0], "sourceType": "directory"}
    with pytest.raises(ValidationError, match=r"(?s)applications\[0\].images: Image Updater 1.x skips a plain-directory"
                       r".*kustomize create --autodetect.*sourceType: kustomize"):
        ArgoCdConfig.model_validate({"imageUpdater": {}, "repositoryUsername": "bot", "applications": [entry]}, by_name=False)


def test_git_write_back_without_credentials_is_refused():
    """`method: git` means `git:repocreds` (Argo CD's credentials for the repository): without any, every commit
    fails (pkg/argocd/gitcreds.go: "credentials for '...' are not configured in Argo CD settings")."""
    entry = CONFIG.model_dump(by_alias=True)["applications"][0]
    with pytest.raises(ValidationError, match="argocd.repositoryUsername is not set.*or set imageUpdater.writeBack: argocd"):
        ArgoCdConfig.model_validate({"imageUpdater": {}, "applications": [entry]}, by_name=False)
    ArgoCdConfig.model_validate({"imageUpdater": {"writeBack": "argocd"}, "applications": [entry]}, by_name=False)
