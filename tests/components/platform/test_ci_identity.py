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
    assert bindings["ci-deploy-impersonation-0"].endswith("/attribute.release/release")
    assert bindings["ci-images-impersonation-0"].endswith("/attribute.release/release")
    assert set(identity.outputs["emails"]) == {"preview", "deploy", "images"}


def cel(expression: str, claims: dict) -> str:
    """Evaluates the mapping's CEL with Python's semantics (the subset it uses: ==, &&, startsWith, ?:)."""
    python = (
        expression.replace("&&", "and").replace("assertion.", "claims.")
        .replace(".startsWith(", ".startswith(")
    )
    condition, outcomes = python.split(" ? ")
    yes, no = outcomes.split(" : ")
    namespace = type("Claims", (), claims)
    return eval(yes if eval(condition, {"claims": namespace}) else no)  # noqa: S307 (a test of our own string)


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"sub": "repo:acme/kiban:environment:production", "ref_type": "tag", "ref": "refs/tags/v1.4.2"}, "release"),
        ({"sub": "repo:acme/kiban:environment:production", "ref_type": "branch", "ref": "refs/heads/main"}, "other"),
        ({"sub": "repo:acme/kiban:environment:production", "ref_type": "branch", "ref": "refs/heads/vbranch"}, "other"),
        ({"sub": "repo:acme/kiban:environment:production", "ref_type": "tag", "ref": "refs/tags/nightly"}, "other"),
        ({"sub": "repo:acme/kiban:ref:refs/tags/v1.4.2", "ref_type": "tag", "ref": "refs/tags/v1.4.2"}, "other"),
        ({"sub": "repo:acme/kiban:environment:preview", "ref_type": "tag", "ref": "refs/tags/v1.4.2"}, "other"),
    ],
)
def test_only_a_production_job_of_a_version_tag_acts_for_a_release(identity, claims, expected):
    (provider,) = identity.of_type("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    mapping = provider.inputs["attributeMapping"]
    assert set(mapping) == {"google.subject", "attribute.repository", "attribute.release"}, (
        "only claims every GitHub token carries: a mapping of a missing claim fails the token exchange"
    )
    assert cel(mapping["attribute.release"], claims) == expected


def test_the_release_workflow_only_runs_for_tags_the_identity_trusts():
    from pathlib import Path

    release = (Path(__file__).resolve().parents[3] / ".github" / "workflows" / "release.yml").read_text()
    assert "^v[0-9]+" in release and "environment: production" in release


def test_roles_are_exactly_what_each_job_needs(identity):
    roles: dict[str, set[str]] = {}
    for member in identity.of_type("gcp:projects/iAMMember:IAMMember"):
        job = member.name.split("-")[1]
        roles.setdefault(job, set()).add(member.inputs["role"])
    assert "images" not in roles, "images writes to kiban's repository only (a binding on the repository itself)"
    assert "roles/container.admin" not in roles["preview"] and "roles/owner" not in set().union(*roles.values())
