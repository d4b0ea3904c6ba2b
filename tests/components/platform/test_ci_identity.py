"""CiIdentity: GitHub's OIDC provider limited to one repository, and accounts each with exactly its roles and
impersonable only by the right jobs."""

from __future__ import annotations

import pulumi_gcp as gcp
import pytest

from components.platform.ci_identity import CiIdentity, CiIdentityArgs
from stack_config.cluster import GithubIdentity
from tools.mock_engine import run_under_mocks


@pytest.fixture(scope="module")
def identity():
    import pulumi

    def program():
        provider = gcp.Provider("gcp", project="kiban-prod", region="asia-northeast2")
        made = CiIdentity("ci", CiIdentityArgs(project="kiban-prod", github=GithubIdentity(repository="acme/kiban")),
                          opts=pulumi.ResourceOptions(provider=provider))
        pulumi.export("provider", made.provider_name)
        pulumi.export("emails", made.emails)

    return run_under_mocks(program)


def test_the_provider_trusts_github_for_one_repository_only(identity):
    (provider,) = identity.of_type("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    assert provider.inputs["oidc"] == {"issuerUri": "https://token.actions.githubusercontent.com"}
    assert provider.inputs["attributeCondition"] == "assertion.repository == 'acme/kiban'"
    assert provider.inputs["attributeMapping"]["attribute.repository"] == "assertion.repository"
    assert identity.outputs["provider"].endswith("/workloadIdentityPools/github/providers/github")


def test_each_account_is_impersonable_only_by_its_jobs(identity):
    bindings = {r.name: r.inputs["member"] for r in identity.of_type("gcp:serviceaccount/iAMMember:IAMMember")}
    assert bindings["ci-preview-impersonation-0"].endswith("/attribute.repository/acme/kiban")
    assert bindings["ci-deploy-impersonation-0"].endswith("/subject/repo:acme/kiban:environment:production")
    assert bindings["ci-images-impersonation-0"].endswith("/subject/repo:acme/kiban:environment:production")
    assert set(identity.outputs["emails"]) == {"preview", "deploy", "images"}


def test_roles_are_exactly_what_each_job_needs(identity):
    roles: dict[str, set[str]] = {}
    for member in identity.of_type("gcp:projects/iAMMember:IAMMember"):
        job = member.name.split("-")[1]
        roles.setdefault(job, set()).add(member.inputs["role"])
    assert roles["images"] == {"roles/artifactregistry.writer"}
    assert "roles/container.admin" not in roles["preview"] and "roles/owner" not in set().union(*roles.values())
