"""Who may act for the stack from CI: the GitHub repository (and its environments) whose workflows get keyless
access to a GKE stack's project. The cluster's settings carry it (`cluster.github`); `CiIdentity` builds on it."""

from __future__ import annotations

from typing import Annotated

from components.contracts.settings import ConfigModel, KubernetesName, worded


class GithubIdentity(ConfigModel):
    """GitHub Actions' keyless access to the project (Workload Identity Federation)."""

    repository: Annotated[
        str,
        worded(
            r"[A-Za-z0-9](-?[A-Za-z0-9]){0,38}/(?!\.\.?$)[A-Za-z0-9_.-]{1,100}",
            "owner/name of a GitHub repository (the owner: letters, digits and single '-'; the name: letters, digits, "
            "'_', '.', '-', not '.' or '..')",
        ),
    ]
    """The repository whose workflows may authenticate (`owner/name`, as its tokens' `sub` spells it). Required."""

    repository_id: Annotated[str, worded(r"[1-9][0-9]{0,19}", "a GitHub repository id (digits)")]
    """The repository's numeric id (`gh api repos/OWNER/NAME --jq .id`): the provider accepts tokens of this
    repository only. A name can be registered again after a rename or deletion; an id cannot. Required."""

    repository_owner_id: Annotated[str, worded(r"[1-9][0-9]{0,19}", "a GitHub account id (digits)")]
    """The numeric id of the repository's owner (`gh api repos/OWNER/NAME --jq .owner.id`). Required."""

    production_environment: KubernetesName = "production"
    """The protected GitHub environment whose jobs of main may apply prod (the deploy account). Default:
    `production`."""

    images_environment: KubernetesName = "release-images"
    """The GitHub environment whose jobs of a version tag may push release images (the images account), and
    nothing else. Default: `release-images`."""

    secrets_key: Annotated[
        str,
        worded(
            r"projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/locations/[a-z0-9-]+/keyRings/[A-Za-z0-9_-]+/cryptoKeys/[A-Za-z0-9_-]+",
            "a Cloud KMS key name (projects/P/locations/L/keyRings/R/cryptoKeys/K)",
        ),
    ] | None = None
    """The Cloud KMS key of the stack's secrets provider (`secretsprovider: gcpkms://<key>` in the stack file),
    created once by hand; only the deploy account may encrypt and decrypt with it. Default: none."""

    state_bucket: Annotated[str, worded(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]", "a Cloud Storage bucket name")] | None = None
    """The Cloud Storage bucket of the Pulumi state (`PULUMI_BACKEND_URL=gs://<bucket>`), created once by hand;
    only the deploy account may read and write its objects. Default: none."""
