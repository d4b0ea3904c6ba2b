"""`PostgresDatabase`: PostgreSQL 15 as a StatefulSet with a generated password and nightly `pg_dump` backups."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.contracts.endpoint import DatabaseEndpoint
from components.kube.generated_secret import GeneratedSecret, GeneratedSecretArgs
from components.kube.network_access import AllowTraffic, AllowTrafficArgs, PodGroup
from components.contracts.exemptions import ScannerExemption
from components.kube.pod_spec import ContainerSpec, EnvLiteral, RunAs, SecretFiles, VolumeMount, WritablePath
from components.kube.scheduled_backup import ScheduledBackup, ScheduledBackupArgs
from components.kube.health_checks import ExecCheck, HealthChecks
from components.kube.service_base import ServicePort
from components.kube.stateful_service import DataVolume, StatefulService, StatefulServiceArgs
from components.contracts.stores import PostgresSettings, StoreDurability
from components.contracts.workloads import compute

PORT = 5432
SECRETS_DIR = "/run/secrets/postgres"
DATA_DIR = "/var/lib/postgresql/data"
POSTGRES_UID = 70
"""The `postgres` user of the official Alpine image: it owns the data directory it initialises."""
SOCKET_DIR = "/var/run/postgresql"

CREDENTIALS_SCRIPT = r"""set -eu
# An empty volume: the image's entrypoint initialises it with these very credentials.
[ -s "$PGDATA/PG_VERSION" ] || exit 0
# A server on the Unix socket only (local connections are trusted, as initdb left them); no failing statement is
# logged, since one of them carries the password.
pg_ctl -D "$PGDATA" -w -t 600 -l /tmp/credentials.log \
  -o "-c listen_addresses='' -c unix_socket_directories=$SOCKET_DIR -c log_min_error_statement=panic" start \
  >/dev/null || { cat /tmp/credentials.log >&2; exit 1; }
refuse() {
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "kiban: $1" >&2
  exit 1
}
sql() { psql -X -w -q -t -A -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -U "$POSTGRES_USER" -d postgres "$@"; }
sql -c 'SELECT 1' >/dev/null 2>/tmp/owner.err || refuse "the data volume was initialised with another owner \
($(cat /tmp/owner.err)). The owner (kiban:faceRecognition.postgres.username) is fixed after the first deploy: \
set it back to the name this stack was first deployed with."
found=$(sql -v db="$POSTGRES_DB" <<'SQL'
SELECT count(*) FROM pg_database WHERE datname = :'db';
SQL
)
[ "$found" = 1 ] || refuse "the data volume has no database \"$POSTGRES_DB\". The database \
(kiban:faceRecognition.postgres.database) is fixed after the first deploy: set it back to the name this stack was \
first deployed with."
# The generated password is the one clients read: make it the owner's (a rotation after its RandomPassword was
# replaced; otherwise the same password again).
sql -v user="$POSTGRES_USER" <<'SQL'
\set password `cat "$POSTGRES_PASSWORD_FILE"`
ALTER ROLE :"user" WITH PASSWORD :'password';
SQL
pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
"""
"""The `credentials` init container's script. On a volume initialised earlier (where the image's entrypoint ignores
`POSTGRES_*`), it starts a socket-only server and refuses a changed owner or database with a message saying what
to do, and sets the owner's password to the generated one, so a replaced password rotates instead of locking the
clients out. Needs `PGDATA`, `POSTGRES_USER`, `POSTGRES_DB`, `POSTGRES_PASSWORD_FILE` and `SOCKET_DIR`."""


@dataclass(frozen=True)
class PostgresDatabaseArgs:
    """Arguments of `PostgresDatabase`."""

    namespace: str
    """Namespace (required; it must exist)."""

    part_of: str
    """`app.kubernetes.io/part-of` (required)."""

    settings: PostgresSettings
    """Database name, owner, sizes, resources, backup schedule (required)."""

    durability: StoreDurability
    """StorageClass, protection, retention and ready timeout of every volume and of what holds data (required)."""

    image: str
    """The PostgreSQL image (required): the official Alpine one, pinned in versions.json; its `postgres` user is
    uid 70."""

    shell_image: str
    """A small image with a shell for the backup's own steps (required): a pinned busybox."""


