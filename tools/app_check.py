"""`make app-check APP=<checkout> [NAME=<application>] [STACK=dev]`: an application's manifests against what its
namespace will enforce, before Argo CD meets them.

It renders the application's `path` from a local checkout with the real tool for its `sourceType` (plain YAML read
as Argo CD reads a directory; `kubectl kustomize`; `helm template`), then checks every object against the stack's
entry for the application (`kiban:argocd.applications[]`):

- the source type: what the checkout holds is what the config says (Image Updater updates kustomize and Helm only);
- the kinds its AppProject allows (application kinds, `namespacedResources`, `clusterResources`), in its namespace;
- Pod Security: every pod template against the level its namespace enforces, with the policy pack's own checker
  (policy/pod_security.py) at the cluster's Kubernetes version;
- its Secrets: every Secret a pod reads is one kiban writes in its namespace, with the keys it reads;
- its hosts: every Ingress passes the admission policy kiban binds to its namespace (the same CEL, evaluated), and
  the pod port it routes to (through its Service) is one the ingress controller is admitted to (`ingress.ports`);
- its followed images: each image Image Updater follows is one a container runs.

Each finding names the file and line to change (for kustomize and Helm, the source document that rendered the
object, where one is found) and what to write instead. Exit status 0 when nothing is found, 1 otherwise, 2 when the
application cannot be checked at all.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from components.contracts.images import ImageReference
from components.platform.argocd_settings import APPLICATION_KINDS, ArgoApplication, forbidden_reason
from stack_config.loader import parse_stack_config
from stack_config.stack import SECRET_SETTINGS, StackConfig
from tools.install_tools import tool_path
from tools.mock_engine import stack_config

CLUSTER_SCOPED = {
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "StorageClass", "PriorityClass", "IngressClass", "RuntimeClass", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "APIService", "CSIDriver", "VolumeSnapshotClass", "ClusterIssuer",
}
"""Kinds that live outside any namespace (the built-in ones and a few common custom ones)."""

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class CannotCheck(Exception):
    """The application cannot be checked at all (no such application, no manifests, a renderer's error)."""


@dataclass(frozen=True)
class Source:
    """Where a rendered object came from."""

    file: Path
    document: yaml.Node

    def line(self, path: list[str | int]) -> int:
        """The 1-based line of `path` in the document, or of its nearest existing parent."""
        node, line = self.document, self.document.start_mark.line
        for part in path:
            found = _child(node, part)
            if found is None:
                break
            node, line = found
        return line + 1


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, int] | None:
    """The child at `part` and the line that names it (a mapping's key, a sequence's item)."""
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        return next(((value, key.start_mark.line) for key, value in node.value if key.value == part), None)
    if isinstance(node, yaml.SequenceNode):
        if isinstance(part, int):
            return (node.value[part], node.value[part].start_mark.line) if part < len(node.value) else None
        # `containers[app]`: the element whose name is `app`
        return next(
            ((item, item.start_mark.line) for item in node.value if isinstance(item, yaml.MappingNode)
             and any(k.value == "name" and v.value == part for k, v in item.value)),
            None,
        )
    return None


@dataclass(frozen=True)
class Rendered:
    """One object as Argo CD would apply it, and its source document where known."""

    obj: dict[str, Any]
    source: Source | None

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind"))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name"))

    def where(self, path: list[str | int], root: Path) -> str:
        if self.source is None:
            return f"{self.kind}/{self.name} (rendered)"
        return f"{self.source.file.relative_to(root)}:{self.source.line(path)}"


@dataclass(frozen=True)
class Finding:
    where: str
    check: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: [{self.check}] {self.what}"


def field_path(text: str) -> list[str | int]:
    """`spec.template.spec.containers[app].securityContext` as path parts (`[app]` selects by name)."""
    parts: list[str | int] = []
    for piece in text.split("."):
        name, _, rest = piece.partition("[")
        if name:
            parts.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(int(index) if index.isdigit() else index)
            rest = rest.lstrip("[")
    return parts


# Rendering ------------------------------------------------------------------------------------------------------


def source_documents(folder: Path, recursive: bool) -> Iterator[tuple[Path, yaml.Node, dict]]:
    """Every YAML document under `folder`, with its file and node."""
    files = sorted(folder.rglob("*") if recursive else folder.iterdir())
    for file in files:
        if file.suffix not in (".yaml", ".yml", ".json") or not file.is_file() or file.name in KUSTOMIZATION_FILES:
            continue
        text = file.read_text()
        for node, obj in zip(yaml.compose_all(text), yaml.safe_load_all(text), strict=True):
            if isinstance(obj, dict) and "kind" in obj:
                yield file, node, obj


