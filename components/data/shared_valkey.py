"""`SharedValkey`: the Valkey the delivered applications share: one server, its data on a volume, and an ACL user
per application confined to its own keys and channels."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi

from components.contracts.cluster import ClusterFacts
from components.contracts.endpoint import DatabaseEndpoint
from components.contracts.exemptions import ScannerExemption
from components.kube.generated_secret import GeneratedSecret, GeneratedSecretArgs
from components.kube.health_checks import ExecCheck, HealthChecks
from components.kube.namespace import PlatformNamespace, PlatformNamespaceArgs
from components.kube.network_access import PodGroup
from components.kube.pod_spec import ContainerSpec, RunAs, SecretFiles
from components.kube.service_base import ServicePort
from components.kube.stateful_service import DataVolume, StatefulService, StatefulServiceArgs
from components.contracts.settings import memory_bytes
from components.contracts.stores import VALKEY_PROBE_USER, SharedValkeySettings, StoreDurability
from components.contracts import namespaces

NAMESPACE = namespaces.SHARED_VALKEY
NAME = "shared-valkey"
PORT = 6379
DATA_DIR = "/data"
CONFIG_DIR = "/etc/valkey"
PROBE_DIR = "/run/secrets/probe"
"""Where the health checks read the probe user's password (a file, never an environment variable)."""
PROBE_USER = VALKEY_PROBE_USER
"""The user the health checks log in as: it may run PING and nothing else."""
VALKEY_UID = 999
VALKEY_GID = 1000
"""The `valkey` user and group of the official Alpine image (valkey-io/valkey-container's Dockerfile:
`addgroup -S -g 1000 valkey; adduser -S -G valkey -u 999 valkey`)."""


def password_key(user: str) -> str:
    """The Secret key of a user's generated password."""
    return f"{user}.password"


APPLICATION_COMMANDS = "+@all -@admin -@dangerous +info -scan -randomkey -pubsub|channels -pubsub|shardchannels"
"""What an application's user may run (besides its key and channel patterns): everything but administrative and
dangerous commands, with two corrections. `INFO` comes back: it is in `@dangerous`, but clients call it to learn
whether the server is ready (ioredis and iovalkey's ready check, BullMQ's version and eviction checks) and it shows
no key or value. `SCAN`, `RANDOMKEY` and `PUBSUB CHANNELS`/`SHARDCHANNELS` go (as `KEYS` does with `@dangerous`):
key patterns do not filter what they return, so they would list other applications' key and channel names. The
connection commands clients send when they connect (`AUTH`, `HELLO`, `CLIENT SETNAME`/`SETINFO`, `SELECT`, `PING`)
are in `@connection` and stay allowed."""


def acl_file(passwords: Mapping[str, str]) -> str:
    """`users.acl`: the default user off, the probe user limited to PING, and each application's user (by name)
    confined to keys and channels named `<name>:*`, with `APPLICATION_COMMANDS`. Passwords are stored as SHA-256
    digests, as Valkey keeps them."""

    def digest(password: str) -> str:
        return hashlib.sha256(password.encode()).hexdigest()

    lines = ["user default off resetpass -@all", f"user {PROBE_USER} on #{digest(passwords[PROBE_USER])} -@all +ping"]
    for user, password in sorted(passwords.items()):
        if user != PROBE_USER:
            lines.append(
                f"user {user} on #{digest(password)} resetkeys ~{user}:* resetchannels &{user}:* {APPLICATION_COMMANDS}"
            )
    return "\n".join(lines) + "\n"


def server_configuration(config: SharedValkeySettings) -> str:
    """`valkey.conf`: every interface, no protected mode (the default user is off instead), the append-only file on
    the data volume, the ACL file, and the memory ceiling in bytes."""
    return "\n".join(
        [
            "bind * -::*",
            f"port {PORT}",
            "protected-mode no",
            f"dir {DATA_DIR}",
            "appendonly yes",
            "appendfsync everysec",
            f"aclfile {CONFIG_DIR}/users.acl",
            f"maxmemory {int(memory_bytes(config.max_memory))}",
            f"maxmemory-policy {config.eviction_policy}",
            "",
        ]
    )


@dataclass(frozen=True)
class SharedValkeyArgs:
    """Arguments of `SharedValkey`."""

    config: SharedValkeySettings
    """`kiban:sharedData.valkey` (required): memory, eviction, volume, resources."""

    applications: Sequence[str]
    """The applications that use it, by name (required; may be empty): each gets its own ACL user."""

    cluster: ClusterFacts
    """The cluster (required): Pod Security version and DNS."""

    image: str
    """The Valkey image (required), pinned in versions.json."""

    durability: StoreDurability
    """StorageClass, protection, retention and ready timeout of every volume and of what holds data (required)."""


