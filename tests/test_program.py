"""The whole program, per stack, under the mock engine: structure, providers, GPUs, secrets, data safety."""

from __future__ import annotations

import json

import pytest
from pulumi.runtime import rpc

from tools.custom_workloads import with_stand_ins
from tools.mock_engine import Deployment, available_stacks, run_program, stack_config
from tools.manifests import manifests, pod_spec

STACKS = available_stacks()
GPU_CPU_DEV = {"kiban:faceRecognition": {"gpu": False}}


@pytest.fixture(scope="module")
def deployments() -> dict[str, Deployment]:
    return {stack: run_program(stack) for stack in STACKS}


def containers_of(obj: dict) -> list[dict]:
    spec = pod_spec(obj)
    return spec.get("initContainers", []) + spec.get("containers", [])


def pod_objects(deployment: Deployment) -> list[dict]:
    return [
        o
        for o in with_stand_ins(deployment.objects())
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job")
    ]


def gpu_holders(deployment: Deployment) -> set[str]:
    return {
        f"{o['metadata']['name']}/{c['name']}"
        for o in pod_objects(deployment)
        for c in containers_of(o)
        if "nvidia.com/gpu" in c.get("resources", {}).get("limits", {})
    }


def test_both_stacks_exist():
    assert STACKS == ["dev", "prod"]


def test_every_resource_of_a_provider_package_names_its_provider(deployments):
    for stack, deployment in deployments.items():
        for package, at_least in (("kubernetes", 40), ("random", 4)):
            (provider,) = deployment.of_type(f"pulumi:providers:{package}")
            resources = [r for r in deployment.registrations if r.custom and r.package == package]
            assert len(resources) >= at_least, (stack, package)
            for registration in resources:
                assert registration.provider.startswith(provider.urn + "::"), (stack, registration.name)


def test_the_program_is_composed_of_components(deployments):
    types = {r.type for r in deployments["dev"].registrations if not r.custom}
    assert {
        "kiban:cluster:ExistingCluster",
        "kiban:app:FaceRecognitionSystem",
        "kiban:data:PostgresDatabase",
        "kiban:data:MilvusStandalone",
        "kiban:app:FaceApi",
        "kiban:app:Frontend",
        "kiban:app:EntryPoint",
        "kiban:workload:ServiceWorkload",
        "kiban:platform:PlatformNamespace",
        "kiban:gpu:NvidiaDevicePlugin",
    } <= types
    top_level = [r for r in deployments["dev"].registrations if r.parent.endswith("::kiban-dev")]
    assert sorted(r.type for r in top_level) == [
        "kiban:app:FaceRecognitionSystem",
        "kiban:apps:ApplicationSecret",
        "kiban:apps:SharedDataAccess",
        "kiban:cluster:ExistingCluster",
        "kiban:data:SharedPostgres",
        "kiban:data:SharedValkey",
        "kiban:platform:ArgoCd",
        "kiban:platform:ArgoRollouts",
        "kiban:platform:BuildPcRegistry",
        "kiban:platform:CloudNativePg",
        "kiban:platform:DeliveredApplication",
        "kiban:platform:ImageBuilds",
        "kiban:platform:ImageUpdater",
        "kiban:platform:PreviewAccess",
        "kiban:storage:RetainedStorageClass",
        "pulumi:providers:random",
        "pulumi:providers:tls",
    ]


def test_gpu_lands_exactly_on_backend_and_milvus(deployments):
    for stack in ("dev", "prod"):
        assert gpu_holders(deployments[stack]) == {"face-api/face-api", "milvus/milvus"}, stack
    cpu = run_program("dev", GPU_CPU_DEV)
    assert gpu_holders(cpu) == set()
    # The homelab still has its GPU node: the device plugin stays, only the workloads stop reserving GPUs.
    charts = sorted(r.inputs["chart"] for r in cpu.of_type("kubernetes:helm.sh/v3:Release"))
    assert charts == ["argo-cd", "argo-rollouts", "argocd-image-updater", "cloudnative-pg", "nvidia-device-plugin"]


