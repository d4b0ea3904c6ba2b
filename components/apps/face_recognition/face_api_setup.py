"""`FaceApiSetup`: the backend's first-start work run once per version, in a Job, before any replica starts.

The app's lifespan creates the Milvus collection, runs aerich migrations on PostgreSQL and creates the
administrator, in every replica at every start. Two replicas starting together on an empty database race on each
step. The Job runs the same steps once (with the same image, settings and secrets); the replicas, which Pulumi
starts only after the Job succeeded, then find everything in place and their own runs change nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.contracts.endpoint import DatabaseEndpoint
from components.contracts.images import Image, image_reference
from components.contracts.exemptions import ScannerExemption, scanner_annotations
from components.contracts.labels import selector_labels, workload_labels
from components.kube.network_access import PodGroup
from components.kube.pod_spec import ContainerSpec, EnvVar, RunAs, WritablePath, pod_spec
from components.contracts.workloads import ComputeResources, compute

SETUP_SCRIPT = """
import asyncio
from aerich import Command
from tortoise import Tortoise
from faceapi.db import TORTOISE_ORM, create_init_account, milvus_init, sql_init

async def main():
    async with Command(tortoise_config=TORTOISE_ORM) as command:
        await command.upgrade(run_in_transaction=True)
    await asyncio.gather(milvus_init(), sql_init())
    await Tortoise.init(config=TORTOISE_ORM)
    try:
        await create_init_account()
    finally:
        await Tortoise.close_connections()

asyncio.run(main())
""".strip()
"""The migrations the image's build wrote (images/face-api/bake_migrations.py) applied first, then the app's own
lifespan steps (`faceapi.main.lifespan`), with the ORM set up as `register_tortoise` does: those find the schema
in place and write nothing (the app's `aerich init-db` runs only where ./migrations is empty)."""


def wait_for(name: str, endpoint: DatabaseEndpoint, image: str) -> ContainerSpec:
    """An init container that waits until `endpoint` accepts connections (busybox `nc`)."""
    return ContainerSpec(
        name=f"wait-for-{name}",
        image=image,
        resources=compute("10m", "16Mi", "100m", "32Mi"),
        command=[
            "/bin/sh",
            "-c",
            f"until nc -z -w 2 {endpoint.host} {endpoint.port}; do echo 'waiting for {name}'; sleep 3; done",
        ],
        writable_paths=(),
    )


@dataclass(frozen=True)
class FaceApiSetupArgs:
    """Arguments of `FaceApiSetup`."""

    namespace: str
    part_of: str
    image: Image
    """The backend image (required): the Job runs the same code as the replicas."""
    env: Sequence[EnvVar]
    """The backend's environment (required): the same settings and secret references (the model on the CPU)."""
    writable_paths: Sequence[WritablePath]
    """The backend's writable paths (required)."""
    waits: Sequence[ContainerSpec]
    """Init containers that wait for the stores (required; may be empty)."""
    stores: Sequence[DatabaseEndpoint]
    """The stores the setup talks to (informational: the caller allows the traffic)."""
    resources: ComputeResources
    """Requests and limits (required): the backend's own."""
    image_pull_secrets: Sequence[pulumi.Input[str]] = ()
    """Secrets the pod pulls the image with. Default: none."""


class FaceApiSetup(pulumi.ComponentResource):
    """One Job per backend image (`<name>-<hash of the image>`), awaited by Pulumi before the replicas."""

    job: k8s.batch.v1.Job
    """The Job the backend's workload depends on."""

    pods: PodGroup
    """The Job's pods (for the network policies to the stores)."""

    def __init__(self, resource_name: str, args: FaceApiSetupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kiban:app:FaceApiSetup", resource_name, None, opts)
        labels = workload_labels(resource_name, args.part_of, "setup")
        self.pods = PodGroup(namespace=args.namespace, labels=selector_labels(resource_name, args.part_of))
        # The reference is known only at `up` where a digest is resolved then: the name follows it.
        job_name = pulumi.Output.from_input(image_reference(args.image)).apply(
            lambda reference: f"{resource_name}-{hashlib.sha256(reference.encode()).hexdigest()[:10]}"
        )
        container = ContainerSpec(
            name="setup",
            image=args.image,
            resources=args.resources,
            command=["python", "-c", SETUP_SCRIPT],
            env=args.env,
            writable_paths=args.writable_paths,
        )
        exemptions = [
            ScannerExemption("CKV_K8S_35", "the app reads its settings from the environment; secrets come from secretKeyRef")
        ]
        self.job = k8s.batch.v1.Job(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                # A new image is a new Job: a Job's pod template cannot change.
                name=job_name,
                namespace=args.namespace,
                labels=labels,
                annotations=scanner_annotations([args.image, *(w.image for w in args.waits)], exemptions),
            ),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=4,
                active_deadline_seconds=1800,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=pod_spec(
                        containers=[container],
                        init_containers=args.waits,
                        run_as=RunAs(),
                        restart_policy="Never",
                        image_pull_secrets=args.image_pull_secrets,
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.register_outputs({})
