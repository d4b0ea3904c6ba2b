"""ArtifactRegistry under mocks: a DOCKER repository in the stack's region with clean-up policies written as the API
keeps them, and read and write bindings on the repository alone."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pytest

from components.platform.artifact_registry import ArtifactRegistry, ArtifactRegistryArgs, member_label
from components.platform.registry_settings import ArtifactRegistry as ArtifactRegistryConfig
from tools.mock_engine import run_under_mocks


@pytest.fixture(scope="module")
def repository():
    config = ArtifactRegistryConfig.model_validate(
        {"kind": "artifact-registry", "keepVersions": 4, "deleteUntaggedAfterDays": 3,
         "readers": ["group:readers@example.com"], "writers": ["serviceAccount:release@p.iam.gserviceaccount.com"]}
    )

    def program():
        provider = gcp.Provider("gcp", project="kiban-prod", region="asia-northeast2")
        made = ArtifactRegistry(
            "registry",
            ArtifactRegistryArgs(
                config=config,
                project="kiban-prod",
                location="asia-northeast2",
                readers={"general-nodes": "serviceAccount:nodes@kiban-prod.iam.gserviceaccount.com"},
                writers={"ci-images": "serviceAccount:github-images@kiban-prod.iam.gserviceaccount.com"},
                protect=True,
            ),
            opts=pulumi.ResourceOptions(provider=provider),
        )
        pulumi.export("endpoint", made.facts.pull_endpoint)
        pulumi.export("credentials", made.facts.pull_credentials is None)

    return run_under_mocks(program)


def test_a_protected_docker_repository_in_the_region_with_immutable_tags(repository):
    (repo,) = repository.of_type("gcp:artifactregistry/repository:Repository")
    assert (repo.inputs["format"], repo.inputs["location"], repo.inputs["project"]) == ("DOCKER", "asia-northeast2", "kiban-prod")
    assert repo.inputs["repositoryId"] == "kiban" and repo.protect
    assert repo.inputs["dockerConfig"] == {"immutableTags": True}, "a release tag always means the same image"
    assert repository.outputs["endpoint"] == "asia-northeast2-docker.pkg.dev/kiban-prod/kiban"
    assert repository.outputs["credentials"] is True, "nodes pull with their own service accounts"


def test_cleanup_keeps_the_newest_versions_and_deletes_old_untagged_ones_in_seconds(repository):
    (repo,) = repository.of_type("gcp:artifactregistry/repository:Repository")
    assert repo.inputs["cleanupPolicyDryRun"] is False
    policies = {p["id"]: p for p in repo.inputs["cleanupPolicies"]}
    assert policies["keep-newest-versions"] == {
        "id": "keep-newest-versions", "action": "KEEP", "mostRecentVersions": {"keepCount": 4}
    }
    untagged = policies["delete-old-untagged"]
    assert untagged["action"] == "DELETE"
    assert untagged["condition"] == {"tagState": "UNTAGGED", "olderThan": f"{3 * 86400}s"}


def test_read_for_the_nodes_and_write_for_ci_on_the_repository_only(repository):
    bindings = {r.name: (r.inputs["role"], r.inputs["member"]) for r in repository.of_type(
        "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")}
    assert bindings == {
        "registry-reader-general-nodes": ("roles/artifactregistry.reader", "serviceAccount:nodes@kiban-prod.iam.gserviceaccount.com"),
        "registry-reader-group-readers-example-com": ("roles/artifactregistry.reader", "group:readers@example.com"),
        "registry-writer-ci-images": ("roles/artifactregistry.writer", "serviceAccount:github-images@kiban-prod.iam.gserviceaccount.com"),
        "registry-writer-serviceaccount-release-p-iam-gserviceaccount-com": (
            "roles/artifactregistry.writer", "serviceAccount:release@p.iam.gserviceaccount.com"),
    }
    for member in repository.of_type("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"):
        assert member.inputs["repository"] == "kiban" and member.inputs["location"] == "asia-northeast2"


def test_a_configured_member_labels_its_binding_by_itself():
    assert member_label("serviceAccount:A.b@x.iam.gserviceaccount.com") == "serviceaccount-a-b-x-iam-gserviceaccount-com"