def test_model_device_and_milvus_image_follow_the_gpu_switch(deployments):
    def model_device(deployment):
        (api,) = [c for c in containers_of(deployment.object("Rollout", "face-api")) if c["name"] == "face-api"]
        return {e["name"]: e.get("value") for e in api["env"]}["MODEL_DEVICE"]

    def milvus_image(deployment):
        (milvus,) = [c for c in containers_of(deployment.object("StatefulSet", "milvus")) if c["name"] == "milvus"]
        return milvus["image"]

    assert model_device(deployments["dev"]) == "cuda:0" and milvus_image(deployments["dev"]).endswith("-gpu")
    cpu = run_program("dev", GPU_CPU_DEV)
    assert model_device(cpu) == "cpu" and not milvus_image(cpu).endswith("-gpu")


def test_gpu_pods_are_placed_the_way_each_cluster_says(deployments):
    dev_pod = pod_spec(deployments["dev"].object("Rollout", "face-api"))
    assert dev_pod["runtimeClassName"] == "nvidia"
    prod_pod = pod_spec(deployments["prod"].object("Rollout", "face-api"))
    assert prod_pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert "runtimeClassName" not in prod_pod
    frontend_pod = pod_spec(deployments["prod"].object("Rollout", "frontend"))
    assert "nodeSelector" not in frontend_pod and "tolerations" not in frontend_pod


def _secret_values(deployment: Deployment) -> set[str]:
    values: set[str] = set()
    for obj in deployment.objects("Secret"):
        if obj.get("type") == "kubernetes.io/service-account-token" and not obj.get("stringData") and not obj.get("data"):
            continue  # the cluster writes its token; kiban writes nothing into it
        data = obj.get("stringData", {})
        assert rpc.is_rpc_secret(data), f"Secret {obj['metadata']['name']} is not marked secret"
        public = ("username", "database", "host", "server", "name", "type", "url")  # beside the secrets they guard
        public += ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSSLMODE")  # a shared store's connection, too
        public += ("VALKEY_HOST", "VALKEY_PORT", "VALKEY_USERNAME", "VALKEY_KEY_PREFIX")
        values |= {v for k, v in rpc.unwrap_rpc_secret(data).items() if k not in public}
    return {v for v in values if len(v) >= 12}


def test_no_secret_in_plain_text_anywhere(deployments):
    for stack, deployment in deployments.items():
        secrets = _secret_values(deployment)
        assert any(s.startswith("mock-password-") for s in secrets), stack
        rendered = json.dumps(manifests(deployment))
        leaked = [s for s in secrets if s in rendered]
        assert not leaked, f"{stack}: secret values in rendered manifests"
        for obj in pod_objects(deployment):
            for container in containers_of(obj):
                for env in container.get("env", []):
                    assert not rpc.is_rpc_secret(env.get("value")), (stack, container["name"], env["name"])
                    assert not any(s in str(env.get("value", "")) for s in secrets), (stack, env["name"])
        outputs = json.dumps(deployment.outputs, default=str)
        assert not any(s in outputs for s in secrets), f"{stack}: secret in stack outputs"


