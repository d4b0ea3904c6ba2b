"""`RegistryFacts`: what the stack's registry tells the components that build, push and pull kiban's own images."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class PullCredentials:
    """A user and password that may pull from the registry; the password is an `Output.secret`."""

    username: str
    password: pulumi.Output[str]


@dataclass(frozen=True)
class RegistryFacts:
    """The stack's registry, whichever kind it is (`kiban:registry.kind`)."""

    kind: str
    """`build-pc`, `artifact-registry` or `external`."""

    pull_endpoint: str
    """Where nodes pull from: `host[:port][/path]`, the prefix of every image reference of kiban's own images,
    e.g. `registry.homelab.internal:5000` or `asia-northeast1-docker.pkg.dev/kiban-prod/kiban`."""

    push_endpoint: str
    """Where builds push to (the same registry; for the build PC, the name its own engine reaches it by)."""

    ca_certificate: pulumi.Output[str] | None = None
    """PEM of the CA that signed the registry's certificate when it is not publicly trusted (the build PC's own CA);
    `None` for public roots."""

    pull_credentials: PullCredentials | None = None
    """Credentials pods need to pull (as a `kubernetes.io/dockerconfigjson` Secret); `None` where nodes pull with
    their own identity (GKE nodes from Artifact Registry) or anonymously."""

    def registry_host(self) -> str:
        """The host (with port) of `pull_endpoint`: the key of a docker config's `auths`."""
        return self.pull_endpoint.split("/", 1)[0]


def docker_config_json(host: str, credentials: PullCredentials) -> pulumi.Output[str]:
    """The `.dockerconfigjson` of a pull Secret for `host` (secret)."""

    def render(password: str) -> str:
        token = base64.b64encode(f"{credentials.username}:{password}".encode()).decode()
        return json.dumps({"auths": {host: {"username": credentials.username, "password": password, "auth": token}}})

    return pulumi.Output.secret(credentials.password.apply(render))
