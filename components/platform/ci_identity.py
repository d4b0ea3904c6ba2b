"""`CiIdentity`: keyless access for GitHub Actions: a Workload Identity Pool with GitHub's OIDC provider that
accepts one repository (by its id), and one service account per CI job, each impersonable only by that job's
tokens and holding only the roles docs/ci-and-delivery.md lists for it (tests/components/platform/test_ci_identity.py
compares the two).

Nothing here can be changed by CI itself: the deploy account holds no role that edits the pool, the provider, the
accounts, their roles or who may impersonate them (no `projectIamAdmin` beyond the node accounts' roles, no
`workloadIdentityPoolAdmin`, no `serviceAccountAdmin`, no project-wide `serviceAccountUser`). A change to this
component is applied by a project owner from a laptop (docs/ci-and-delivery.md, "Cloud identities").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_gcp as gcp

from components.contracts.ci import GithubIdentity

ISSUER = "https://token.actions.githubusercontent.com"
OTHER = "other"
"""`attribute.job` of every token no account trusts."""


@dataclass(frozen=True)
class ProjectRole:
    """A role on the project, with an IAM condition when the role is wider than the job needs."""

    role: str
    condition_title: str | None = None
    condition: str | None = None


def grants_only(roles: Sequence[str]) -> str:
    """The IAM condition that lets an IAM admin grant and revoke only `roles` (Google's `modifiedGrantsByRole`,
    "Setting limits on granting roles")."""
    quoted = ", ".join(f"'{role}'" for role in roles)
    return f"api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([{quoted}])"


def deploy_project_roles(node_roles: Sequence[str]) -> tuple[ProjectRole, ...]:
    """What `pulumi up` of prod changes on the project: the cluster and its Kubernetes objects, the network and its
    firewall rules (`compute.networkAdmin` cannot change firewall rules: `compute.securityAdmin` can), the release
    repository, the APIs, and the node accounts' roles (and no other role)."""
    return (
        ProjectRole("roles/container.admin"),
        ProjectRole("roles/compute.networkAdmin"),
        ProjectRole("roles/compute.securityAdmin"),
        ProjectRole("roles/artifactregistry.admin"),
        ProjectRole("roles/serviceusage.serviceUsageAdmin"),
        ProjectRole(
            "roles/resourcemanager.projectIamAdmin",
            "node-account-roles-only",
            grants_only(node_roles),
        ),
    )


def job_mapping(github: GithubIdentity) -> str:
    """The CEL of `attribute.job`: which account a token may impersonate, from claims every GitHub token carries
    (`sub`, `ref`, `ref_type`; a mapping of a missing claim fails the token exchange). `sub` names the environment
    of a job that has one and the ref of one that has not (GitHub's default subject format):

    - `deploy`: a job in the production environment running on main;
    - `images`: a job in the images environment running for a version tag (`refs/tags/v*`);
    - `scan`: a job of main with no environment (the daily scan);
    - `other`: everything else, pull requests included."""
    repository = github.repository
    cases = [
        (f"assertion.sub == 'repo:{repository}:environment:{github.production_environment}'"
         " && assertion.ref == 'refs/heads/main'", "deploy"),
        (f"assertion.sub == 'repo:{repository}:environment:{github.images_environment}'"
         " && assertion.ref_type == 'tag' && assertion.ref.startsWith('refs/tags/v')", "images"),
        (f"assertion.sub == 'repo:{repository}:ref:refs/heads/main'", "scan"),
    ]
    expression = f"'{OTHER}'"
    for condition, job in reversed(cases):
        expression = f"({condition}) ? '{job}' : {expression}"
    return expression


def attribute_condition(github: GithubIdentity) -> str:
    """Tokens of any other repository are refused before any binding is looked at: by the repository's and its
    owner's ids, which, unlike names, are never given to another repository."""
    return (
        f"assertion.repository_id == '{github.repository_id}'"
        f" && assertion.repository_owner_id == '{github.repository_owner_id}'"
    )


@dataclass(frozen=True)
class CiIdentityArgs:
    """Arguments of `CiIdentity`."""

    project: str
    """The GCP project (required)."""

    github: GithubIdentity
    """The repository, its environments, and the state bucket and secrets key of the stack (required)."""

    node_service_accounts: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """The GKE node pools' service accounts (their `name`s) by pool: the deploy account may run node pools as
    these and no other account. Default: none."""

    node_roles: Sequence[str] = ()
    """The project roles the node accounts hold: the only roles the deploy account may grant. Default: none."""

    after: Sequence[pulumi.Resource] = ()
    """What every resource waits for: the project's enabled APIs (IAM, Resource Manager), without which a fresh
    project answers SERVICE_DISABLED. Default: nothing."""


