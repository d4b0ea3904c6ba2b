"""`image_pull_secret`: a `kubernetes.io/dockerconfigjson` Secret with the credentials of a private registry, for
the pods of its namespace to name in `imagePullSecrets`."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.labels import platform_labels
from components.contracts.registry import PullCredentials, docker_config_json


def image_pull_secret(
    resource_name: str,
    *,
    namespace: str,
    part_of: str,
    registry_host: str,
    credentials: PullCredentials,
    opts: pulumi.ResourceOptions | None = None,
) -> k8s.core.v1.Secret:
    """The Secret `<resource_name>` in `namespace`: `.dockerconfigjson` with `credentials` for `registry_host`
    (`host[:port]`); its contents are secret in Pulumi's state."""
    return k8s.core.v1.Secret(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=resource_name, namespace=namespace, labels=platform_labels(part_of)),
        type="kubernetes.io/dockerconfigjson",
        string_data={".dockerconfigjson": docker_config_json(registry_host, credentials)},
        opts=opts,
    )
