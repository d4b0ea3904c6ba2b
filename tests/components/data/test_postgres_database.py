"""PostgresDatabase: generated password as a file, pg_isready probes, retained data, nightly pg_dump."""

from __future__ import annotations

import pulumi
from pulumi.runtime import rpc

from components.data.postgres_database import PostgresDatabase, PostgresDatabaseArgs
from components.kube.scheduled_backup import finalize_script
from components.contracts.stores import PostgresSettings, StoreDurability
from versions import versions


def declare_postgres(declare, protect=True, retain=True, **settings):
    captured = {}

    def build(opts):
        captured["db"] = PostgresDatabase(
            "postgres",
            PostgresDatabaseArgs(
                namespace="postgresql",
                part_of="face-recognition",
                settings=PostgresSettings(**settings),
                durability=StoreDurability(storage_class="kiban-retain", protect=protect, retain_volumes=retain),
                image=versions().images.postgres,
                shell_image=versions().images.busybox,
            ),
            opts,
        )
        pulumi.export("password", captured["db"].password)

    return declare(build), captured


def test_statefulset_with_password_file_and_probes(declare):
    deployment, _ = declare_postgres(declare)
    workload = deployment.object("StatefulSet", "postgres")
    pod = workload["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"].startswith("docker.io/library/postgres:15.")
    env = {e["name"]: e for e in container["env"]}
    assert env["POSTGRES_PASSWORD_FILE"]["value"] == "/run/secrets/postgres/password"
    assert "POSTGRES_PASSWORD" not in env, "the password never travels as an environment variable"
    assert env["PGDATA"]["value"] == "/var/lib/postgresql/data/pgdata"
    assert env["POSTGRES_DB"]["value"] == "faceapi" and env["POSTGRES_USER"]["value"] == "faceuser"
    ready = ["pg_isready", "-U", "faceuser", "-d", "faceapi", "-h", "127.0.0.1"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["exec"]["command"] == ready
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/run/secrets/postgres"]["readOnly"] is True
    assert {"/var/lib/postgresql/data", "/var/run/postgresql", "/dev/shm", "/tmp"} <= set(mounts)
    shm = next(v for v in pod["volumes"] if v["name"] == mounts["/dev/shm"]["name"])
    assert shm["emptyDir"] == {"sizeLimit": "128Mi", "medium": "Memory"}
    assert pod["securityContext"]["runAsUser"] == 70 and pod["securityContext"]["fsGroup"] == 70
    assert "CKV_K8S_40=" in " ".join(workload["metadata"]["annotations"].values())
    (claim,) = workload["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert claim["spec"]["storageClassName"] == "kiban-retain"


def test_password_is_generated_secret_and_never_plain(declare):
    deployment, captured = declare_postgres(declare)
    passwords = deployment.of_type("random:index/randomPassword:RandomPassword")
    assert [p.name for p in passwords] == ["postgres-password"]
    assert passwords[0].inputs["special"] is False and passwords[0].inputs["length"] >= 32
    secret = deployment.object("Secret", "postgres")
    assert rpc.is_rpc_secret(secret["stringData"])
    values = rpc.unwrap_rpc_secret(secret["stringData"])
    assert {k: v for k, v in values.items() if k != "password"} == {"username": "faceuser", "database": "faceapi"}
    exported = deployment.outputs["password"]
    assert rpc.is_rpc_secret(exported), "clients get the password as an Output.secret"
    assert values["password"] == rpc.unwrap_rpc_secret(exported), "the Secret holds the password clients get"


def test_protected_and_retained_in_prod_shape(declare):
    deployment, _ = declare_postgres(declare, protect=True, retain=True)
    assert deployment.registration("StatefulSet", "postgres").protect
    assert deployment.registration("Secret", "postgres").protect
    assert all(p.protect for p in deployment.of_type("random:index/randomPassword:RandomPassword"))
    claim = deployment.registration("PersistentVolumeClaim", "postgres-backup")
    assert claim.protect and claim.retain_on_delete
    policy = deployment.object("StatefulSet", "postgres")["spec"]["persistentVolumeClaimRetentionPolicy"]
    assert policy == {"whenDeleted": "Retain", "whenScaled": "Retain"}


def test_unprotected_dev_shape(declare):
    deployment, _ = declare_postgres(declare, protect=False, retain=False)
    assert not deployment.registration("StatefulSet", "postgres").protect
    assert not deployment.registration("PersistentVolumeClaim", "postgres-backup").retain_on_delete
    policy = deployment.object("StatefulSet", "postgres")["spec"]["persistentVolumeClaimRetentionPolicy"]
    assert policy["whenDeleted"] == "Delete"


def test_backup_cronjob_dumps_into_staging_and_the_backup_publishes_and_prunes(declare):
    deployment, _ = declare_postgres(declare, backup={"schedule": "15 2 * * *", "retentionDays": 14})
    cron = deployment.object("CronJob", "postgres-backup")["spec"]
    assert cron["schedule"] == "15 2 * * *" and cron["concurrencyPolicy"] == "Forbid"
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["prepare", "pg-dump"]
    (finalize,) = pod["containers"]
    assert finalize["command"][-1] == finalize_script("postgres", 14)
    dump = pod["initContainers"][1]
    script = dump["command"][-1]
    assert "pg_dump --host=postgres.postgresql.svc.cluster.local --port=5432" in script
    assert '--format=custom --file="$BACKUP_STAGING/faceapi.dump"' in script
    assert "PGPASSWORD=\"$(cat /run/secrets/postgres/password)\"" in script
    assert all(e["name"] != "PGPASSWORD" for e in dump.get("env", []))
    claim_volume = next(v for v in pod["volumes"] if v["name"] == "backup")
    assert claim_volume["persistentVolumeClaim"]["claimName"] == "postgres-backup"
    assert {"name": "backup", "mountPath": "/backup"} in dump["volumeMounts"]


def test_backup_may_reach_the_database_and_nothing_else(declare):
    deployment, _ = declare_postgres(declare)
    inbound = deployment.object("NetworkPolicy", "allow-postgres-backup-to-postgres-in")["spec"]
    outbound = deployment.object("NetworkPolicy", "allow-postgres-backup-to-postgres-out")["spec"]
    assert inbound["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "postgres"
    assert inbound["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "postgres-backup"
    assert inbound["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 5432}]
    assert outbound["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "postgres-backup"
    assert outbound["egress"][0]["ports"] == [{"protocol": "TCP", "port": 5432}]


def test_credentials_init_container_reconciles_the_store_before_the_server_starts(declare):
    from components.data.postgres_database import CREDENTIALS_SCRIPT

    deployment, _ = declare_postgres(declare, username="owner", database="store")
    pod = deployment.object("StatefulSet", "postgres")["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    (server,) = pod["containers"]
    assert init["name"] == "credentials" and init["image"] == server["image"]
    assert init["command"] == ["/bin/sh", "-c", CREDENTIALS_SCRIPT]
    env = {e["name"]: e["value"] for e in init["env"]}
    assert env == {
        **{e["name"]: e["value"] for e in server["env"]},
        "SOCKET_DIR": "/var/run/postgresql",
    }, "the script sees exactly what the server's entrypoint sees"
    assert env["POSTGRES_USER"] == "owner" and env["POSTGRES_DB"] == "store"
    mounts = {m["mountPath"]: m for m in init["volumeMounts"]}
    server_mounts = {m["mountPath"]: m for m in server["volumeMounts"]}
    assert mounts["/var/lib/postgresql/data"]["name"] == server_mounts["/var/lib/postgresql/data"]["name"] == "data"
    assert mounts["/run/secrets/postgres"]["readOnly"] is True
    assert {"/tmp", "/var/run/postgresql"} <= set(mounts)
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    assert init["resources"] == server["resources"], "the pod's effective request stays the server's"
    annotations = deployment.object("StatefulSet", "postgres")["spec"]["template"]["metadata"]["annotations"]
    assert "kiban.dev/restart-checksum" in annotations, "a changed Secret restarts the pod, so the script runs"