def test_prod_data_is_protected_and_retained(deployments):
    prod = deployments["prod"]
    statefulsets = prod.objects("StatefulSet")
    assert {o["metadata"]["name"] for o in statefulsets} == {
        "postgres", "milvus", "milvus-etcd", "milvus-minio", "shared-valkey"
    }
    for obj in statefulsets:
        name = obj["metadata"]["name"]
        assert prod.registration("StatefulSet", name).protect, name
        assert obj["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
        assert {t["spec"]["storageClassName"] for t in obj["spec"]["volumeClaimTemplates"]} == {"kiban-retain"}
    for claim in prod.objects("PersistentVolumeClaim"):
        registration = prod.registration("PersistentVolumeClaim", claim["metadata"]["name"])
        assert registration.protect and registration.retain_on_delete
        assert claim["spec"]["storageClassName"] == "kiban-retain"
    assert prod.object("StorageClass", "kiban-retain")["reclaimPolicy"] == "Retain"
    for namespace in ("postgresql", "milvus", "shared-postgres", "shared-valkey"):
        assert prod.registration("Namespace", namespace).protect, namespace
    assert not prod.registration("Namespace", "face-recognition").protect, "holds no data"
    data_credentials = [
        p
        for p in prod.of_type("random:index/randomPassword:RandomPassword")
        if p.name.startswith(("postgres", "milvus", "shared-"))
    ]
    # postgres 1, milvus 3, the shared PostgreSQL's login for yomu, the shared Valkey's probe and yomu users
    assert len(data_credentials) == 7 and all(p.protect for p in data_credentials), "the stores' credentials"
    # The shared PostgreSQL is the operator's: its Cluster and databases are protected and left in place by a destroy.
    for kind in ("Cluster", "Database"):
        for registration in [r for r in prod.registrations if r.type == f"kubernetes:postgresql.cnpg.io/v1:{kind}"]:
            assert registration.protect and registration.retain_on_delete, registration.name
    assert prod.object("Cluster", "shared-postgres")["spec"]["storage"]["storageClass"] == "kiban-retain"
    assert prod.object("Database", "yomu")["spec"]["databaseReclaimPolicy"] == "retain"


def test_dev_data_is_not_protected_but_volumes_are_kept(deployments):
    dev = deployments["dev"]
    assert not any(dev.registration("StatefulSet", o["metadata"]["name"]).protect for o in dev.objects("StatefulSet"))
    assert not any(dev.registration("Namespace", o["metadata"]["name"]).protect for o in dev.objects("Namespace"))
    assert all(o["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain" for o in dev.objects("StatefulSet"))


def test_replicas_per_environment(deployments):
    dev, prod = deployments["dev"], deployments["prod"]
    for name in ("face-api", "frontend"):
        assert dev.object("Rollout", name)["spec"]["replicas"] == 1
        assert not [o for o in dev.objects("HorizontalPodAutoscaler") if o["metadata"]["name"] == name]
        hpa = prod.object("HorizontalPodAutoscaler", name)["spec"]
        assert hpa["minReplicas"] == 2
        assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
        assert prod.object("PodDisruptionBudget", name)["spec"]["maxUnavailable"] == 1


def test_prod_runs_no_mutable_tags(deployments):
    for obj in pod_objects(deployments["prod"]):
        for container in containers_of(obj):
            assert not container["image"].endswith(":latest"), container["image"]
            assert ":" in container["image"].rsplit("/", 1)[-1] or "@sha256:" in container["image"]


def test_the_connections_the_system_makes_are_allowed(deployments):
    for stack, deployment in deployments.items():
        names = {o["metadata"]["name"] for o in deployment.objects("NetworkPolicy")}
        for connection in ("face-api-to-postgres", "face-api-to-milvus"):
            assert {f"allow-{connection}-in", f"allow-{connection}-out"} <= names, (stack, connection)
        assert {"allow-ingress-to-frontend-in", "allow-ingress-to-face-api-in"} <= names, stack
        postgres_in = deployment.object("NetworkPolicy", "allow-face-api-to-postgres-in")["spec"]["ingress"][0]
        assert postgres_in["ports"] == [{"protocol": "TCP", "port": 5432}]
        milvus_in = deployment.object("NetworkPolicy", "allow-face-api-to-milvus-in")["spec"]["ingress"][0]
        assert milvus_in["ports"] == [{"protocol": "TCP", "port": 19530}]


def test_exports(deployments):
    assert deployments["dev"].outputs["url"] == "http://face.homelab.internal"
    assert deployments["prod"].outputs["url"] == "https://face.kiban.example.com"
    assert sorted(deployments["prod"].outputs["namespaces"]) == ["face-recognition", "milvus", "postgresql"]


def test_slow_workloads_and_helm_releases_get_realistic_timeouts(deployments):
    for stack, deployment in deployments.items():
        for name in ("postgres", "milvus", "milvus-etcd", "milvus-minio"):
            timeouts = deployment.registration("StatefulSet", name).custom_timeouts
            assert timeouts == {"create": "20m", "update": "20m"}, (stack, name)
        assert deployment.registration("Rollout", "face-api").custom_timeouts == {"create": "20m", "update": "20m"}
        assert deployment.registration("Rollout", "frontend").custom_timeouts == {}, "no GPU, nothing slow"
        for release in deployment.of_type("kubernetes:helm.sh/v3:Release"):
            assert release.inputs["timeout"] >= 600, (stack, release.name)
    slower = run_program("dev", {"kiban:timeouts": {"workloadReadyMinutes": 45, "helmReleaseSeconds": 1200}})
    assert slower.registration("StatefulSet", "milvus").custom_timeouts["create"] == "45m"
    assert {r.inputs["timeout"] for r in slower.of_type("kubernetes:helm.sh/v3:Release")} == {1200}


def restart_checksum(deployment: Deployment, kind: str, name: str) -> str:
    return deployment.object(kind, name)["spec"]["template"]["metadata"]["annotations"]["kiban.dev/restart-checksum"]


def test_consumers_restart_when_a_secret_they_read_changes(deployments):
    dev = deployments["dev"]
    consumers = [("Rollout", "face-api"), ("StatefulSet", "milvus"), ("StatefulSet", "milvus-minio"), ("StatefulSet", "postgres")]
    checksums = {c: restart_checksum(dev, *c) for c in consumers}
    assert all(len(v) == 64 and not rpc.is_rpc_secret(v) for v in checksums.values()), "a plain SHA-256"
    # A different database owner changes what the PostgreSQL Secret and the backend's Secret hold...
    renamed = run_program("dev", {"kiban:faceRecognition": {**stack_config("dev")["kiban:faceRecognition"], "postgres": {"username": "owner2"}}})
    assert restart_checksum(renamed, "StatefulSet", "postgres") != checksums[("StatefulSet", "postgres")]
    # ...and nothing else's.
    assert restart_checksum(renamed, "StatefulSet", "milvus") == checksums[("StatefulSet", "milvus")]


def test_namespaces_holding_retained_claims_outlive_the_stack(deployments):
    dev = deployments["dev"]  # unprotected, but its volumes are retained
    for name, holds_data in (("postgresql", True), ("milvus", True), ("face-recognition", False)):
        registration = dev.registration("Namespace", name)
        assert registration.retain_on_delete is holds_data, name
        assert not registration.protect
    unretained = run_program("dev", {"kiban:dataSafety": {"protect": False, "retainVolumes": False}})
    assert not unretained.registration("Namespace", "postgresql").retain_on_delete


def test_the_only_generated_secrets_exported_are_the_argocd_admin_password_and_k3s_registries_and_they_stay_secret(
    deployments,
):
    expected = {"dev": ["argocdAdminPassword", "k3sRegistriesYaml"], "prod": ["argocdAdminPassword"]}
    for stack, deployment in deployments.items():
        secret_outputs = sorted(k for k, v in deployment.outputs.items() if rpc.is_rpc_secret(v))
        assert secret_outputs == expected[stack], stack
    registries = deployments["dev"].outputs["k3sRegistriesYaml"]
    assert "mock-password-registry-password" in rpc.unwrap_rpc_secret(registries), "the secret output holds the password"


def own_image_pods(deployment: Deployment) -> list[dict]:
    """The workloads that run kiban's own images (the backend, its setup Job, the frontend)."""
    return [
        o
        for o in pod_objects(deployment)
        if o["metadata"]["name"] in ("face-api", "frontend") or o["metadata"]["name"].startswith("face-api-setup-")
    ]


def test_both_stacks_run_their_own_images_by_digest_from_their_own_registry(deployments):
    registries = {"dev": "registry.homelab.internal:5000/", "prod": "asia-northeast1-docker.pkg.dev/kiban-prod/kiban/"}
    for stack, deployment in deployments.items():
        pods = own_image_pods(deployment)
        assert len(pods) >= 3, stack
        for obj in pods:
            main = pod_spec(obj)["containers"][0]
            assert main["image"].startswith(registries[stack]) and "@sha256:" in main["image"], (stack, main["image"])
            assert main["imagePullPolicy"] == "IfNotPresent"
        assert deployment.outputs["images"]["faceApi"].startswith(registries[stack] + "face-api:")
        assert deployment.outputs["registryEndpoint"] == registries[stack].rstrip("/")
    assert deployments["dev"].outputs["images"]["faceApi"].split("@")[0].endswith(":latest"), "dev follows latest"
    assert deployments["prod"].outputs["images"]["faceApi"].split("@")[0].endswith(":v1.0.0"), "prod its release"


def test_dev_pods_pull_with_the_registry_secret_and_prod_nodes_with_their_service_accounts(deployments):
    dev = deployments["dev"]
    secret = dev.object("Secret", "registry-pull")
    assert secret["type"] == "kubernetes.io/dockerconfigjson" and secret["metadata"]["namespace"] == "face-recognition"
    for obj in own_image_pods(dev):
        assert pod_spec(obj)["imagePullSecrets"] == [{"name": "registry-pull"}], obj["metadata"]["name"]
    prod = deployments["prod"]
    assert not [o for o in prod.objects("Secret") if o.get("type") == "kubernetes.io/dockerconfigjson"]
    assert all("imagePullSecrets" not in pod_spec(o) for o in own_image_pods(prod))
    members = {r.name: r.inputs for r in prod.of_type("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")}
    nodes = {r.inputs["accountId"] for r in prod.of_type("gcp:serviceaccount/account:Account") if "nodes" in r.name}
    readers = {m["member"] for m in members.values() if m["role"] == "roles/artifactregistry.reader"}
    assert readers == {f"serviceAccount:{a}@kiban-prod.iam.gserviceaccount.com" for a in nodes | {"github-scan"}}, (
        "the nodes, and CI's daily scan")
    writers = {m["member"] for m in members.values() if m["role"] == "roles/artifactregistry.writer"}
    assert writers == {"serviceAccount:github-images@kiban-prod.iam.gserviceaccount.com"}


def test_dev_exports_the_registry_ca_for_docker_clients_and_k3s_nodes(deployments):
    outputs = deployments["dev"].outputs
    assert outputs["registryCaCertificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert "registryCaCertificate" not in deployments["prod"].outputs, "Artifact Registry is publicly trusted"
    # ...and for the BuildKit of the builder that pushes there (its buildkitd.toml).
    assert '[registry."registry.homelab.internal:5000"]' in outputs["buildkitdConfig"]


def test_dev_image_updater_follows_what_yomu_runs_from_its_public_registry(deployments):
    """yomu's Deployment runs its CI's public GHCR image: Image Updater follows that one, anonymously (the build PC's
    credentials are for images in the build PC's registry: tests/components/platform/test_image_updater.py)."""
    dev = deployments["dev"]
    assert not [s for s in dev.objects("Secret") if s["metadata"]["name"] == "image-updater-registry"]
    (ref,) = dev.object("ImageUpdater", "kiban")["spec"]["applicationRefs"]
    assert [i["imageName"] for i in ref["images"]] == ["ghcr.io/takashiaihara/yomu-api:latest"]

def test_an_application_ci_gets_its_own_push_credential_as_a_secret_output():
    dev = stack_config("dev")
    pushing = run_program("dev", {"kiban:registry": {**dev["kiban:registry"], "pushers": ["yomu-ci"]}})
    output = pushing.outputs["registryPushCredentials"]
    assert rpc.is_rpc_secret(output), "shown only with --show-secrets"
    assert rpc.unwrap_rpc_secret(output) == {"yomu-ci": "mock-password-registry-pusher-yomu-ci"}
    assert "registryPushCredentials" not in run_program("dev").outputs, "none without pushers"


def test_argocd_knows_the_registry_and_serves_dev_over_https(deployments):
    # ArgoCdArgs.registry_endpoint reaches the gitops-bridge cluster Secret, where applications read it.
    for stack in ("dev", "prod"):
        endpoint = stack_config(stack)["kiban:images"]["faceApi"].rsplit("/", 1)[0]
        annotations = deployments[stack].object("Secret", "in-cluster")["metadata"]["annotations"]
        assert annotations["kiban.dev/registry"] == endpoint, stack
    # dev's UI is on the LAN: a certificate from kiban's CA (the registry's, which the runbook trusts), HTTPS only.
    assert deployments["dev"].outputs["argocdUrl"] == "https://argocd.homelab.internal"
    (certificate,) = [r for r in deployments["dev"].of_type("tls:index/locallySignedCert:LocallySignedCert")
                      if r.name == "argocd-ingress-certificate"]
    (ca,) = deployments["dev"].of_type("tls:index/selfSignedCert:SelfSignedCert")
    assert certificate.inputs["caCertPem"] == deployments["dev"].outputs["registryCaCertificate"]
    assert ca.inputs["isCaCertificate"] is True
