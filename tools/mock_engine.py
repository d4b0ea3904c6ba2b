"""Runs the kiban program offline, under the Pulumi SDK's mock monitor, and records everything it declares.

This stands in for the Pulumi engine where there is no CLI, plugin or cluster: it loads a stack's config the way
the CLI would (secure values become placeholders, never decrypted), refuses resources that would fall back to a
disabled default provider (as the engine does), and keeps each registration with its resource options.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import hashlib
import json
import os
import runpy
import threading
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import pulumi
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from stack_config.stack_file import read_stack_file

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "kiban"
SECRET_PLACEHOLDER = "<secret {key}>"


@dataclass(frozen=True)
class Registration:
    """One resource the program declared, with the options the engine would see."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    custom: bool
    provider: str
    parent: str
    protect: bool
    retain_on_delete: bool
    dependencies: tuple[str, ...]
    ignore_changes: tuple[str, ...]
    replace_on_changes: tuple[str, ...] = ()
    delete_before_replace: bool = False
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    """`create`, `update`, `delete` where the program set them."""

    @property
    def package(self) -> str:
        return self.type.split(":", 1)[0]


@dataclass
class Deployment:
    """Everything one run of the program declared."""

    stack: str
    registrations: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    """The stack config the run had (as written in the stack files, secure values still `{"secure": ...}`)."""
    stand_ins: dict[str, str] = field(default_factory=dict)
    """Values the mock engine made up where the cloud or a registry reports the real one at `pulumi up` (digests,
    addresses, project numbers), each with what it stands for: what a render shows of them is not real."""
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every data-source call the program made (`token`, arguments), in order: what an `up` reads."""

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def kubernetes_objects(self) -> list[Registration]:
        """Registrations that are Kubernetes API objects (not providers, Helm releases or components)."""
        return [
            r
            for r in self.registrations
            if r.custom and r.package == "kubernetes" and "apiVersion" in r.inputs and "kind" in r.inputs
        ]


    def objects(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Kubernetes objects (their inputs, secrets still wrapped), optionally of one kind."""
        return [r.inputs for r in self.kubernetes_objects() if kind is None or r.inputs["kind"] == kind]

    def object(self, kind: str, name: str) -> dict[str, Any]:
        """The one object of `kind` named `name` (fails loudly when there is none or several)."""
        found = [o for o in self.objects(kind) if o["metadata"]["name"] == name]
        if len(found) != 1:
            raise LookupError(f"{len(found)} {kind} objects named {name!r}")
        return found[0]

    def registration(self, kind: str, name: str) -> Registration:
        """The registration behind `object(kind, name)`, with its resource options."""
        found = [
            r
            for r in self.kubernetes_objects()
            if r.inputs["kind"] == kind and r.inputs["metadata"]["name"] == name
        ]
        if len(found) != 1:
            raise LookupError(f"{len(found)} {kind} registrations named {name!r}")
        return found[0]


class DefaultProviderError(RuntimeError):
    """A resource of a package whose default provider is disabled was declared without a provider."""


