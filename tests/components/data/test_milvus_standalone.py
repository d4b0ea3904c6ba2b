"""MilvusStandalone: etcd, MinIO and Milvus hardened, generated credentials, user.yaml, GPU, policies, backup."""

from __future__ import annotations

import json
import posixpath
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc

from components.contracts.images import ImageReference
from components.data.milvus import MilvusImages, MilvusStandalone, MilvusStandaloneArgs
from components.kube.pod_spec import GpuRequest
from components.kube.scheduled_backup import finalize_script
from components.contracts.stores import MilvusSettings, StoreDurability
from components.contracts.workloads import BackupSettings, compute
from policy.pod_security import check as pod_security_violations
from versions import versions
from tools.manifests import unwrapped

NAMESPACE = "milvus"
STATEFULSETS = ("milvus", "milvus-etcd", "milvus-minio")


def images(gpu) -> MilvusImages:
    pinned = versions().images
    return MilvusImages(
        milvus=pinned.milvus_gpu if gpu else pinned.milvus,
        etcd=pinned.etcd,
        minio=pinned.minio,
        minio_client=pinned.minio_client,
        shell=pinned.busybox,
    )


def declare_milvus(declare, *, gpu=None, protect=True, retain=True, settings=None):
    captured: dict[str, Any] = {}

    def build(opts):
        milvus = MilvusStandalone(
            "milvus",
            MilvusStandaloneArgs(
                namespace=NAMESPACE,
                part_of="face-recognition",
                settings=settings or MilvusSettings(),
                durability=StoreDurability(storage_class="kiban-retain", protect=protect, retain_volumes=retain),
                images=images(gpu),
                gpu=gpu,
            ),
            opts,
        )
        captured["milvus"] = milvus
        pulumi.export("rootPassword", milvus.root_password)

    return declare(build), captured


def pod_of(obj: dict) -> dict:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def containers_of(obj: dict) -> list[dict]:
    pod = pod_of(obj)
    return [*pod.get("initContainers", []), *pod["containers"]]


def main_container(deployment, name: str) -> dict:
    (container,) = pod_of(deployment.object("StatefulSet", name))["containers"]
    return container


def volume(pod: dict, name: str) -> dict:
    (found,) = [v for v in pod["volumes"] if v["name"] == name]
    return found


def mounts_by_path(container: dict) -> dict[str, dict]:
    return {m["mountPath"]: m for m in container["volumeMounts"]}


def secret_values(deployment, name: str) -> dict[str, str]:
    secret = deployment.object("Secret", name)
    assert rpc.is_rpc_secret(secret["stringData"]), f"{name}: stringData must be a secret in state"
    return rpc.unwrap_rpc_secret(secret["stringData"])


def pod_bearing(deployment) -> list[dict]:
    return [*deployment.objects("StatefulSet"), *deployment.objects("CronJob")]