JOBS = ("deploy", "images", "scan")
"""The accounts, by the job whose tokens may impersonate them (`attribute.job`)."""


class CiIdentity(pulumi.ComponentResource):
    """The pool, GitHub's provider in it, the three accounts, their roles, and who may impersonate them."""

    provider_name: pulumi.Output[str]
    """The provider's full name, for `google-github-actions/auth`'s `workload_identity_provider`."""

    emails: dict[str, pulumi.Output[str]]
    """The accounts' emails by job: `deploy`, `images`, `scan`."""

    members: dict[str, pulumi.Output[str]]
    """`serviceAccount:<email>` by job, for bindings on resources other components own (the release repository)."""

    def __init__(self, resource_name: str, args: CiIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:platform:CiIdentity", resource_name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.after))
        pool = gcp.iam.WorkloadIdentityPool(
            f"{resource_name}-pool", project=args.project, workload_identity_pool_id="github",
            display_name="GitHub Actions", opts=child,
        )
        provider = gcp.iam.WorkloadIdentityPoolProvider(
            f"{resource_name}-github",
            project=args.project,
            workload_identity_pool_id=pool.workload_identity_pool_id,
            workload_identity_pool_provider_id="github",
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=ISSUER),
            attribute_mapping={
                "google.subject": "assertion.sub",
                "attribute.job": job_mapping(args.github),
            },
            attribute_condition=attribute_condition(args.github),
            opts=child,
        )
        self.provider_name = provider.name
        self.emails, self.members = {}, {}
        project_roles = {"deploy": deploy_project_roles(args.node_roles), "images": (), "scan": ()}
        for job in JOBS:
            # `scan` was `preview` (which read the whole project for previews no pull request may run any more).
            renamed = [pulumi.Alias(name=f"{resource_name}-preview")] if job == "scan" else []
            account = gcp.serviceaccount.Account(
                f"{resource_name}-{job}", account_id=f"github-{job}", project=args.project,
                display_name=f"GitHub Actions: {job}",
                opts=pulumi.ResourceOptions(parent=self, aliases=renamed, depends_on=list(args.after)),
            )
            member = account.email.apply(lambda e: f"serviceAccount:{e}")
            for grant in project_roles[job]:
                gcp.projects.IAMMember(
                    f"{resource_name}-{job}-{grant.role.split('/')[1].replace('.', '-')}",
                    project=args.project, role=grant.role, member=member,
                    condition=(
                        gcp.projects.IAMMemberConditionArgs(title=grant.condition_title, expression=grant.condition)
                        if grant.condition
                        else None
                    ),
                    opts=child,
                )
            gcp.serviceaccount.IAMMember(
                f"{resource_name}-{job}-impersonation-0",
                service_account_id=account.name,
                role="roles/iam.workloadIdentityUser",
                member=pool.name.apply(lambda p, job=job: f"principalSet://iam.googleapis.com/{p}/attribute.job/{job}"),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    aliases=[pulumi.Alias(name=f"{resource_name}-preview-impersonation-0")] if job == "scan" else [],
                    depends_on=list(args.after),
                ),
            )
            self.emails[job], self.members[job] = account.email, member
        self._deploy_resources(resource_name, args, self.members["deploy"])
        self.register_outputs({"provider": self.provider_name, **self.emails})

    def _deploy_resources(self, resource_name: str, args: CiIdentityArgs, member: pulumi.Output[str]) -> None:
        """The deploy account on single resources: acting as the node accounts (to create node pools that run as
        them), the stack's secrets key and its state bucket."""
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.after))
        for pool, node_account in args.node_service_accounts.items():
            gcp.serviceaccount.IAMMember(
                f"{resource_name}-deploy-acts-as-{pool}-nodes", service_account_id=node_account,
                role="roles/iam.serviceAccountUser", member=member, opts=child,
            )
        if args.github.secrets_key:
            gcp.kms.CryptoKeyIAMMember(
                f"{resource_name}-deploy-secrets-key", crypto_key_id=args.github.secrets_key,
                role="roles/cloudkms.cryptoKeyEncrypterDecrypter", member=member, opts=child,
            )
        if args.github.state_bucket:
            gcp.storage.BucketIAMMember(
                f"{resource_name}-deploy-state-bucket", bucket=args.github.state_bucket,
                role="roles/storage.objectUser", member=member, opts=child,
            )