def render(app: ArgoApplication, checkout: Path) -> tuple[list[Rendered], list[Finding]]:
    """The application's objects as Argo CD would build them, and what is wrong with its source type."""
    folder = (checkout / app.path).resolve()
    if not folder.is_dir():
        raise CannotCheck(f"{app.path} is not a directory in {checkout} (argocd.applications[].path)")
    kustomization = next((folder / f for f in KUSTOMIZATION_FILES if (folder / f).exists()), None)
    chart = folder / "Chart.yaml"
    detected = "helm" if chart.exists() else "kustomize" if kustomization else "directory"
    findings = []
    if detected != app.source_type:
        found = {"helm": "a Chart.yaml", "kustomize": kustomization.name if kustomization else "", "directory": "plain YAML"}
        findings.append(Finding(
            f"{app.path}", "source type",
            f"the config says sourceType: {app.source_type}, but {app.path} holds {found[detected]}: "
            + (f"add a kustomization.yaml listing the manifests (`kustomize create --autodetect` in {app.path})"
               if app.source_type == "kustomize" and detected == "directory"
               else f"set sourceType: {detected} in the application's entry"),
        ))
        if not (app.source_type == "kustomize" and detected == "directory"):
            return [], findings
    sources = {(obj.get("kind"), (obj.get("metadata") or {}).get("name")): Source(file, node)
               for file, node, obj in source_documents(folder, recursive=app.source_type != "directory")}
    if app.source_type == "directory" or detected == "directory":
        objects = [obj for _, _, obj in source_documents(folder, recursive=False)]
    elif app.source_type == "kustomize":
        objects = _run([str(tool_path("kubectl")), "kustomize", str(folder)])
    else:
        objects = _run([str(tool_path("helm")), "template", app.name, str(folder), "--namespace", app.namespace])
    rendered = [Rendered(obj, sources.get((obj.get("kind"), (obj.get("metadata") or {}).get("name"))))
                for obj in objects]
    return rendered, findings


def _run(command: list[str]) -> list[dict]:
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        raise CannotCheck(f"{Path(command[0]).name} {command[1]} failed: {run.stderr.strip()}")
    return [obj for obj in yaml.safe_load_all(run.stdout) if isinstance(obj, dict)]


# Checks ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enforced:
    """What the application's namespace will enforce, from the stack's config."""

    app: ArgoApplication
    kubernetes_version: str
    secrets: dict[str, set[str]]
    """The Secrets kiban writes in the namespace, with their keys."""
    other_hosts: dict[str, str]
    """Hosts someone else owns, with the owner."""


def enforced(config: StackConfig, app: ArgoApplication) -> Enforced:
    from components.apps.delivered.application_secret import CONNECTION_KEYS

    if app.secret is not None:
        secrets = {app.secret.name: set(app.secret.keys)}
    else:
        secrets = {}
        for store in app.shared_data:
            secrets[f"shared-{store}"] = {key for source, key in CONNECTION_KEYS.items() if source.startswith(store)}
    owners = {config.ingress.host: "the face-recognition system (kiban:ingress.host)"}
    if config.argocd.host:
        owners[config.argocd.host] = "Argo CD (kiban:argocd.host)"
    owners.update({h: f"application {n!r}" for h, n in config.argocd.host_owners().items() if n != app.name})
    return Enforced(app, config.cluster.kubernetes_version, secrets, owners)


def check_kind(item: Rendered, rules: Enforced, root: Path) -> list[Finding]:
    app = rules.app
    api = str(item.obj.get("apiVersion", ""))
    group = api.rpartition("/")[0]
    kind = f"{group}/{item.kind}" if group else item.kind
    where = item.where(["kind"], root)
    reason = forbidden_reason(kind)
    if reason:
        return [Finding(where, "kinds", f"{kind} {item.name!r}: the AppProject refuses it ({reason}); remove it")]
    cluster_scoped = item.kind in CLUSTER_SCOPED
    allowed = app.cluster_resources if cluster_scoped else [*APPLICATION_KINDS, *app.namespaced_resources]
    if kind not in allowed:
        key = "clusterResources" if cluster_scoped else "namespacedResources"
        return [Finding(where, "kinds", f"{kind} {item.name!r} is not among the kinds the AppProject allows; remove "
                        f"it, or add {kind!r} to argocd.applications[].{key}")]
    namespace = (item.obj.get("metadata") or {}).get("namespace")
    if not cluster_scoped and namespace not in (None, app.namespace):
        return [Finding(item.where(["metadata", "namespace"], root), "kinds",
                        f"{kind} {item.name!r} is in namespace {namespace!r}; the application may deploy only into "
                        f"{app.namespace!r}: write namespace: {app.namespace} or leave it out")]
    return []