def _secret_keys_and_values(config: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    values: dict[str, str] = {}
    secret_keys: list[str] = []

    def scrub(key: str, value: Any) -> tuple[Any, bool]:
        if isinstance(value, dict) and set(value) == {"secure"}:
            return SECRET_PLACEHOLDER.format(key=key), True
        if isinstance(value, dict):
            items = {k: scrub(key, v) for k, v in value.items()}
            return {k: v for k, (v, _) in items.items()}, any(s for _, s in items.values())
        if isinstance(value, list):
            items = [scrub(key, v) for v in value]
            return [v for v, _ in items], any(s for _, s in items)
        return value, False

    for key, raw in config.items():
        value, secret = scrub(key, raw)
        values[key] = value if isinstance(value, str) else json.dumps(value)
        if secret:
            secret_keys.append(key)
    return values, secret_keys


def stack_config(
    stack: str, overrides: dict[str, Any] | None = None, project_dir: Path = ROOT
) -> dict[str, Any]:
    """The merged project and stack config of `stack`, as written in Pulumi.yaml and Pulumi.<stack>.yaml (read
    with the careful reader the program uses: a duplicate key or a YAML 1.1 surprise raises `StackFileError`)."""
    project = {
        key: value["value"] if isinstance(value, dict) and "value" in value else value
        for key, value in (yaml.safe_load((project_dir / "Pulumi.yaml").read_text()).get("config") or {}).items()
    }
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise FileNotFoundError(f"no stack file {stack_file.name}; stacks: {', '.join(available_stacks())}")
    stack_values = read_stack_file(stack_file)
    merged = {**project, **stack_values}
    for key, value in (overrides or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def offline_application_secrets(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Stand-ins for the deployer's `pulumi config set --secret --path 'kiban:applicationSecrets.<app>.<key>'`: a
    stack file cannot hold those values (they are encrypted with the stack's own key), so an offline run that has no
    `kiban:applicationSecrets` gets a secret placeholder for each value an application's `secret.keys` take from a
    `setting`. A run that sets `kiban:applicationSecrets` itself (tests of the loader's checks) gets none."""
    argocd = config.get("kiban:argocd")
    applications = argocd.get("applications") if isinstance(argocd, dict) else None
    filled: dict[str, dict[str, Any]] = {}
    for app in applications if isinstance(applications, list) else []:
        secret = app.get("secret") if isinstance(app, dict) else None
        keys = secret.get("keys") if isinstance(secret, dict) else None
        for key, source in (keys.items() if isinstance(keys, dict) else ()):
            if source == "setting":
                filled.setdefault(str(app.get("name")), {})[key] = {"secure": "offline placeholder"}
    return filled


def available_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))


ORGANIZATION = "organization"
"""The organization a DIY backend (`pulumi login --local`, `s3://`, `gs://`) always reports."""

CREATED = "2026-01-02T03:04:05Z"
"""The `metadata.creationTimestamp` every mock Kubernetes object reports."""

RUNNING = {"phase": "workloads"}
"""The outputs of a stack whose last `up` declared its workloads: what an ordinary `up` finds."""


class _Mocks(pulumi_mocks.Mocks):
    """Resources echo their inputs; generated secrets get stable, recognisable placeholder values; a
    `StackReference` to the stack itself reads `previous_outputs` (the outputs of the stack's last `up`)."""

    def __init__(self, stand_ins: dict[str, str] | None = None, previous_outputs: dict[str, Any] | None = None):
        self.stand_ins = stand_ins if stand_ins is not None else {}
        self.previous_outputs = dict(previous_outputs or {})
        self.inputs = threading.local()
        """The inputs of the resource this thread registers now, as the mock monitor deserialized them (the monitor
        calls `new_resource` in the thread that serves the registration): the recording reads them from here
        instead of deserializing the request a second time."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        self.inputs.last = args.inputs
        if args.typ == "pulumi:pulumi:StackReference":
            ours = f"{ORGANIZATION}/{PROJECT}/{pulumi.get_stack()}"
            if args.resource_id != ours:
                raise LookupError(f"no stack {args.resource_id!r} in this backend (only {ours!r})")
            return args.resource_id, {"name": ours, "outputs": self.previous_outputs, "secretOutputNames": []}
        outputs = self._new_resource(args)
        for key, what in _STAND_INS.get(args.typ, {}).items():
            value = _dig(outputs, key)
            if value:
                self.stand_ins[value] = what
        return f"{args.name}-id", outputs

    def _new_resource(self, args: pulumi_mocks.MockResourceArgs) -> dict:
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = rpc.wrap_rpc_secret(f"mock-password-{args.name}")
            outputs["bcryptHash"] = rpc.wrap_rpc_secret(f"$2a$10$mock.bcrypt.{args.name}")
        if args.typ.startswith("kubernetes:") and isinstance(outputs.get("metadata"), dict):
            # What the API server stamps on every object it creates.
            outputs["metadata"] = {**outputs["metadata"], "creationTimestamp": CREATED}
        if args.typ == "kubernetes:helm.sh/v3:Release":
            outputs["status"] = {"name": args.inputs.get("name", args.name), "namespace": args.inputs.get("namespace")}
        if args.typ == "gcp:container/cluster:Cluster":
            # What GKE reports for a private cluster: its endpoints and the CA, as placeholders.
            outputs["endpoint"] = "172.16.0.2"
            outputs["masterAuth"] = {"clusterCaCertificate": "bW9jay1jYQ=="}
            endpoints = dict(args.inputs.get("controlPlaneEndpointsConfig") or {})
            endpoints["dnsEndpointConfig"] = {
                **(endpoints.get("dnsEndpointConfig") or {}),
                "endpoint": f"gke-mock-{args.name}.{args.inputs.get('location', 'region')}.gke.goog",
            }
            outputs["controlPlaneEndpointsConfig"] = endpoints
        if args.typ == "gcp:compute/globalAddress:GlobalAddress":
            outputs["address"] = "203.0.113.10"
        if args.typ == "gcp:serviceaccount/account:Account":
            outputs["email"] = f"{args.inputs['accountId']}@{args.inputs.get('project', 'project')}.iam.gserviceaccount.com"
            outputs["name"] = f"projects/{args.inputs.get('project', 'project')}/serviceAccounts/{outputs['email']}"
        if args.typ == "gcp:iam/workloadIdentityPool:WorkloadIdentityPool":
            outputs["name"] = f"projects/123456789/locations/global/workloadIdentityPools/{args.inputs['workloadIdentityPoolId']}"
        if args.typ == "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider":
            outputs["name"] = (
                f"projects/123456789/locations/global/workloadIdentityPools/{args.inputs['workloadIdentityPoolId']}"
                f"/providers/{args.inputs['workloadIdentityPoolProviderId']}"
            )
        if args.typ == "tls:index/privateKey:PrivateKey":
            outputs["privateKeyPem"] = rpc.wrap_rpc_secret(f"-----BEGIN PRIVATE KEY-----\nmock {args.name}\n-----END PRIVATE KEY-----\n")
            outputs["publicKeyPem"] = f"-----BEGIN PUBLIC KEY-----\nmock {args.name}\n-----END PUBLIC KEY-----\n"
        if args.typ in ("tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert"):
            outputs["certPem"] = f"-----BEGIN CERTIFICATE-----\nmock {args.name}\n-----END CERTIFICATE-----\n"
        if args.typ == "tls:index/certRequest:CertRequest":
            outputs["certRequestPem"] = f"-----BEGIN CERTIFICATE REQUEST-----\nmock {args.name}\n-----END CERTIFICATE REQUEST-----\n"
        if args.typ == "docker-build:index:Image":
            # BuildKit reports the pushed manifest's digest (a stable placeholder per repository) and a reference.
            repository = args.inputs["tags"][0].rsplit(":", 1)[0]
            if args.inputs.get("push"):
                outputs["digest"] = mock_digest(repository)
                outputs["ref"] = f"{args.inputs['tags'][0]}@{outputs['digest']}"
            else:
                outputs["digest"] = ""
                outputs["ref"] = args.inputs["tags"][0]
        if args.typ == "gcp:artifactregistry/repository:Repository":
            outputs["name"] = args.inputs["repositoryId"]
        return outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list | None]:
        if args.token == "gcp:artifactregistry/getDockerImage:getDockerImage":
            image = args.args["imageName"].split(":", 1)[0]
            host = f"{args.args['location']}-docker.pkg.dev/{args.args['project']}/{args.args['repositoryId']}"
            digest = mock_digest(args.args["imageName"])
            self.stand_ins[digest] = "digest"
            return {"selfLink": f"{host}/{image}@{digest}", "name": image}, []
        if args.token == "docker:index/getRegistryImage:getRegistryImage":
            digest = mock_digest(args.args["name"].rsplit(":", 1)[0])
            self.stand_ins[digest] = "digest"
            return {"name": args.args["name"], "sha256Digest": digest}, []
        return {}, None


_STAND_INS: dict[str, dict[str, str]] = {
    "gcp:container/cluster:Cluster": {
        "endpoint": "address",
        "controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint": "endpoint",
    },
    "gcp:compute/globalAddress:GlobalAddress": {"address": "address"},
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": {"name": "project number"},
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": {"name": "project number"},
    "docker-build:index:Image": {"digest": "digest"},
}
"""Outputs `_Mocks` makes up that a render shows (generated secrets are redacted anyway), by resource type."""


def _dig(value: Any, dotted: str) -> str | None:
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else None


def mock_digest(name: str) -> str:
    """A stable, recognisable stand-in for a registry digest (`sha256:` and 64 hex digits)."""
    return "sha256:" + hashlib.sha256(f"mock {name}".encode()).hexdigest()


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: _Mocks, disabled_defaults: set[str], deployment: Deployment):
        super().__init__(mocks)
        self._mocks = mocks
        self._disabled = disabled_defaults
        self._deployment = deployment

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        self._mocks.inputs.last = None
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        response = self._register(request)
        package = request.type.split(":", 1)[0]
        is_provider = request.type.startswith("pulumi:providers:")
        if request.custom and not is_provider and package in self._disabled and not request.provider:
            raise DefaultProviderError(
                f"{request.type} {request.name!r} has no explicit provider, and the default {package} provider is "
                "disabled (pulumi:disable-default-providers)"
            )
        self._deployment.registrations.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                inputs=(
                    self._mocks.inputs.last
                    if self._mocks.inputs.last is not None
                    else rpc.deserialize_properties(request.object, keep_unknowns=True)
                ),
                custom=bool(request.custom),
                provider=request.provider,
                parent=request.parent,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                dependencies=tuple(request.dependencies),
                ignore_changes=tuple(request.ignoreChanges),
                replace_on_changes=tuple(request.replaceOnChanges),
                delete_before_replace=bool(request.deleteBeforeReplace),
                custom_timeouts={
                    name: value
                    for name in ("create", "update", "delete")
                    if (value := getattr(request.customTimeouts, name, ""))
                },
            )
        )
        return response

    def _register(self, request) -> resource_pb2.RegisterResourceResponse:
        """`MockMonitor.RegisterResource` (pulumi/runtime/mocks.py), answering with a copy of the request's inputs
        where the mock echoes them: only the outputs `_Mocks` adds or changes are serialized again. The SDK's own
        serializes every output back in the program's process, which the engine of a real `up` does elsewhere (~1 ms
        of each delivered application's cost here). The program reads the same outputs (tested)."""
        urn = self.make_urn(request.parent, request.type, request.name)
        _ensure_event_loop()  # deserializing a resource reference needs one on this thread
        inputs = rpc.deserialize_properties(request.object)
        resource_id, state = self._mocks.new_resource(
            pulumi_mocks.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
                transforms=pulumi_mocks._resolve_callbacks(request.transforms),
            )
        )
        outputs = struct_pb2.Struct()
        outputs.CopyFrom(request.object)
        for key in set(inputs) - set(state):
            del outputs[key]
        changed = {key: value for key, value in state.items() if key not in inputs or inputs[key] is not value}
        if changed:
            serialized = _sync_await(rpc.serialize_properties(changed, {}))
            for key in changed:
                if key in serialized.fields:
                    outputs.fields[key].CopyFrom(serialized.fields[key])
                elif key in outputs.fields:  # serialized to nothing (None): absent, as the SDK's monitor leaves it
                    del outputs[key]
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=outputs)

    def Invoke(self, request):  # noqa: N802 (gRPC method name)
        self._deployment.invokes.append((request.tok, rpc.deserialize_properties(request.args, keep_unknowns=True)))
        return super().Invoke(request)

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn.split("::")[-2] == "pulumi:pulumi:Stack":
            self._deployment.outputs.update(rpc.deserialize_properties(request.outputs, keep_unknowns=True))
        return super().RegisterResourceOutputs(request)


def run_under_mocks(
    program: Callable[[], None],
    *,
    stack: str = "test",
    config: dict[str, Any] | None = None,
    disabled_default_providers: Sequence[str] = ("kubernetes", "gcp", "docker", "docker-build", "random"),
    previous_outputs: dict[str, Any] | None = None,
) -> Deployment:
    """Run `program` (anything that declares resources) under the mock monitor and return what it declared.

    `config` is Pulumi config as written in a stack file (`{"kiban:cluster": {...}}`, secure values as
    `{"secure": ...}`); `offline_application_secrets` stand in for the secret settings a deployer sets.
    `previous_outputs` are the stack's outputs as its last `up` left them (what a `StackReference` to the stack
    itself reads; default: a stack that runs its workloads, `RUNNING`; `{}` for a stack never deployed). Raises
    what the program raises, and `DefaultProviderError`.
    """
    config = dict(config or {})
    if "kiban:applicationSecrets" not in config and (stand_ins := offline_application_secrets(config)):
        config["kiban:applicationSecrets"] = stand_ins
    values, secret_keys = _secret_keys_and_values(config)
    deployment = Deployment(stack=stack, config=copy.deepcopy(config))
    failure: list[BaseException] = []

    def run() -> None:
        # A thread of its own: a fresh event loop and fresh context variables (the SDK keeps its settings, root
        # stack and config in them), so one run can never see another's state or leftover tasks.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            mocks = _Mocks(deployment.stand_ins, RUNNING if previous_outputs is None else previous_outputs)
            pulumi.runtime.set_mocks(
                mocks,
                project=PROJECT,
                stack=stack,
                preview=False,
                monitor=_RecordingMonitor(mocks, set(disabled_default_providers), deployment),
                organization=ORGANIZATION,
            )
            settings.ROOT.set(None)  # set_mocks made a finished root stack; run_in_stack makes the real one
            settings.SETTINGS.outputs.clear()  # tasks a failed earlier run left behind, bound to its closed loop
            pulumi.runtime.set_all_config(values, secret_keys)
            _sync_await(run_in_stack(program))
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)
        finally:
            loop.close()

    collecting = gc.isenabled()
    worker = threading.Thread(target=run, name=f"pulumi-mocks-{stack}")
    worker.start()
    worker.join()
    if collecting:  # the program turns collection off for its one run (see __main__.py); a test process goes on
        gc.enable()
    if failure:
        raise failure[0]
    return deployment


