"""SharedPostgres: a CloudNativePG Cluster and a Database per application, valid against the operator's own CRD
schemas, logins the operator manages from basic-auth Secrets, the network the operator needs, data that outlives a
destroy, and a nightly pg_dumpall that is run here against a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.runtime import rpc

from components.contracts.postgres_operator import PostgresOperator
from components.data.shared_postgres import (
    CLUSTER,
    HOST,
    NAMESPACE,
    SharedPostgres,
    SharedPostgresArgs,
    dump_script,
)
from components.contracts.stores import SharedPostgresSettings, StoreDurability, store_login
from tests.components.data.test_postgres_database_credentials import root, volume  # noqa: F401 (fixtures)
from tests.servers import PostgreSQL
from tools.crd_schema import schema_errors
from versions import versions

OPERATOR = PostgresOperator(namespace="cnpg-system", labels={"app.kubernetes.io/name": "cloudnative-pg"}, crds=())


@pytest.fixture
def shared(declare, k3s_cpu_facts):
    return declare(
        lambda opts: SharedPostgres(
            "shared-postgres",
            SharedPostgresArgs(
                config=SharedPostgresSettings(instances=3),
                applications=["yomu", "read-later"],
                operator=OPERATOR,
                cluster=k3s_cpu_facts,
                image=versions().images.cnpg_postgres,
                shell_image=versions().images.busybox,
                durability=StoreDurability(storage_class="kiban-retain", protect=True, retain_volumes=True),
            ),
            opts,
        )
    )


def test_the_cluster_and_databases_are_valid_for_the_operator(shared):
    cluster = shared.object("Cluster", CLUSTER)
    assert schema_errors(cluster) == []
    for name in ("yomu", "read-later"):
        assert schema_errors(shared.object("Database", name)) == []
    spec = cluster["spec"]
    assert spec["instances"] == 3 and spec["imageName"] == versions().images.cnpg_postgres
    assert spec["storage"] == {"size": "10Gi", "storageClass": "kiban-retain"}
    assert spec["enableSuperuserAccess"] is True, "the backup reads every database as the superuser"


def test_each_application_owns_its_database_and_logs_in_with_a_generated_password(shared):
    roles = {r["name"]: r for r in shared.object("Cluster", CLUSTER)["spec"]["managed"]["roles"]}
    assert set(roles) == {"yomu", "read_later"}, "a role per application, named as PostgreSQL needs no quoting"
    for app in ("yomu", "read-later"):
        role = roles[store_login("postgres", app)]
        assert role["login"] is True and role["ensure"] == "present"
        secret = shared.object("Secret", role["passwordSecret"]["name"])
        assert secret["type"] == "kubernetes.io/basic-auth"
        assert secret["metadata"]["labels"]["cnpg.io/reload"] == "true", "the operator applies a new password"
        data = rpc.unwrap_rpc_secret(secret["stringData"])
        assert data["username"] == store_login("postgres", app), "the operator refuses a Secret for another role"
        assert data["password"].startswith("mock-password-")
        database = shared.object("Database", app)["spec"]
        assert database == {
            "name": store_login("postgres", app), "owner": store_login("postgres", app), "cluster": {"name": CLUSTER}, "ensure": "present",
            "databaseReclaimPolicy": "retain",
        }


def test_data_outlives_a_destroy_and_is_protected(shared):
    for kind in ("Cluster", "Database"):
        for registration in [r for r in shared.registrations if r.type == f"kubernetes:postgresql.cnpg.io/v1:{kind}"]:
            assert registration.protect and registration.retain_on_delete, registration.name
    namespace = shared.registration("Namespace", NAMESPACE)
    assert namespace.protect and namespace.retain_on_delete
    assert all(p.protect for p in shared.of_type("random:index/randomPassword:RandomPassword"))


def test_the_operator_the_instances_and_the_backup_get_through_the_default_deny(shared):
    policies = {p["metadata"]["name"]: p["spec"] for p in shared.objects("NetworkPolicy")}
    inbound = policies["allow-shared-postgres-operator-to-instances-in"]
    assert inbound["podSelector"] == {"matchLabels": {"cnpg.io/cluster": CLUSTER}}
    (rule,) = inbound["ingress"]
    assert {p["port"] for p in rule["ports"]} == {8000, 5432}
    assert rule["from"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "cnpg-system"}}
    assert {p["port"] for p in policies["allow-shared-postgres-instances-to-instances-in"]["ingress"][0]["ports"]} == {5432, 8000}
    api = policies["allow-shared-postgres-instances-to-api-server"]
    assert api["podSelector"] == {"matchLabels": {"cnpg.io/cluster": CLUSTER}} and api["policyTypes"] == ["Egress"]
    backup = policies["allow-shared-postgres-backup-to-instances-in"]["ingress"][0]
    assert [p["port"] for p in backup["ports"]] == [5432]


def test_the_backup_dumps_through_the_primary_as_the_superuser(shared):
    cronjob = shared.object("CronJob", "shared-postgres-backup")
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    dump = next(c for c in pod["initContainers"] if c["name"] == "pg-dumpall")
    assert dump["command"][-1] == dump_script()
    assert f"--host={HOST}" in dump_script()
    volumes = {v["name"]: v for v in pod["volumes"]}
    secrets = [volumes[m["name"]]["secret"]["secretName"] for m in dump["volumeMounts"] if "secret" in volumes.get(m["name"], {})]
    assert secrets == [f"{CLUSTER}-superuser"], "the Secret the operator writes for enableSuperuserAccess"


def test_the_dump_script_dumps_every_database_of_a_real_server(volume, root: Path):  # noqa: F811 (the fixtures)
    volume = volume("postgres", "yomu", "superuser0password")
    env = volume.env("postgres", "yomu")
    staging = root / "staging"
    staging.mkdir()
    staging.chmod(0o777)  # the backup volume is the backup pod's to write (its fsGroup); here the server's user
    with volume.server(env):
        made = volume.psql(env, "postgres", "yomu", None, "CREATE TABLE bookmarks (url text); INSERT INTO bookmarks VALUES ('https://example.com')")
        assert made.returncode == 0, made.stderr
        script = dump_script(host="127.0.0.1", port=volume.port, password_file=str(volume.secrets / "password"))
        done = volume.run(["/bin/sh", "-c", script], {**env, "BACKUP_STAGING": str(staging)})
        assert done.returncode == 0, done.stderr
    dumped = (staging / "all.sql").read_text()
    assert "CREATE DATABASE yomu" in dumped and "https://example.com" in dumped
    assert "CREATE ROLE postgres" in dumped, "roles and grants come with the databases"


def test_the_dump_script_fails_with_a_wrong_password(volume, root: Path):  # noqa: F811 (the fixtures)
    volume = volume("postgres", "yomu", "superuser0password")
    env = volume.env("postgres", "yomu")
    wrong = root / "wrong"
    wrong.write_text("not-the-password")
    wrong.chmod(0o644)
    with volume.server(env):
        script = dump_script(host="127.0.0.1", port=volume.port, password_file=str(wrong))
        done = volume.run(["/bin/sh", "-c", script], {**env, "BACKUP_STAGING": str(root)})
    assert done.returncode != 0 and "password authentication failed" in done.stderr


def test_the_operand_image_is_cloudnative_pgs_own(postgresql_server: PostgreSQL):
    assert versions().images.cnpg_postgres.startswith("ghcr.io/cloudnative-pg/postgresql:")
    assert postgresql_server.run(["pg_dumpall", "--version"]).returncode == 0