class SharedValkey(pulumi.ComponentResource):
    """One Valkey server in its own `restricted`, default-deny namespace. Its configuration and ACL file are
    generated into a Secret (the ACL holds password digests); a changed Secret restarts the server, which reads
    the users afresh. Not backed up: its contents (sessions, queues, caches) are expected to be rebuildable; the
    append-only file keeps them across restarts."""

    logins: dict[str, DatabaseEndpoint]
    """Each application's user, by application name (`database` is the key prefix it may use)."""

    pods: PodGroup
    """The server's pods, for the policies that let clients in."""

    access_after: dict[str, tuple[pulumi.Resource, ...]]
    """What an application's access (its Secret, its policies) waits for, by application name: the namespace and
    the server (which waits for the users' Secret). Not the whole component, whose Secret generates every
    application's password: each application would wait on all the others', N² dependencies."""

    def __init__(self, resource_name: str, args: SharedValkeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:data:SharedValkey", resource_name, None, opts)
        namespace = self._namespace(resource_name, args)
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        secret = self._users(resource_name, args, in_namespace)
        server = self._server(resource_name, args, secret, in_namespace)
        self.pods = server.pods
        self.access_after = {app: (namespace, server) for app in args.applications}
        self.logins = {
            app: DatabaseEndpoint(server.host, PORT, f"{app}:", app, secret.values[password_key(app)])
            for app in args.applications
        }
        self.register_outputs({})

    def _namespace(self, resource_name: str, args: SharedValkeyArgs) -> PlatformNamespace:
        """Its own `restricted`, default-deny namespace, protected and kept on delete like the data it holds."""
        return PlatformNamespace(
            f"{resource_name}-namespace",
            PlatformNamespaceArgs.holding_data(NAMESPACE, args.cluster, NAME, args.durability),
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _users(resource_name: str, args: SharedValkeyArgs, in_namespace: pulumi.ResourceOptions) -> GeneratedSecret:
        """The Secret the server reads: a generated password for the probe user and for each application's user,
        `users.acl` made from them (as digests) and `valkey.conf`."""
        users = [PROBE_USER, *args.applications]
        configuration = server_configuration(args.config)
        return GeneratedSecret(
            f"{resource_name}-users",
            GeneratedSecretArgs(
                namespace=NAMESPACE,
                part_of=NAME,
                generated=[password_key(user) for user in users],
                derived={
                    "users.acl": lambda generated: pulumi.Output.all(
                        *(generated[password_key(user)] for user in users)
                    ).apply(lambda passwords: acl_file(dict(zip(users, passwords, strict=False)))),
                    "valkey.conf": lambda _: pulumi.Output.from_input(configuration),
                },
                protect=args.durability.protect,
            ),
            opts=in_namespace,
        )

    @staticmethod
    def _server(
        resource_name: str, args: SharedValkeyArgs, secret: GeneratedSecret, in_namespace: pulumi.ResourceOptions
    ) -> StatefulService:
        """The one Valkey server: configured from the users' Secret (and restarted when it changes), checked by the
        probe user's PING, as the image's `valkey` user, its append-only file on a volume kept like the data."""
        ping = ExecCheck(
            (
                "/bin/sh",
                "-c",
                f'VALKEYCLI_AUTH="$(cat {PROBE_DIR}/{password_key(PROBE_USER)})" '
                f"valkey-cli --user {PROBE_USER} --no-auth-warning ping | grep -qx PONG",
            )
        )
        return StatefulService(
            resource_name,
            StatefulServiceArgs(
                namespace=NAMESPACE,
                part_of=NAME,
                component="cache",
                container=ContainerSpec(
                    name="valkey",
                    image=args.image,
                    resources=args.config.resources,
                    command=["valkey-server", f"{CONFIG_DIR}/valkey.conf"],
                    secret_files=[
                        SecretFiles(secret.secret_name, CONFIG_DIR, keys=("valkey.conf", "users.acl")),
                        SecretFiles(secret.secret_name, PROBE_DIR, keys=(password_key(PROBE_USER),)),
                    ],
                ),
                ports=[ServicePort("valkey", PORT)],
                health=HealthChecks(readiness=ping, liveness=ping, startup=ping, startup_budget_seconds=300),
                data_volumes=[DataVolume("data", DATA_DIR, args.config.storage_size, args.durability.storage_class)],
                run_as=RunAs(user=VALKEY_UID, group=VALKEY_GID, fs_group=VALKEY_GID),
                scanner_exemptions=[
                    ScannerExemption("CKV_K8S_40", "runs as the image's valkey user (uid 999), which owns /data")
                ],
                protect=args.durability.protect,
                retain_volumes=args.durability.retain_volumes,
                termination_grace_period_seconds=30,
                ready_timeout_minutes=args.durability.ready_timeout_minutes,
                restart_on=[secret.checksum],
            ),
            opts=in_namespace,
        )
