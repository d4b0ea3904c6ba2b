"""`SharedPostgres`: the PostgreSQL the delivered applications share, as a CloudNativePG `Cluster`, with a database
and a login per application and a nightly `pg_dumpall`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.cluster import ClusterFacts
from components.contracts.endpoint import DatabaseEndpoint
from components.contracts.postgres_operator import PostgresOperator
from components.kube.generated_secret import GeneratedSecret, GeneratedSecretArgs
from components.kube.namespace import PlatformNamespace, PlatformNamespaceArgs
from components.kube.network_access import AllowApiServer, AllowApiServerArgs, AllowTraffic, AllowTrafficArgs, PodGroup
from components.kube.pod_spec import ContainerSpec, SecretFiles
from components.kube.scheduled_backup import ScheduledBackup, ScheduledBackupArgs
from components.contracts.stores import SharedPostgresSettings, StoreDurability, store_login
from components.contracts.workloads import compute
from components.contracts import namespaces

NAMESPACE = namespaces.SHARED_POSTGRES
CLUSTER = "shared-postgres"
CNPG_API = "postgresql.cnpg.io/v1"
PORT = 5432
STATUS_PORT = 8000
"""The instance manager's status endpoint, which the operator polls."""
HOST = f"{CLUSTER}-rw.{NAMESPACE}.svc.cluster.local"
"""The operator's read-write Service: always the primary."""
SUPERUSER_SECRET = f"{CLUSTER}-superuser"
"""The Secret the operator writes the `postgres` superuser's credentials to (`enableSuperuserAccess`)."""
SUPERUSER_DIR = "/run/secrets/superuser"


def dump_script(host: str = HOST, port: int = PORT, password_file: str = f"{SUPERUSER_DIR}/password") -> str:
    """The backup step: every database, role and grant of the cluster as one SQL file, read through the primary as
    the superuser (`all.sql` under `$BACKUP_STAGING`). Restore with `psql -f all.sql` into an empty cluster."""
    return (
        f'PGPASSWORD="$(cat {password_file})" exec pg_dumpall --host={host} --port={port} '
        '--username=postgres --file="$BACKUP_STAGING/all.sql"'
    )


@dataclass(frozen=True)
class SharedPostgresArgs:
    """Arguments of `SharedPostgres`."""

    config: SharedPostgresSettings
    """`kiban:sharedData.postgres` (required): instances, sizes, resources, backup."""

    applications: Sequence[str]
    """The applications that use it, by name (required; may be empty): each gets a database and a login."""

    operator: PostgresOperator
    """The CloudNativePG operator (required): its CRDs come first, and its pods reach the instances."""

    cluster: ClusterFacts
    """The cluster (required): Pod Security version, DNS, API server."""

    image: str
    """CloudNativePG's PostgreSQL image (required), pinned in versions.json."""

    shell_image: str
    """A small image with a shell for the backup's own steps (required): a pinned busybox."""

    durability: StoreDurability
    """StorageClass, protection, retention and ready timeout of every volume and of what holds data (required)."""


