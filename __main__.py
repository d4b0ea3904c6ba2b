"""kiban: load and validate the stack's config, compose the stack from its capabilities, export what matters.

Each capability (`capabilities/`) reads its sections of the config and composes components from them; this file
lists them in order and exports. An `up` declares the foundation (`kiban:phase: foundation`: the cluster, the
registry, CI's identity) or everything (`workloads`, the default); docs/operations.md has the order.
"""

import run_tuning

run_tuning.tune_run()  # before the SDKs load: collection off for the run, source positions built once per call site

import pulumi  # noqa: E402
from pydantic.alias_generators import to_camel  # noqa: E402

from capabilities.cloud import cloud  # noqa: E402
from capabilities.data import shared_data, store_durability  # noqa: E402
from capabilities.delivery import blue_green, gitops  # noqa: E402
from capabilities.face_recognition import face_recognition  # noqa: E402
from capabilities.images import needs_foundation, registry_and_images  # noqa: E402
from components.platform.stack_phase import PHASE_OUTPUT, checked_phase  # noqa: E402
from stack_config import load_stack_config  # noqa: E402
from versions import versions  # noqa: E402

config = load_stack_config()  # before any resource: a bad stack file registers nothing
stack = config.stack
pinned = versions()

# The foundation: what the steps after it need (the nodes' registry configuration, the builder's trust, CI's
# identity, the DNS record), exported by every phase.
where = cloud(stack, pinned)
own_images = registry_and_images(config, where, pinned)
registry = own_images.registry
for name, value in where.exports.items():
    pulumi.export(name, value)
pulumi.export("registryEndpoint", registry.facts.push_endpoint)
if registry.build_pc is not None:
    pulumi.export("registryCaCertificate", registry.build_pc.facts.ca_certificate)  # Docker clients: certs.d/<host:port>/ca.crt
    pulumi.export("k3sRegistriesYaml", registry.build_pc.k3s_registries)  # secret: /etc/rancher/k3s/registries.yaml
    if registry.build_pc.push_credentials:  # secret: each application CI's own user (registry.pushers)
        pulumi.export("registryPushCredentials", pulumi.Output.secret(registry.build_pc.push_credentials))
    pulumi.export("buildkitdConfig", registry.build_pc.buildkitd_config)  # the builder's BuildKit trusts the CA
pulumi.export("clusterKind", where.cluster.facts.kind)
# The phase, once the stack's last up shows it may run: never a foundation over running workloads (it would delete
# them), never workloads before a foundation that a person or the release workflow has to follow up.
pulumi.export(PHASE_OUTPUT, checked_phase(stack.phase, needs_foundation=needs_foundation(stack)))

if stack.phase == "workloads":
    # Everything that runs on the foundation: the stores, the delivery tools, the application, Argo CD.
    durability = store_durability(stack, where)
    rollouts = blue_green(stack, where, pinned)
    system = face_recognition(config, where, durability, registry, rollouts.delivery, pinned)
    argocd = gitops(config, where, pinned, own_images, shared_data(stack, where, durability, pinned))

    assert registry.images is not None  # resolved with the workloads
    pulumi.export("images", {to_camel(name): image.reference for name, image in registry.images.items()})
    pulumi.export("url", system.url)
    pulumi.export("namespaces", system.namespaces)
    pulumi.export("gpu", stack.face_recognition.gpu)
    pulumi.export("argocdUrl", argocd.url)
    pulumi.export("argocdAdminPassword", argocd.admin_password)  # an Output.secret: shown only with --show-secrets