def run_program(
    stack: str,
    overrides: dict[str, Any] | None = None,
    project_dir: Path = ROOT,
    previous_outputs: dict[str, Any] = RUNNING,
) -> Deployment:
    """Run `__main__.py` for `stack` (Pulumi.yaml + Pulumi.<stack>.yaml of `project_dir`) under mocks, with
    `project_dir` as the working directory, as the Pulumi CLI runs a program in its project directory.

    `overrides` replaces (or, with `None`, removes) whole config keys such as `kiban:cluster`, for tests.
    `previous_outputs` are the outputs the stack's last `up` left (default: a stack that runs its workloads, as
    every `up` but a stack's first ones finds it).

    A stack run as its files stand is run once per process and handed out as a copy: the program is
    deterministic under mocks, and many tests read the same two stacks.
    """
    stack_file = ROOT / f"Pulumi.{stack}.yaml"
    if overrides is None and project_dir == ROOT and stack_file.is_file() and previous_outputs is RUNNING:
        key = (stack, hashlib.sha256(stack_file.read_bytes()).hexdigest())
        if key not in _RUNS:
            _RUNS[key] = _run_program(stack, None, project_dir, previous_outputs)
        return copy.deepcopy(_RUNS[key])
    return _run_program(stack, overrides, project_dir, previous_outputs)


_RUNS: dict[tuple[str, str], Deployment] = {}


def _run_program(
    stack: str, overrides: dict[str, Any] | None, project_dir: Path, previous_outputs: dict[str, Any]
) -> Deployment:
    config = stack_config(stack, overrides, project_dir)
    disabled = config.pop("pulumi:disable-default-providers", [])
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    previous = Path.cwd()
    os.chdir(project_dir)
    try:
        return run_under_mocks(
            program, stack=stack, config=config, disabled_default_providers=disabled, previous_outputs=previous_outputs
        )
    finally:
        os.chdir(previous)