def test_etcd_runs_with_seed_flags_compaction_and_etcdctl_health(declare):
    deployment, _ = declare_milvus(declare)
    etcd = main_container(deployment, "milvus-etcd")
    assert etcd["image"] == versions().images.etcd
    assert etcd["command"] == ["etcd"]
    assert etcd["args"] == [
        f"-advertise-client-urls=http://{host_of(deployment, 'milvus-etcd')}:2379",
        "-listen-client-urls",
        "http://0.0.0.0:2379",
        "--data-dir",
        "/etcd/data",
    ]
    assert {e["name"]: e["value"] for e in etcd["env"]} == {
        "ETCD_AUTO_COMPACTION_MODE": "revision",
        "ETCD_AUTO_COMPACTION_RETENTION": "1000",
        "ETCD_QUOTA_BACKEND_BYTES": "4294967296",
        "ETCD_SNAPSHOT_COUNT": "50000",
    }
    assert etcd["ports"] == [{"name": "client", "containerPort": 2379}]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert etcd[probe]["exec"] == {"command": ["etcdctl", "endpoint", "health"]}
    assert etcd["livenessProbe"]["periodSeconds"] == 30 and etcd["livenessProbe"]["timeoutSeconds"] == 20
    assert mounts_by_path(etcd)["/etcd"]["name"] == "data", "--data-dir is on the data volume"
    service = deployment.object("Service", "milvus-etcd")
    assert service["metadata"]["namespace"] == NAMESPACE
    assert service["spec"]["ports"] == [{"name": "client", "port": 2379, "targetPort": "client", "protocol": "TCP"}]
    (claim,) = deployment.object("StatefulSet", "milvus-etcd")["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert claim["spec"]["storageClassName"] == "kiban-retain"
    skipped = deployment.object("StatefulSet", "milvus-etcd")["metadata"]["annotations"].values()
    for check_id in ("CKV_K8S_116", "CKV_K8S_117", "CKV_K8S_119"):
        (reason,) = [s.split("=", 1)[1] for s in skipped if s.startswith(f"{check_id}=")]
        assert "control-plane" in reason and "NetworkPolicies" in reason


def test_minio_reads_generated_credentials_from_mounted_files(declare):
    deployment, _ = declare_milvus(declare)
    statefulset = deployment.object("StatefulSet", "milvus-minio")
    pod = pod_of(statefulset)
    minio = main_container(deployment, "milvus-minio")
    assert minio["image"] == versions().images.minio
    assert minio["args"][:5] == ["silo", "server", "/data", "--console-address", ":9001"]
    certs_dir = minio["args"][minio["args"].index("--certs-dir") + 1]
    assert "emptyDir" in volume(pod, mounts_by_path(minio)[certs_dir]["name"]), "MinIO must be able to create certs/CAs"
    env = {e["name"]: e for e in minio["env"]}
    assert set(env) == {"MINIO_ROOT_USER_FILE", "MINIO_ROOT_PASSWORD_FILE"}, "credentials never travel as env values"
    for variable, key in (("MINIO_ROOT_USER_FILE", "root-user"), ("MINIO_ROOT_PASSWORD_FILE", "root-password")):
        path = env[variable]["value"]
        mount = mounts_by_path(minio)[posixpath.dirname(path)]
        assert mount["readOnly"] is True
        source = volume(pod, mount["name"])["secret"]
        assert source["secretName"] == "milvus-minio-credentials"
        assert {"key": key, "path": posixpath.basename(path)} in source["items"]
    assert mounts_by_path(minio)["/data"]["name"] == "data"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert minio[probe]["httpGet"] == {"path": "/minio/health/live", "port": "api"}
    assert minio["ports"] == [{"name": "api", "containerPort": 9000}]
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    values = secret_values(deployment, "milvus-minio-credentials")
    assert values["root-user"] and values["root-password"] and values["root-user"] != values["root-password"]
    generators = {r.name for r in deployment.of_type("random:index/randomPassword:RandomPassword")}
    assert {"milvus-minio-credentials-root-user", "milvus-minio-credentials-root-password"} <= generators


SERVER_EXECUTABLES = {
    # The object store's image repository: the server executable the image ships, as its publisher's Dockerfile
    # copies it (pgsty/silo `Dockerfile.goreleaser`: `COPY silo /usr/bin/silo`; the image has no `minio`).
    "docker.io/pgsty/silo": "silo",
}
CLIENT_EXECUTABLES = {
    # The client's image repository: its executable (pgsty/mc `Dockerfile.goreleaser`: `COPY mc /usr/bin/mc`,
    # `ENTRYPOINT ["/usr/bin/mc"]`; mcli 20260916 keeps `mc`'s commands, flags and `MC_HOST_<alias>`).
    "docker.io/pgsty/mc": "mc",
}
HEALTH_ROUTES = {"/minio/health/live", "/minio/health/ready"}
"""The unauthenticated per-process health routes Silo serves (pgsty/silo `docs/metrics/healthcheck/README.md`; the
cluster routes reflect quorum, not this process, and stay out of its probes)."""


def test_the_object_store_and_its_client_run_what_their_pinned_images_ship(declare):
    """The server's first argument is the executable its image really has (the entrypoint stays the image's, which
    keeps HOME writable for an arbitrary uid), its probes are routes it serves, and the backup's client steps call
    the client its image ships."""
    deployment, _ = declare_milvus(declare)
    server = main_container(deployment, "milvus-minio")
    repository = ImageReference.parse(server["image"]).repository
    assert repository in SERVER_EXECUTABLES, f"{repository}: which executable does this image ship?"
    assert "command" not in server and server["args"][0] == SERVER_EXECUTABLES[repository]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert server[probe]["httpGet"]["path"] in HEALTH_ROUTES
    steps = {c["name"]: c for c in containers_of(deployment.object("CronJob", "milvus-backup"))}
    for step in ("minio-bucket", "minio-mirror"):
        repository = ImageReference.parse(steps[step]["image"]).repository
        assert repository in CLIENT_EXECUTABLES, f"{step}: {repository}: which executable does this image ship?"
        assert steps[step]["command"][0] == CLIENT_EXECUTABLES[repository]


def test_milvus_runs_standalone_with_healthz_probes_and_its_volumes(declare):
    deployment, _ = declare_milvus(declare)
    statefulset = deployment.object("StatefulSet", "milvus")
    pod = pod_of(statefulset)
    milvus = main_container(deployment, "milvus")
    assert milvus["image"] == versions().images.milvus and not milvus["image"].endswith("-gpu")
    assert milvus["args"] == ["milvus", "run", "standalone"]
    assert milvus["ports"] == [{"name": "grpc", "containerPort": 19530}, {"name": "metrics", "containerPort": 9091}]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert milvus[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    startup = milvus["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600, "far more than seed 004's 90s start period"
    mounts = mounts_by_path(milvus)
    assert mounts["/var/lib/milvus"]["name"] == "data"
    for path in ("/tmp", "/milvus/logs"):
        assert "emptyDir" in volume(pod, mounts[path]["name"])
    assert milvus["securityContext"]["readOnlyRootFilesystem"] is True
    assert milvus["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, "never seed 004's unconfined"
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert [p["port"] for p in deployment.object("Service", "milvus")["spec"]["ports"]] == [19530, 9091]
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] >= 10000
    assert security["runAsGroup"] == 999 and security["fsGroup"] == 0, "group access to the image's 0774 files"


def test_user_yaml_is_laid_over_the_image_configs_without_hiding_them(declare):
    deployment, _ = declare_milvus(declare)
    pod = pod_of(deployment.object("StatefulSet", "milvus"))
    assert "initContainers" not in pod
    milvus = main_container(deployment, "milvus")
    mounts = mounts_by_path(milvus)
    assert "/milvus/configs" not in mounts, "the image's milvus.yaml and glog.conf stay visible"
    user_yaml = mounts["/milvus/configs/user.yaml"]
    assert user_yaml["subPath"] == "user.yaml" and user_yaml["readOnly"] is True
    assert volume(pod, user_yaml["name"])["secret"]["secretName"] == "milvus-config"
    assert volume(pod, user_yaml["name"])["secret"]["items"] == [{"key": "user.yaml", "path": "user.yaml"}]
    assert not any(e["name"] == "MILVUSCONF" for e in milvus.get("env", []))


def host_of(deployment, service: str) -> str:
    metadata = deployment.object("Service", service)["metadata"]
    return f"{metadata['name']}.{metadata['namespace']}.svc.cluster.local"


def test_user_yaml_points_at_etcd_and_minio_with_woodpecker_and_authorization(declare):
    deployment, _ = declare_milvus(declare)
    values = secret_values(deployment, "milvus-config")
    minio = secret_values(deployment, "milvus-minio-credentials")
    config = yaml.safe_load(values["user.yaml"])
    assert config["etcd"]["endpoints"] == f"{host_of(deployment, 'milvus-etcd')}:2379"
    assert config["minio"] == {
        "address": host_of(deployment, "milvus-minio"),
        "port": 9000,
        "accessKeyID": minio["root-user"],
        "secretAccessKey": minio["root-password"],
        "useSSL": False,
        "bucketName": "milvus-bucket",
    }
    assert config["mq"] == {"type": "woodpecker"}
    assert config["common"]["security"] == {
        "authorizationEnabled": True,
        "defaultRootPassword": values["root-password"],
    }
    exported = rpc.unwrap_rpc_secret(deployment.outputs["rootPassword"])
    assert exported == values["root-password"], "clients get the password Milvus holds"


def test_credentials_are_generated_and_never_the_minio_defaults(declare):
    deployment, _ = declare_milvus(declare)
    passwords = sorted(p.name for p in deployment.of_type("random:index/randomPassword:RandomPassword"))
    assert passwords == [
        "milvus-config-root-password",
        "milvus-minio-credentials-root-password",
        "milvus-minio-credentials-root-user",
    ]
    everything = json.dumps([unwrapped(r.inputs) for r in deployment.registrations])
    assert "minioadmin" not in everything
    minio, config = secret_values(deployment, "milvus-minio-credentials"), secret_values(deployment, "milvus-config")
    generated = (minio["root-user"], minio["root-password"], config["root-password"])
    from_secrets = []
    for obj in pod_bearing(deployment):
        for container in containers_of(obj):
            for env in container.get("env", []):
                if "valueFrom" in env:
                    from_secrets.append((env["name"], env["valueFrom"]["secretKeyRef"]))
                else:
                    assert not any(g in env["value"] for g in generated), f"{env['name']} carries a secret"
                    assert not rpc.is_rpc_secret(env["value"])
            assert not any(g in " ".join([*container.get("command", []), *container.get("args", [])]) for g in generated)
    client = {"name": "milvus-backup-minio-client", "key": "mc-host"}
    assert from_secrets == [("MC_HOST_milvus", client), ("MC_HOST_milvus", client)]


def test_gpu_build_reserves_a_gpu_for_milvus_only(declare, k3s_gpu_facts, gke_gpu_facts):
    for facts in (k3s_gpu_facts, gke_gpu_facts):
        deployment, _ = declare_milvus(declare, gpu=GpuRequest(count=1, scheduling=facts.gpu))
        milvus = main_container(deployment, "milvus")
        assert milvus["image"] == versions().images.milvus_gpu and milvus["image"].endswith("-gpu")
        assert milvus["resources"]["limits"]["nvidia.com/gpu"] == "1"
        milvus_pod = pod_of(deployment.object("StatefulSet", "milvus"))
        assert milvus_pod["nodeSelector"] == dict(facts.gpu.node_selector)
        others = [deployment.object("StatefulSet", n) for n in ("milvus-etcd", "milvus-minio")]
        others.append(deployment.object("CronJob", "milvus-backup"))
        for obj in others:
            pod = pod_of(obj)
            assert not {"nodeSelector", "tolerations", "runtimeClassName"} & set(pod), obj["metadata"]["name"]
            for container in containers_of(obj):
                assert "nvidia.com/gpu" not in container["resources"]["limits"], container["name"]


def test_cpu_build_reserves_no_gpu_anywhere(declare):
    deployment, _ = declare_milvus(declare, gpu=None)
    assert main_container(deployment, "milvus")["image"] == versions().images.milvus
    for obj in pod_bearing(deployment):
        assert "nodeSelector" not in pod_of(obj) and "runtimeClassName" not in pod_of(obj)
        for container in containers_of(obj):
            assert "nvidia.com/gpu" not in container["resources"]["limits"]
            assert not container["image"].endswith("-gpu")


@pytest.mark.parametrize(
    ("source", "destination", "port"),
    [
        ("milvus", "milvus-etcd", 2379),
        ("milvus", "milvus-minio", 9000),
        ("milvus-backup", "milvus-etcd", 2379),
        ("milvus-backup", "milvus-minio", 9000),
    ],
)
def test_each_connection_is_allowed_on_both_sides(declare, source, destination, port):
    deployment, _ = declare_milvus(declare)
    if source == "milvus-backup":
        source_labels = deployment.object("CronJob", source)["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    else:
        source_labels = deployment.object("StatefulSet", source)["spec"]["selector"]["matchLabels"]
    destination_labels = deployment.object("StatefulSet", destination)["spec"]["selector"]["matchLabels"]
    in_namespace = {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}}
    ports = [{"protocol": "TCP", "port": port}]

    ingress = deployment.object("NetworkPolicy", f"allow-{source}-to-{destination}-in")
    assert ingress["metadata"]["namespace"] == NAMESPACE
    assert ingress["spec"]["policyTypes"] == ["Ingress"]
    assert ingress["spec"]["podSelector"]["matchLabels"] == destination_labels
    (rule,) = ingress["spec"]["ingress"]
    (peer,) = rule["from"]
    assert peer["namespaceSelector"] == in_namespace
    assert peer["podSelector"]["matchLabels"].items() <= source_labels.items()
    assert rule["ports"] == ports

    egress = deployment.object("NetworkPolicy", f"allow-{source}-to-{destination}-out")
    assert egress["spec"]["policyTypes"] == ["Egress"]
    assert egress["spec"]["podSelector"]["matchLabels"].items() <= source_labels.items()
    (rule,) = egress["spec"]["egress"]
    assert rule["to"] == [{"namespaceSelector": in_namespace, "podSelector": {"matchLabels": destination_labels}}]
    assert rule["ports"] == ports


def test_no_other_connection_is_opened(declare):
    deployment, _ = declare_milvus(declare)
    names = sorted(p["metadata"]["name"] for p in deployment.objects("NetworkPolicy"))
    assert names == sorted(
        f"allow-{s}-to-{d}-{side}"
        for s in ("milvus", "milvus-backup")
        for d in ("milvus-etcd", "milvus-minio")
        for side in ("in", "out")
    )


def test_protect_lands_on_statefulsets_secrets_and_backup_volume(declare):
    deployment, _ = declare_milvus(declare, protect=True, retain=True)
    for name in STATEFULSETS:
        assert deployment.registration("StatefulSet", name).protect, name
        policy = deployment.object("StatefulSet", name)["spec"]["persistentVolumeClaimRetentionPolicy"]
        assert policy == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    for name in ("milvus-config", "milvus-minio-credentials"):
        assert deployment.registration("Secret", name).protect, name
    assert all(p.protect for p in deployment.of_type("random:index/randomPassword:RandomPassword"))
    claim = deployment.registration("PersistentVolumeClaim", "milvus-backup")
    assert claim.protect and claim.retain_on_delete
    assert not deployment.registration("Service", "milvus").protect


def test_unprotected_shape_protects_nothing_and_releases_volumes(declare):
    deployment, _ = declare_milvus(declare, protect=False, retain=False)
    for name in STATEFULSETS:
        assert not deployment.registration("StatefulSet", name).protect, name
        policy = deployment.object("StatefulSet", name)["spec"]["persistentVolumeClaimRetentionPolicy"]
        assert policy["whenDeleted"] == "Delete"
    assert not any(p.protect for p in deployment.of_type("random:index/randomPassword:RandomPassword"))
    claim = deployment.registration("PersistentVolumeClaim", "milvus-backup")
    assert not claim.protect and not claim.retain_on_delete


def test_backup_snapshots_etcd_and_mirrors_the_bucket_into_staging(declare):
    deployment, _ = declare_milvus(declare)
    cron = deployment.object("CronJob", "milvus-backup")
    assert cron["spec"]["schedule"] == "30 3 * * *"
    pod = pod_of(cron)
    steps = {c["name"]: c for c in containers_of(cron)}
    assert [c["name"] for c in pod["initContainers"]] == ["prepare", "etcd-snapshot", "minio-bucket", "minio-mirror"]
    assert [c["name"] for c in pod["containers"]] == ["finalize"]
    images = versions().images
    assert {name: c["image"] for name, c in steps.items()} == {
        "prepare": images.busybox,
        "etcd-snapshot": images.etcd,
        "minio-bucket": images.minio_client,
        "minio-mirror": images.minio_client,
        "finalize": images.busybox,
    }
    assert steps["finalize"]["command"][-1] == finalize_script("milvus", 7)

    etcd = deployment.object("Service", "milvus-etcd")["metadata"]
    assert steps["etcd-snapshot"]["command"] == [
        "etcdctl",
        f"--endpoints=http://{etcd['name']}.{etcd['namespace']}.svc.cluster.local:2379",
        "--command-timeout=30m",
        "snapshot",
        "save",
        "$(BACKUP_STAGING)/etcd.db",
    ]
    # Milvus creates the bucket on its first start: until then the mirror must not fail.
    assert steps["minio-bucket"]["command"] == [
        "mc", "--config-dir", "/tmp/mc", "mb", "--ignore-existing", "milvus/milvus-bucket"
    ]
    mirror = steps["minio-mirror"]
    assert mirror["command"] == [
        "mc", "--config-dir", "/tmp/mc", "mirror", "--quiet", "milvus/milvus-bucket", "$(BACKUP_STAGING)/minio"
    ]
    assert "/tmp" in mounts_by_path(mirror), "mc writes its config dir"
    for step in ("minio-bucket", "minio-mirror"):
        mc_host = next(e for e in steps[step]["env"] if e["name"] == "MC_HOST_milvus")
        assert mc_host["valueFrom"]["secretKeyRef"] == {"name": "milvus-backup-minio-client", "key": "mc-host"}
    # The client logs in as MinIO's generated root user, at the MinIO the composer handed over.
    minio_values = secret_values(deployment, "milvus-minio-credentials")
    minio = deployment.object("Service", "milvus-minio")["metadata"]
    url = secret_values(deployment, "milvus-backup-minio-client")["mc-host"]
    assert url == (
        f"http://{minio_values['root-user']}:{minio_values['root-password']}@"
        f"{minio['name']}.{minio['namespace']}.svc.cluster.local:9000"
    )

    for container in steps.values():
        assert {"name": "backup", "mountPath": "/backup"} in container["volumeMounts"]
    annotations = cron["metadata"]["annotations"].values()
    (reason,) = [a.split("=", 1)[1] for a in annotations if a.startswith("CKV_K8S_35=")]
    assert "MC_HOST_" in reason and "Secret" in reason
    claim = deployment.object("PersistentVolumeClaim", "milvus-backup")
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert claim["spec"]["storageClassName"] == "kiban-retain"
    registration = deployment.registration("PersistentVolumeClaim", "milvus-backup")
    assert registration.retain_on_delete


def test_every_size_and_resource_comes_from_settings(declare):
    settings = MilvusSettings(
        database="faceapi",
        resources=compute("1", "3Gi", "3", "12Gi"),
        storage_size="30Gi",
        etcd_resources=compute("200m", "300Mi", "600m", "1500Mi"),
        etcd_storage_size="6Gi",
        minio_resources=compute("300m", "400Mi", "2", "3Gi"),
        minio_storage_size="70Gi",
        backup=BackupSettings(schedule="0 4 * * *", retention_days=3, storage_size="90Gi"),
    )
    deployment, captured = declare_milvus(declare, settings=settings)
    expected = {
        "milvus": (settings.resources, "30Gi"),
        "milvus-etcd": (settings.etcd_resources, "6Gi"),
        "milvus-minio": (settings.minio_resources, "70Gi"),
    }
    for name, (resources, size) in expected.items():
        statefulset = deployment.object("StatefulSet", name)
        for container in containers_of(statefulset):
            assert container["resources"]["requests"] == resources.requests.model_dump(), name
            assert container["resources"]["limits"] == resources.limits.model_dump(), name
        (claim,) = statefulset["spec"]["volumeClaimTemplates"]
        assert claim["spec"]["resources"]["requests"]["storage"] == size
    cron = deployment.object("CronJob", "milvus-backup")
    assert cron["spec"]["schedule"] == "0 4 * * *"
    assert pod_of(cron)["containers"][0]["command"][2] == finalize_script("milvus", 3)
    steps = {c["name"]: c["resources"] for c in containers_of(cron)}
    assert steps["minio-mirror"]["limits"] == settings.minio_resources.limits.model_dump()
    assert steps["etcd-snapshot"]["limits"] == settings.etcd_resources.limits.model_dump()
    claim = deployment.object("PersistentVolumeClaim", "milvus-backup")
    assert claim["spec"]["resources"]["requests"]["storage"] == "90Gi"
    assert captured["milvus"].database == "faceapi"


def test_outputs_for_the_caller(declare):
    deployment, captured = declare_milvus(declare)
    milvus = captured["milvus"]
    assert milvus.host == "milvus.milvus.svc.cluster.local"
    assert milvus.port == 19530
    assert milvus.database == "default"
    assert milvus.pods.namespace == NAMESPACE
    assert dict(milvus.pods.labels) == deployment.object("StatefulSet", "milvus")["spec"]["selector"]["matchLabels"]
    exported = deployment.outputs["rootPassword"]
    assert rpc.is_rpc_secret(exported), "the root password stays an Output.secret"
    assert rpc.unwrap_rpc_secret(exported) == secret_values(deployment, "milvus-config")["root-password"]


def test_every_pod_meets_pod_security_restricted(declare, k3s_gpu_facts):
    for gpu in (None, GpuRequest(count=1, scheduling=k3s_gpu_facts.gpu)):
        deployment, _ = declare_milvus(declare, gpu=gpu)
        objects = pod_bearing(deployment)
        assert len(objects) == 4
        for obj in objects:
            assert pod_security_violations(obj, "restricted", version="1.35") == [], obj["metadata"]["name"]
            for container in containers_of(obj):
                assert container["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
                assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_children_inherit_the_provider(declare):
    deployment, _ = declare_milvus(declare)
    objects = deployment.kubernetes_objects()
    assert len(objects) > 20
    assert all(r.provider.split("::")[-1].startswith("test-cluster") for r in objects)


def test_a_gpu_milvus_gets_its_memory_pool_and_a_cpu_one_none(declare, k3s_gpu_facts):
    settings = MilvusSettings.model_validate({"gpuMemoryPool": "3Gi"}, by_name=False)
    deployment, _ = declare_milvus(declare, gpu=GpuRequest(count=1, scheduling=k3s_gpu_facts.gpu), settings=settings)
    config = yaml.safe_load(secret_values(deployment, "milvus-config")["user.yaml"])
    assert config["gpu"] == {"initMemSize": 1536, "maxMemSize": 3072}
    cpu, _ = declare_milvus(declare, settings=settings)
    assert "gpu" not in yaml.safe_load(secret_values(cpu, "milvus-config")["user.yaml"])