def check_pod_security(item: Rendered, rules: Enforced, root: Path) -> list[Finding]:
    from policy import pod_security

    if not pod_security.is_pod_bearing(item.obj):
        return []
    level = rules.app.pod_security
    return [
        Finding(item.where(field_path(v.field), root), f"pod security {level}",
                f"{item.kind} {item.name!r}{f' container {v.container!r}' if v.container else ''}: {v.control}: "
                f"{v.field}: {v.detail}")
        for v in pod_security.check(item.obj, level, version=rules.kubernetes_version)
    ]


def _secret_reads(pod: dict, base: list[str | int]) -> Iterator[tuple[list[str | int], str, str | None, bool]]:
    """Every Secret a pod reads: (path, Secret name, key or None for all, optional)."""
    for kind in ("initContainers", "containers"):
        for container in pod.get(kind) or []:
            name = container.get("name")
            for index, source in enumerate(container.get("envFrom") or []):
                ref = source.get("secretRef")
                if ref:
                    yield [*base, kind, name, "envFrom", index], ref.get("name"), None, bool(ref.get("optional"))
            for index, variable in enumerate(container.get("env") or []):
                ref = (variable.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    yield ([*base, kind, name, "env", index], ref.get("name"), ref.get("key"),
                           bool(ref.get("optional")))
    for index, volume in enumerate(pod.get("volumes") or []):
        secret = volume.get("secret")
        if secret:
            for item in secret.get("items") or [{}]:
                yield ([*base, "volumes", index], secret.get("secretName"), item.get("key"),
                       bool(secret.get("optional")))


def check_secrets(item: Rendered, rules: Enforced, root: Path) -> list[Finding]:
    from policy import pod_security

    if not pod_security.is_pod_bearing(item.obj):
        return []
    template = pod_security.pod_template(item.obj)
    findings = []
    written = ", ".join(f"{n} ({', '.join(sorted(k))})" for n, k in rules.secrets.items()) or "none"
    for path, name, key, optional in _secret_reads(dict(template.spec), field_path(template.path)):
        if optional:
            continue
        if name not in rules.secrets:
            findings.append(Finding(item.where(path, root), "secrets",
                                    f"{item.kind} {item.name!r} reads the Secret {name!r}, which kiban does not write "
                                    f"in {rules.app.namespace}; kiban writes: {written}. Read one of those, or set "
                                    f"argocd.applications[].secret to {{name: {name}, keys: ...}}"))
        elif key is not None and key not in rules.secrets[name]:
            findings.append(Finding(item.where(path, root), "secrets",
                                    f"{item.kind} {item.name!r} reads the key {key!r} of {name}, which kiban writes "
                                    f"with {', '.join(sorted(rules.secrets[name]))}; add {key} to "
                                    "argocd.applications[].secret.keys or read another key"))
    return findings


def check_hosts(item: Rendered, rules: Enforced, root: Path) -> list[Finding]:
    if item.kind != "Ingress":
        return []
    import celpy

    from components.platform.argocd_application import ingress_host_rules

    hosts = rules.app.hosts()
    environment = celpy.Environment()
    activation = {"object": celpy.json_to_cel(item.obj)}
    refused = [rule for rule in ingress_host_rules(hosts)
               if not environment.program(environment.compile(rule["expression"])).evaluate(activation)]
    if not refused:
        return []
    spec = item.obj.get("spec") or {}
    findings = []
    for index, rule in enumerate(spec.get("rules") or []):
        host = rule.get("host")
        if host in hosts:
            continue
        owner = rules.other_hosts.get(host or "")
        why = (f"it belongs to {owner}" if owner else "a rule without a host answers for every host" if not host
               else "it is not one of the application's hosts")
        findings.append(Finding(item.where(["spec", "rules", index, "host"], root), "hosts",
                                f"Ingress {item.name!r} claims {host or 'every host'} ({why}); the admission policy "
                                f"refuses it: use {' or '.join(hosts) if hosts else 'no Ingress'}"
                                + ("" if hosts or owner else ", or add the host to argocd.applications[].ingress.hosts")))
    if "defaultBackend" in spec:
        findings.append(Finding(item.where(["spec", "defaultBackend"], root), "hosts",
                                f"Ingress {item.name!r} has a defaultBackend, which answers for every host; the "
                                "admission policy refuses it: give each backend a rule with one of your hosts"))
    if not findings:  # TLS entries
        findings.append(Finding(item.where(["spec", "tls"], root), "hosts",
                                f"Ingress {item.name!r}: {'; '.join(rule['message'] for rule in refused)}"))
    return findings


def check_followed_images(rendered: list[Rendered], app: ArgoApplication, checkout: Path) -> list[Finding]:
    run = set()
    for item in rendered:
        from policy import pod_security

        if pod_security.is_pod_bearing(item.obj):
            pod = pod_security.pod_template(item.obj).spec
            for kind in ("initContainers", "containers"):
                run |= {ImageReference.parse(c["image"]).repository for c in pod.get(kind) or [] if "image" in c}
    return [
        Finding(f"{app.path}", "images",
                f"Image Updater follows {image.image} (alias {image.alias}), but no container here runs "
                f"{ImageReference.parse(image.image).repository} (they run {', '.join(sorted(run)) or 'nothing'}): it "
                "would skip it as not live; follow an image the application runs")
        for image in app.images
        if ImageReference.parse(image.image).repository not in run
    ]


def check_ingress_ports(rendered: list[Rendered], app: ArgoApplication, root: Path) -> list[Finding]:
    """Every pod port an Ingress routes to (through its Service's `targetPort`) is one `ingress.ports` admits the
    ingress controller to; otherwise the controller's connections are dropped by the namespace's default-deny."""
    from policy import pod_security

    services = {item.name: item.obj for item in rendered if item.kind == "Service"}
    named: dict[str, int] = {}
    for item in rendered:
        if pod_security.is_pod_bearing(item.obj):
            pod = pod_security.pod_template(item.obj).spec
            for container in pod.get("containers") or []:
                named |= {p["name"]: p["containerPort"] for p in container.get("ports") or [] if "name" in p}
    admitted = list(app.ingress.ports) if app.ingress else []
    findings = []
    for item in (i for i in rendered if i.kind == "Ingress"):
        for r, rule in enumerate((item.obj.get("spec") or {}).get("rules") or []):
            for n, path in enumerate(((rule.get("http") or {}).get("paths")) or []):
                backend = (path.get("backend") or {}).get("service") or {}
                service = services.get(backend.get("name"))
                if service is None:
                    continue
                wanted = backend.get("port") or {}
                port = next((sp for sp in (service.get("spec") or {}).get("ports") or []
                             if sp.get("port") == wanted.get("number") or sp.get("name") == wanted.get("name")), None)
                if port is None:
                    continue
                target = port.get("targetPort", port.get("port"))
                target = named.get(target, target) if isinstance(target, str) else target
                if isinstance(target, int) and target not in admitted:
                    findings.append(Finding(
                        item.where(["spec", "rules", r, "http", "paths", n, "backend"], root), "ingress ports",
                        f"Ingress {item.name!r} sends {rule.get('host')} to Service {backend.get('name')!r}, whose "
                        f"pods listen on {target}, which the ingress controller may not reach (ingress.ports: "
                        f"{admitted or 'none'}); add {target} to argocd.applications[].ingress.ports"))
    return findings


def check(config: StackConfig, app: ArgoApplication, checkout: Path) -> list[Finding]:
    """Every finding, in the order of the manifests."""
    rendered, findings = render(app, checkout)
    if not rendered and not findings:
        raise CannotCheck(f"{app.path} in {checkout} renders no object")
    rules = enforced(config, app)
    root = checkout.resolve()
    for item in rendered:
        for one in (check_kind, check_pod_security, check_secrets, check_hosts):
            findings += one(item, rules, root)
    findings += check_ingress_ports(rendered, app, root)
    findings += check_followed_images(rendered, app, checkout)
    return findings


# Command line ----------------------------------------------------------------------------------------------------


def load(stack: str) -> StackConfig:
    secret = {f"kiban:{s.key}" for s in SECRET_SETTINGS}
    settings = {key.removeprefix("kiban:"): value for key, value in stack_config(stack).items()
                if key.startswith("kiban:") and key not in secret}
    return parse_stack_config(settings, stack)


def pick(config: StackConfig, name: str | None) -> ArgoApplication:
    apps = {a.name: a for a in config.argocd.applications}
    if name is None and len(apps) == 1:
        return next(iter(apps.values()))
    if name not in apps:
        listed = ", ".join(sorted(apps)) or "none"
        raise CannotCheck(f"say which application with NAME=<name> (kiban:argocd.applications has: {listed})")
    return apps[name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", required=True, type=Path, help="the application's checkout")
    parser.add_argument("--name", help="its name in kiban:argocd.applications (default: the only one)")
    parser.add_argument("--stack", default="dev")
    args = parser.parse_args(argv)
    try:
        config = load(args.stack)
        app = pick(config, args.name)
        findings = check(config, app, args.app)
    except CannotCheck as error:
        print(f"app-check: {error}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} to change before {app.name} runs in {app.namespace} ({args.stack})", file=sys.stderr)
        return 1
    print(f"{app.name}: ready for {app.namespace} ({args.stack}): kinds, Pod Security {app.pod_security}, Secrets, "
          "hosts and followed images checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
