"""CiIdentity: GitHub's OIDC provider accepts one repository by its ids, each account is impersonable only by its
job's tokens, and each CI identity holds exactly the roles docs/ci-and-delivery.md lists for it."""

from __future__ import annotations

import re
from pathlib import Path

import pulumi
import pulumi_gcp as gcp
import pytest
import yaml

from components.platform.ci_identity import CiIdentity, CiIdentityArgs, job_mapping
from components.contracts.ci import GithubIdentity
from tools.mock_engine import ROOT, Deployment, run_program, run_under_mocks

GITHUB = GithubIdentity(
    repository="acme/kiban", repository_id="42", repository_owner_id="7",
    secrets_key="projects/kiban-prod/locations/asia-northeast2/keyRings/pulumi/cryptoKeys/prod",
    state_bucket="kiban-state",
)
DOC = ROOT / "docs" / "ci-and-delivery.md"


@pytest.fixture(scope="module")
def identity() -> Deployment:
    def program():
        provider = gcp.Provider("gcp", project="kiban-prod", region="asia-northeast2")
        made = CiIdentity("ci", CiIdentityArgs(project="kiban-prod", github=GITHUB,
                                               node_service_accounts={"general": "projects/p/serviceAccounts/n@p"},
                                               node_roles=("roles/logging.logWriter",)),
                          opts=pulumi.ResourceOptions(provider=provider))
        pulumi.export("provider", made.provider_name)
        pulumi.export("emails", made.emails)

    return run_under_mocks(program)


def test_the_provider_trusts_github_for_one_repository_by_its_ids(identity):
    (provider,) = identity.of_type("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    assert provider.inputs["oidc"] == {"issuerUri": "https://token.actions.githubusercontent.com"}
    assert provider.inputs["attributeCondition"] == (
        "assertion.repository_id == '42' && assertion.repository_owner_id == '7'"
    ), "a name can be registered again by someone else; ids cannot"
    assert set(provider.inputs["attributeMapping"]) == {"google.subject", "attribute.job"}, (
        "only claims every GitHub token carries: a mapping of a missing claim fails the token exchange"
    )
    assert identity.outputs["provider"].endswith("/workloadIdentityPools/github/providers/github")


def cel(expression: str, claims: dict) -> str:
    """Evaluates the mapping's CEL with Python's semantics (the subset it uses: ==, &&, startsWith, nested ?:)."""
    match = re.fullmatch(r"\((.*?)\) \? '(\w+)' : (.*)", expression)
    if match is None:
        return expression.strip("'")
    condition = (
        match.group(1).replace("&&", "and").replace("assertion.", "claims.").replace(".startsWith(", ".startswith(")
    )
    namespace = type("Claims", (), claims)
    return match.group(2) if eval(condition, {"claims": namespace}) else cel(match.group(3), claims)  # noqa: S307


def claims(sub: str, ref: str) -> dict:
    return {"sub": f"repo:acme/kiban:{sub}", "ref": ref, "ref_type": ref.split("/")[1][:-1] if ref.count("/") > 1 else "branch"}


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (claims("environment:production", "refs/heads/main"), "deploy"),
        (claims("environment:production", "refs/heads/feature"), "other"),  # production named from a branch
        (claims("environment:production", "refs/tags/v1.4.2"), "other"),  # ...or from a tag: deploy is main's
        (claims("environment:release-images", "refs/tags/v1.4.2"), "images"),
        (claims("environment:release-images", "refs/heads/main"), "other"),
        (claims("environment:release-images", "refs/tags/nightly"), "other"),
        (claims("ref:refs/heads/main", "refs/heads/main"), "scan"),
        (claims("ref:refs/heads/feature", "refs/heads/feature"), "other"),
        (claims("pull_request", "refs/pull/12/merge"), "other"),  # a pull request, a fork's included
        (claims("environment:homelab-preview", "refs/heads/main"), "other"),
        ({"sub": "repo:acme/kiban-fork:environment:production", "ref": "refs/heads/main", "ref_type": "branch"}, "other"),
    ],
)
def test_each_job_maps_to_its_account_and_nothing_else_to_any(token, expected):
    assert cel(job_mapping(GITHUB), token) == expected


def test_each_account_is_impersonable_only_by_its_jobs(identity):
    bindings = {r.name: r.inputs for r in identity.of_type("gcp:serviceaccount/iAMMember:IAMMember")}
    for job in ("deploy", "images", "scan"):
        binding = bindings[f"ci-{job}-impersonation-0"]
        assert binding["role"] == "roles/iam.workloadIdentityUser"
        assert binding["member"].endswith(f"/workloadIdentityPools/github/attribute.job/{job}")
        assert binding["serviceAccountId"].endswith(f"/github-{job}@kiban-prod.iam.gserviceaccount.com")
    assert set(identity.outputs["emails"]) == {"deploy", "images", "scan"}


# --- the documented table against what the prod stack declares ---------------------------------------------------

PLACES = {
    "gcp:projects/iAMMember:IAMMember": "the project",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": "prod's secrets key",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "the state bucket",
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": "kiban's repository",
}