class SharedPostgres(pulumi.ComponentResource):
    """A CloudNativePG `Cluster` in its own `restricted`, default-deny namespace.

    Each application's login is a role the operator manages from a `kubernetes.io/basic-auth` Secret with a
    generated password (a replaced password is applied by the operator, not ignored); each database is a `Database`
    resource it owns, kept when the resource goes (`databaseReclaimPolicy: retain`). The operator, the instances
    among themselves and the backup reach the instances; the instances reach the API server.
    """

    logins: dict[str, DatabaseEndpoint]
    """Each application's database and login, by application name."""

    pods: PodGroup
    """The instances' pods, for the policies that let clients in."""

    access_after: dict[str, tuple[pulumi.Resource, ...]]
    """What an application's access (its Secret, its policies) waits for, by application name: the namespace, the
    Cluster, its own login and its own database. Not the whole component, which holds every application's login and
    database: each application would wait on all the others', N² dependencies the engine walks on every `up`."""

    def __init__(self, resource_name: str, args: SharedPostgresArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:data:SharedPostgres", resource_name, None, opts)
        namespace = self._namespace(resource_name, args)
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        self.pods = PodGroup(namespace=NAMESPACE, labels={"cnpg.io/cluster": CLUSTER})
        logins = self._login_secrets(resource_name, args, in_namespace)
        cluster = self._cluster(resource_name, args, namespace, logins)
        databases = self._databases(resource_name, args, cluster)
        self.access_after = {app: (namespace, cluster, logins[app], databases[app]) for app in args.applications}
        self.logins = {
            app: DatabaseEndpoint(HOST, PORT, store_login("postgres", app), store_login("postgres", app), secret.values["password"])
            for app, secret in logins.items()
        }
        self._network_policies(resource_name, args, namespace, in_namespace)
        self._backup(resource_name, args, namespace, cluster, in_namespace)
        self.register_outputs({})

    def _namespace(self, resource_name: str, args: SharedPostgresArgs) -> PlatformNamespace:
        """Its own `restricted`, default-deny namespace, protected and kept on delete like the data it holds."""
        return PlatformNamespace(
            f"{resource_name}-namespace",
            PlatformNamespaceArgs.holding_data(NAMESPACE, args.cluster, CLUSTER, args.durability),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _kept(self, args: SharedPostgresArgs, depends_on: list[pulumi.Resource]) -> pulumi.ResourceOptions:
        """Options of what holds data (the Cluster, each Database): protected and kept in the cluster on delete as
        `durability` says."""
        keep = pulumi.ResourceOptions(
            parent=self, protect=args.durability.protect, retain_on_delete=args.durability.retain_volumes
        )
        return pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=depends_on))

    def _login_secrets(
        self, resource_name: str, args: SharedPostgresArgs, in_namespace: pulumi.ResourceOptions
    ) -> dict[str, GeneratedSecret]:
        """Each application's login, by application: a `basic-auth` Secret with a generated password, labelled so
        that the operator applies a changed password to the role it manages from it."""
        return {
            app: GeneratedSecret(
                f"{resource_name}-login-{app}",
                GeneratedSecretArgs(
                    namespace=NAMESPACE,
                    part_of=CLUSTER,
                    generated=["password"],
                    plain={"username": store_login("postgres", app)},
                    protect=args.durability.protect,
                    secret_type="kubernetes.io/basic-auth",
                    labels={"cnpg.io/reload": "true"},  # the operator applies a changed password
                ),
                opts=in_namespace,
            )
            for app in args.applications
        }

    def _cluster(
        self,
        resource_name: str,
        args: SharedPostgresArgs,
        namespace: PlatformNamespace,
        logins: dict[str, GeneratedSecret],
    ) -> k8s.apiextensions.CustomResource:
        """The CloudNativePG `Cluster`: its instances, volumes and resources, the superuser the backup reads with,
        and one managed role per application's login (after the operator's CRDs and the logins' Secrets)."""
        resources = args.config.resources
        return k8s.apiextensions.CustomResource(
            resource_name,
            api_version=CNPG_API,
            kind="Cluster",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CLUSTER, namespace=NAMESPACE),
            spec={
                "instances": args.config.instances,
                "imageName": args.image,
                "primaryUpdateStrategy": "unsupervised",
                "enableSuperuserAccess": True,  # the backup's pg_dumpall reads every database
                "storage": {"size": args.config.storage_size, "storageClass": args.durability.storage_class},
                "resources": {
                    "requests": {"cpu": resources.requests.cpu, "memory": resources.requests.memory},
                    "limits": {"cpu": resources.limits.cpu, "memory": resources.limits.memory},
                },
                "managed": {
                    "roles": [
                        {
                            "name": store_login("postgres", app),
                            "ensure": "present",
                            "login": True,
                            "passwordSecret": {"name": secret.secret_name},
                        }
                        for app, secret in logins.items()
                    ]
                },
            },
            opts=self._kept(args, [namespace, *args.operator.crds, *logins.values()]),
        )

    def _databases(
        self, resource_name: str, args: SharedPostgresArgs, cluster: k8s.apiextensions.CustomResource
    ) -> dict[str, k8s.apiextensions.CustomResource]:
        """Each application's database, by application: a `Database` the operator creates, owned by the
        application's login and kept when the resource goes (`databaseReclaimPolicy: retain`)."""
        return {
            app: k8s.apiextensions.CustomResource(
                f"{resource_name}-{app}",
                api_version=CNPG_API,
                kind="Database",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=app, namespace=NAMESPACE),
                spec={
                    "name": store_login("postgres", app),
                    "owner": store_login("postgres", app),
                    "cluster": {"name": CLUSTER},
                    "ensure": "present",
                    "databaseReclaimPolicy": "retain",
                },
                opts=self._kept(args, [cluster]),
            )
            for app in args.applications
        }

    def _network_policies(
        self,
        resource_name: str,
        args: SharedPostgresArgs,
        namespace: PlatformNamespace,
        in_namespace: pulumi.ResourceOptions,
    ) -> None:
        """Beyond the namespace's default-deny: the operator reaches each instance, the instances reach each other
        (replication, status) and the API server (their instance managers)."""
        operator = PodGroup(namespace=args.operator.namespace, labels=args.operator.labels)
        AllowTraffic(
            f"{resource_name}-operator-to-instances",
            AllowTrafficArgs(
                source=operator, destination=self.pods, ports=[STATUS_PORT, PORT],
                description="the operator polls each instance's status and promotes, fences and reconfigures them",
            ),
            # Half of it lives in the operator's namespace, which exists once the operator's release does.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *args.operator.crds]),
        )
        AllowTraffic(
            f"{resource_name}-instances-to-instances",
            AllowTrafficArgs(
                source=self.pods, destination=self.pods, ports=[PORT, STATUS_PORT],
                description="replicas stream from the primary and the instances check on each other",
            ),
            opts=in_namespace,
        )
        AllowApiServer(
            f"{resource_name}-instances-to-api-server",
            AllowApiServerArgs(
                pods=self.pods, api_server=args.cluster.api_server,
                description="each instance manager reports its state and reads its Cluster and Secrets",
            ),
            opts=in_namespace,
        )

    def _backup(
        self,
        resource_name: str,
        args: SharedPostgresArgs,
        namespace: PlatformNamespace,
        cluster: k8s.apiextensions.CustomResource,
        in_namespace: pulumi.ResourceOptions,
    ) -> None:
        """The nightly `pg_dumpall` of every database, role and grant, read through the primary as the superuser,
        and the policy that lets the backup reach the instances."""
        backup = ScheduledBackup(
            f"{resource_name}-backup",
            ScheduledBackupArgs(
                namespace=NAMESPACE,
                part_of=CLUSTER,
                settings=args.config.backup,
                storage_class=args.durability.storage_class,
                prefix=CLUSTER,
                steps=[
                    ContainerSpec(
                        name="pg-dumpall",
                        image=args.image,
                        resources=compute("100m", "128Mi", "1", "512Mi"),
                        command=["/bin/sh", "-c", dump_script()],
                        secret_files=[SecretFiles(SUPERUSER_SECRET, SUPERUSER_DIR, keys=("password",))],
                    )
                ],
                shell_image=args.shell_image,
                protect=args.durability.protect,
                retain_volume=args.durability.retain_volumes,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, cluster]),
        )
        AllowTraffic(
            f"{resource_name}-backup-to-instances",
            AllowTrafficArgs(
                source=backup.pods, destination=self.pods, ports=[PORT], description="pg_dumpall reads every database"
            ),
            opts=in_namespace,
        )
