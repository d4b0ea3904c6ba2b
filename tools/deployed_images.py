"""Every image the stacks run, derived from their offline render, for the daily scan (`scan.yml`'s matrix):

- what each stack's resources make the cluster run, read by the policy pack's own `images()` (pod containers,
  CloudNativePG's `imageName`, images set in Helm values);
- what each Helm release's chart runs by itself, rendered with the real helm from the vendored, pinned archive
  with exactly the values kiban passes;
- the base images of kiban's own Dockerfiles (`versions.json`'s `imageBuilds`).

kiban's own images are listed by the tag the stack deploys (prod's release; its digest is read at `up`). Dev's live
in the homelab's registry, which only the build PC reaches, so they are left out. Printed as a JSON list.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from pydantic import TypeAdapter

from components.apps.face_recognition.settings import AppImages
from components.contracts.images import ImageReference
from policy.rules import WORKLOAD_TYPES, Resource, images
from components.clusters.settings import ClusterConfig
from tools.helm import template
from tools.mock_engine import Deployment, Registration, available_stacks, run_program, stack_config
from tools.manifests import release_values, unwrapped
from versions import PinnedChart, versions

RELEASE = "kubernetes:helm.sh/v3:Release"
UNREACHABLE_REGISTRIES = {"build-pc"}
"""Registry kinds whose images a scanner on GitHub cannot pull."""


def release_chart(release: Registration) -> PinnedChart:
    """The pinned chart a release installs (its archive is vendored under charts/)."""
    charts = versions().charts.all()
    found = [c for c in charts if (c.chart, c.version) == (release.inputs["chart"], release.inputs["version"])]
    if not found:
        raise LookupError(f"release {release.name}: chart {release.inputs['chart']} {release.inputs['version']} is not pinned")
    return found[0]


def kubernetes_version(stack: str) -> str:
    return TypeAdapter(ClusterConfig).validate_python(stack_config(stack)["kiban:cluster"]).kubernetes_version


def release_objects(release: Registration, kube_version: str) -> list[dict[str, Any]]:
    """`helm template` of one release: what its chart makes the cluster run."""
    return template(
        release_chart(release).archive,
        release=release.inputs.get("name", release.name),
        namespace=release.inputs["namespace"],
        values=release_values(release),
        kube_version=kube_version,
    )


def stack_images(stack: str, deployment: Deployment) -> Iterator[str]:
    resources = [Resource(r.type, r.name, unwrapped(r.inputs)) for r in deployment.registrations if r.custom]
    for release in deployment.of_type(RELEASE):
        types = {kind: token for token, kind in WORKLOAD_TYPES.items()}
        resources += [
            Resource(types[obj["kind"]], obj["metadata"]["name"], obj)
            for obj in release_objects(release, kubernetes_version(stack))
            if obj.get("kind") in types
        ]
    registry = stack_config(stack).get("kiban:registry") or {}
    configured = AppImages.model_validate(stack_config(stack)["kiban:images"]).references()
    own = {ImageReference.parse(reference).repository for reference in configured.values()}
    for resource in resources:
        for _, reference in images(resource):
            image = ImageReference.parse(reference)
            if image.repository in own:
                if registry.get("kind") in UNREACHABLE_REGISTRIES:
                    continue
                # The digest is the mock monitor's stand-in: scan the release tag the stack deploys.
                image = ImageReference(repository=image.repository, tag=image.tag)
            yield str(image)


def deployed_images() -> list[str]:
    bases = [value for args in versions().image_builds.by_image().values() for name, value in args.items()
             if name.endswith("_IMAGE")]
    found = {image for stack in available_stacks() for image in stack_images(stack, run_program(stack))}
    return sorted(found | set(bases))


if __name__ == "__main__":
    print(json.dumps(deployed_images()))