def documented() -> set[tuple[str, str, str, str]]:
    """(account, role, on, condition) rows of the table in docs/ci-and-delivery.md."""
    section = DOC.read_text().split("## Cloud identities", 1)[1]
    rows = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`") and cells[1].startswith("`roles/"):
            account, role = cells[0].strip("`"), cells[1].strip("`")
            rows.add((account, role, cells[2], " ".join(re.findall(r"`([^`]+)`", cells[3]))))
    return rows


def declared(deployment: Deployment) -> set[tuple[str, str, str, str]]:
    """The same rows, from the IAM bindings the stack registers for the CI accounts."""
    accounts = {r.inputs["accountId"].removeprefix("github-"): r for r in deployment.of_type(
        "gcp:serviceaccount/account:Account") if r.inputs["accountId"].startswith("github-")}
    by_email = {f"serviceAccount:{r.inputs['accountId']}@{r.inputs['project']}.iam.gserviceaccount.com": job
                for job, r in accounts.items()}
    node_accounts = {r.inputs["accountId"] for r in deployment.of_type("gcp:serviceaccount/account:Account")} - {
        r.inputs["accountId"] for r in accounts.values()}
    rows = set()
    for resource in deployment.registrations:
        member = resource.inputs.get("member", "")
        if resource.type == "gcp:serviceaccount/iAMMember:IAMMember":
            target = resource.inputs["serviceAccountId"].rsplit("/", 1)[1].split("@")[0]
            if member.startswith("principalSet://"):
                rows.add((target.removeprefix("github-"), resource.inputs["role"], "the account itself",
                          member.split("/workloadIdentityPools/github/", 1)[1]))
                continue
            assert target in node_accounts, f"{resource.name}: a binding on {target}, which is no node account"
            rows.add((by_email[member], resource.inputs["role"], "each node pool's account", ""))
        elif resource.type in PLACES and member in by_email:
            condition = (resource.inputs.get("condition") or {}).get("expression", "")
            granted = " ".join(re.findall(r"'(roles/[^']+)'", condition))
            assert not condition or condition.startswith("api.getAttribute('iam.googleapis.com/modifiedGrantsByRole'"), condition
            rows.add((by_email[member], resource.inputs["role"], PLACES[resource.type], granted))
    return rows


def test_each_identity_holds_exactly_the_roles_its_table_lists():
    table, stack = documented(), declared(run_program("prod"))
    assert len(table) == 14, "the table was read"
    assert stack == table, f"declared but not documented: {stack - table}; documented but not declared: {table - stack}"


def test_no_identity_can_rewrite_its_own_trust_or_grant_itself_a_role():
    rows = declared(run_program("prod"))
    roles = {(account, role, on): condition for account, role, on, condition in rows}
    for dangerous in ("roles/iam.workloadIdentityPoolAdmin", "roles/iam.serviceAccountAdmin", "roles/owner",
                      "roles/editor", "roles/iam.securityAdmin"):
        assert not [r for r in roles if r[1] == dangerous], dangerous
    assert ("deploy", "roles/iam.serviceAccountUser", "the project") not in roles, "acts as node accounts only"
    grantable = roles[("deploy", "roles/resourcemanager.projectIamAdmin", "the project")].split()
    assert grantable and all(role.startswith("roles/") for role in grantable)
    held = {role for _, role, on in roles if on == "the project"}
    assert not set(grantable) & held, "it cannot grant itself (or another CI identity) any project role it holds"
    assert not [r for r in grantable if r.endswith(("Admin", ".admin", "User", "owner", "editor"))], grantable
    assert ("deploy", "roles/compute.securityAdmin", "the project") in roles, "firewall rules"


def test_only_deploy_holds_prods_secrets_key_which_is_the_stacks_secrets_provider():
    rows = declared(run_program("prod"))
    holders = {account for account, role, on, _ in rows if on in ("prod's secrets key", "the state bucket")}
    assert holders == {"deploy"}
    stack_file = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    key = stack_file["config"]["kiban:cluster"]["github"]["secretsKey"]
    assert stack_file["secretsprovider"] == f"gcpkms://{key}", "the key CI may use is the one prod's secrets use"
    assert "secretsprovider" not in yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text()), "dev: a passphrase"


def test_the_attribute_names_the_same_environments_as_the_workflows():
    workflows = {p.name: p.read_text() for p in (ROOT / ".github" / "workflows").glob("*.yml")}
    assert "environment: production" in workflows["deploy-prod.yml"]
    assert "GCP_DEPLOY_SERVICE_ACCOUNT" in workflows["deploy-prod.yml"]
    assert "environment: release-images" in workflows["release.yml"]
    defaults = GithubIdentity(repository="a/b", repository_id="1", repository_owner_id="2")
    assert (defaults.production_environment, defaults.images_environment) == ("production", "release-images")


def test_a_repository_named_instead_of_numbered_is_refused():
    with pytest.raises(ValueError, match="a GitHub repository id"):
        GithubIdentity(repository="a/b", repository_id="acme/kiban", repository_owner_id="2")
    with pytest.raises(ValueError, match="Cloud KMS key name"):
        GithubIdentity(repository="a/b", repository_id="1", repository_owner_id="2", secrets_key="prod")


def test_the_doc_exists_where_the_workflows_point():
    assert Path(DOC).is_file()
