"""`CiIdentity`: keyless access for GitHub Actions: a Workload Identity Pool with GitHub's OIDC provider, limited to
one repository, and the service accounts its workflows may impersonate, each with exactly the roles its job needs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from stack_config.cluster import GithubIdentity

ISSUER = "https://token.actions.githubusercontent.com"
ACCOUNTS = {
    # account: (roles on the project, who may impersonate it)
    "preview": (("roles/viewer", "roles/container.clusterViewer", "roles/iam.securityReviewer"), "repository"),
    "deploy": (
        ("roles/container.admin", "roles/compute.networkAdmin", "roles/iam.serviceAccountAdmin",
         "roles/iam.workloadIdentityPoolAdmin", "roles/resourcemanager.projectIamAdmin",
         "roles/serviceusage.serviceUsageAdmin", "roles/artifactregistry.admin", "roles/iam.serviceAccountUser"),
        "release",
    ),
    "images": ((), "release"),
}
"""preview: read everything (`pulumi preview` of any branch of the repository). deploy: what `pulumi up` of prod
changes, only from a release: a job in the protected production environment running for a version tag. images:
push to Artifact Registry, from the same release jobs; it holds no project role, only `writer` on kiban's
repository itself (`ArtifactRegistry`)."""

RELEASE = "release"
"""The value of `attribute.release` for a job in the production environment running for a version tag (`v*`)."""


def release_mapping(repository: str, environment: str) -> str:
    """The CEL expression of `attribute.release`: `release` for a production-environment job of a version tag,
    `other` for every other job."""
    subject = f"repo:{repository}:environment:{environment}"
    return (
        f"(assertion.sub == '{subject}' && assertion.ref_type == 'tag' && assertion.ref.startsWith('refs/tags/v'))"
        f" ? '{RELEASE}' : 'other'"
    )


@dataclass(frozen=True)
class CiIdentityArgs:
    """Arguments of `CiIdentity`."""

    project: str
    """The GCP project (required)."""

    github: GithubIdentity
    """The repository and its protected environment (required)."""


class CiIdentity(pulumi.ComponentResource):
    """The pool, GitHub's provider in it, and the three accounts."""

    provider_name: pulumi.Output[str]
    """The provider's full name, for `google-github-actions/auth`'s `workload_identity_provider`."""

    emails: dict[str, pulumi.Output[str]]
    """The accounts' emails by job: `preview`, `deploy`, `images`."""

    def __init__(self, resource_name: str, args: CiIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:platform:CiIdentity", resource_name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        repository = args.github.repository
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
                "attribute.repository": "assertion.repository",
                # `sub` names the environment of a job that has one; `ref` and `ref_type` are in every token. A
                # job may act for a release only in the production environment and for a version tag, so a
                # workflow that names the environment from a branch gets nothing (the environment's own deployment
                # rules are GitHub settings kiban does not manage).
                "attribute.release": release_mapping(repository, args.github.production_environment),
            },
            # Tokens of any other repository are refused before any binding is looked at.
            attribute_condition=f"assertion.repository == '{repository}'",
            opts=child,
        )
        self.provider_name = provider.name
        self.emails = {}
        for job, (roles, who) in ACCOUNTS.items():
            account = gcp.serviceaccount.Account(
                f"{resource_name}-{job}", account_id=f"github-{job}", project=args.project,
                display_name=f"GitHub Actions: {job}", opts=child,
            )
            for role in roles:
                gcp.projects.IAMMember(
                    f"{resource_name}-{job}-{role.split('/')[1].replace('.', '-')}",
                    project=args.project, role=role, member=account.email.apply(lambda e: f"serviceAccount:{e}"),
                    opts=child,
                )
            members = {
                "repository": [pool.name.apply(lambda p: f"principalSet://iam.googleapis.com/{p}/attribute.repository/{repository}")],
                "release": [pool.name.apply(lambda p: f"principalSet://iam.googleapis.com/{p}/attribute.release/{RELEASE}")],
            }
            for index, member in enumerate(members[who]):
                gcp.serviceaccount.IAMMember(
                    f"{resource_name}-{job}-impersonation-{index}",
                    service_account_id=account.name,
                    role="roles/iam.workloadIdentityUser",
                    member=member,
                    opts=child,
                )
            self.emails[job] = account.email
        self.register_outputs({"provider": self.provider_name, **self.emails})