class PostgresDatabase(pulumi.ComponentResource):
    """One PostgreSQL server with one database and its owner.

    The password is generated, reaches the server as a file (`POSTGRES_PASSWORD_FILE`) and is never in an
    environment literal. The image reads `POSTGRES_*` only when it initialises an empty volume; on every later start
    the `credentials` init container makes the store agree with the Secret: it sets the owner's password to the
    generated one (a replaced password is rotated, not silently ignored) and refuses a changed owner or database
    name with a message saying to set it back. Data lives under a subdirectory of the volume (so initdb never meets `lost+found`).
    `pg_isready` gates readiness, liveness and a startup budget for recovery after a crash. A CronJob writes a
    custom-format `pg_dump` (`postgres-<UTC timestamp>/<database>.dump`) to its own volume every night and deletes
    backups past the retention.
    """

    host: str
    """In-cluster DNS name of the server."""

    port: int
    """TCP port (5432)."""

    database: str
    """Database name."""

    username: str
    """Owner of the database."""

    password: pulumi.Output[str]
    """The owner's password (`Output.secret`); copy it into a client's own Secret, never into env literals."""

    secret_name: pulumi.Output[str]
    """Secret with `username`, `database` and `password`."""

    pods: PodGroup
    """The server's pods."""

    endpoint: DatabaseEndpoint
    """Host, port, database, owner and password, for clients."""

    def __init__(self, resource_name: str, args: PostgresDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:data:PostgresDatabase", resource_name, None, opts)
        self.port = PORT
        self.database = args.settings.database
        self.username = args.settings.username
        credentials = self._credentials(resource_name, args)
        self.password = credentials.values["password"]
        self.secret_name = credentials.secret_name
        password_file = SecretFiles(credentials.secret_name, SECRETS_DIR, keys=("password",))
        server = self._server(resource_name, args, credentials, password_file)
        self.host = server.host
        self.pods = server.pods
        self.endpoint = DatabaseEndpoint(self.host, self.port, self.database, self.username, self.password)
        self._backup(resource_name, args, server, password_file)
        self.register_outputs({"host": self.host, "secret_name": self.secret_name})

    def _credentials(self, resource_name: str, args: PostgresDatabaseArgs) -> GeneratedSecret:
        """The Secret with the owner, the database and a generated password (protected as the data is)."""
        return GeneratedSecret(
            resource_name,
            GeneratedSecretArgs(
                namespace=args.namespace,
                part_of=args.part_of,
                generated=["password"],
                plain={"username": args.settings.username, "database": args.settings.database},
                protect=args.durability.protect,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _server(
        self, resource_name: str, args: PostgresDatabaseArgs, credentials: GeneratedSecret, password_file: SecretFiles
    ) -> StatefulService:
        """The server: a StatefulService on its own volume, as the image's `postgres` user, the password a file;
        `pg_isready` gates readiness, liveness and start-up; the `credentials` init container runs first."""
        settings = args.settings
        server_env = [
            EnvLiteral("POSTGRES_DB", settings.database),
            EnvLiteral("POSTGRES_USER", settings.username),
            EnvLiteral("POSTGRES_PASSWORD_FILE", f"{SECRETS_DIR}/password"),
            EnvLiteral("PGDATA", f"{DATA_DIR}/pgdata"),
        ]
        ready = ExecCheck(("pg_isready", "-U", settings.username, "-d", settings.database, "-h", "127.0.0.1"))
        return StatefulService(
            resource_name,
            StatefulServiceArgs(
                namespace=args.namespace,
                part_of=args.part_of,
                component="database",
                container=ContainerSpec(
                    name="postgres",
                    image=args.image,
                    resources=settings.resources,
                    env=server_env,
                    secret_files=[password_file],
                    writable_paths=[
                        WritablePath("/tmp"),
                        WritablePath(SOCKET_DIR, size_limit="16Mi"),
                        WritablePath("/dev/shm", size_limit=settings.shared_memory, in_memory=True),
                    ],
                ),
                init_containers=[self._credentials_container(args, server_env, password_file)],
                ports=[ServicePort("postgres", PORT)],
                health=HealthChecks(readiness=ready, liveness=ready, startup=ready, startup_budget_seconds=600),
                data_volumes=[DataVolume("data", DATA_DIR, settings.storage_size, args.durability.storage_class)],
                run_as=RunAs(user=POSTGRES_UID, group=POSTGRES_UID, fs_group=POSTGRES_UID),
                scanner_exemptions=[
                    ScannerExemption(
                        "CKV_K8S_40",
                        "runs as the image's postgres user (uid 70), which owns the data directory it initialises",
                    )
                ],
                protect=args.durability.protect,
                retain_volumes=args.durability.retain_volumes,
                termination_grace_period_seconds=60,
                ready_timeout_minutes=args.durability.ready_timeout_minutes,
                # A changed Secret restarts the server, and the `credentials` init container then rotates the
                # password in the store (or refuses a changed owner or database) before the server starts.
                restart_on=[credentials.checksum],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _credentials_container(
        args: PostgresDatabaseArgs, server_env: list[EnvLiteral], password_file: SecretFiles
    ) -> ContainerSpec:
        """The `credentials` init container (`CREDENTIALS_SCRIPT`): on a volume initialised earlier, it makes the
        store's owner password the generated one and refuses a changed owner or database."""
        return ContainerSpec(
            name="credentials",
            image=args.image,
            resources=args.settings.resources,
            command=["/bin/sh", "-c", CREDENTIALS_SCRIPT],
            env=[*server_env, EnvLiteral("SOCKET_DIR", SOCKET_DIR)],
            secret_files=[password_file],
            writable_paths=[WritablePath("/tmp", size_limit="16Mi"), WritablePath(SOCKET_DIR, size_limit="16Mi")],
            mounts=[VolumeMount("data", DATA_DIR)],
        )

    def _backup(
        self, resource_name: str, args: PostgresDatabaseArgs, server: StatefulService, password_file: SecretFiles
    ) -> None:
        """The nightly custom-format `pg_dump` of the database to the backup's own volume, and the policy that lets
        the backup reach the server."""
        settings = args.settings
        dump = (
            f'PGPASSWORD="$(cat {SECRETS_DIR}/password)" exec pg_dump --host={server.host} --port={PORT} '
            f'--username={settings.username} --dbname={settings.database} --format=custom '
            f'--file="$BACKUP_STAGING/{settings.database}.dump"'
        )
        backup = ScheduledBackup(
            f"{resource_name}-backup",
            ScheduledBackupArgs(
                namespace=args.namespace,
                part_of=args.part_of,
                settings=settings.backup,
                storage_class=args.durability.storage_class,
                prefix=resource_name,
                steps=[
                    ContainerSpec(
                        name="pg-dump",
                        image=args.image,
                        resources=compute("100m", "128Mi", "1", "512Mi"),
                        command=["/bin/sh", "-c", dump],
                        secret_files=[password_file],
                    )
                ],
                shell_image=args.shell_image,
                protect=args.durability.protect,
                retain_volume=args.durability.retain_volumes,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        AllowTraffic(
            f"{resource_name}-backup-to-{resource_name}",
            AllowTrafficArgs(
                source=backup.pods, destination=server.pods, ports=[PORT], description="pg_dump reads the database"
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
