"""`ArtifactRegistry`: the Artifact Registry DOCKER repository kiban's release images live in (prod), with its
clean-up policies and who may read and write it."""

from __future__ import annotations

from dataclasses import dataclass, field
import re
from typing import Mapping, Sequence

import pulumi
import pulumi_gcp as gcp

from components.contracts.registry import RegistryFacts
from components.platform.registry_settings import ArtifactRegistry as ArtifactRegistryConfig

SECONDS_PER_DAY = 24 * 60 * 60


def cleanup_policies(config: ArtifactRegistryConfig) -> list[gcp.artifactregistry.RepositoryCleanupPolicyArgs]:
    """Keep the newest `keepVersions` of every image; delete untagged versions older than the period, written in
    seconds as the API keeps it (a `7d` would read back as `604800s` and show a diff on every run)."""
    return [
        gcp.artifactregistry.RepositoryCleanupPolicyArgs(
            id="keep-newest-versions",
            action="KEEP",
            most_recent_versions=gcp.artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(
                keep_count=config.keep_versions
            ),
        ),
        gcp.artifactregistry.RepositoryCleanupPolicyArgs(
            id="delete-old-untagged",
            action="DELETE",
            condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(
                tag_state="UNTAGGED",
                older_than=f"{config.delete_untagged_after_days * SECONDS_PER_DAY}s",
            ),
        ),
    ]


def member_label(member: str) -> str:
    """A name part for a binding of a configured member: the member in lower-case letters, digits and '-' (so the
    binding's URN follows the member, not its position in a list)."""
    return re.sub(r"[^a-z0-9]+", "-", member.lower()).strip("-")


@dataclass(frozen=True)
class ArtifactRegistryArgs:
    """Arguments of `ArtifactRegistry`."""

    config: ArtifactRegistryConfig
    """`kiban:registry` with `kind: artifact-registry` (required)."""

    project: str
    """The GCP project (required)."""

    location: str
    """The repository's region (required)."""

    readers: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """IAM members that pull (`serviceAccount:...`) by a stable label, e.g. the GKE nodes' accounts by pool; with
    `config.readers` (labelled by themselves). Default: none."""

    writers: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """IAM members that push, by label: CI's `images` account; with `config.writers`. Default: none."""

    protect: bool = False
    """Pulumi `protect` on the repository (deleting it deletes every release image). Default: false."""

    after: Sequence[pulumi.Resource] = ()
    """What the repository and its bindings wait for: the project's enabled APIs (Artifact Registry) where kiban
    enables them. Default: nothing."""


class ArtifactRegistry(pulumi.ComponentResource):
    """The repository, its clean-up policies, and `roles/artifactregistry.reader`/`writer` bindings on it alone.
    `opts` must carry the stack's explicit gcp provider."""

    repository: gcp.artifactregistry.Repository
    facts: RegistryFacts
    """Endpoints (no CA, no pull credentials: nodes pull with their own service accounts)."""

    def __init__(self, resource_name: str, args: ArtifactRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:platform:ArtifactRegistry", resource_name, None, opts)
        config = args.config
        self.repository = gcp.artifactregistry.Repository(
            resource_name,
            project=args.project,
            location=args.location,
            repository_id=config.repository_id,
            format="DOCKER",
            description="kiban's release images",
            docker_config=gcp.artifactregistry.RepositoryDockerConfigArgs(immutable_tags=True),
            cleanup_policies=cleanup_policies(config),
            cleanup_policy_dry_run=False,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=list(args.after)),
        )
        bindings = {
            "reader": {**args.readers, **{member_label(m): m for m in config.readers}},
            "writer": {**args.writers, **{member_label(m): m for m in config.writers}},
        }
        for role, members in bindings.items():
            for label, member in members.items():
                gcp.artifactregistry.RepositoryIamMember(
                    f"{resource_name}-{role}-{label}",
                    project=args.project,
                    location=args.location,
                    repository=self.repository.repository_id,
                    role=f"roles/artifactregistry.{role}",
                    member=member,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.after)),
                )
        endpoint = config.endpoint(args.project, args.location)
        self.facts = RegistryFacts(kind=config.kind, pull_endpoint=endpoint, push_endpoint=endpoint)
        self.register_outputs({"endpoint": endpoint})
