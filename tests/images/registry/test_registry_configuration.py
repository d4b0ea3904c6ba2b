"""kiban's own registry configuration (components/platform/build_pc_registry.py `registry_configuration`) on the real
registry binary, run the way kiban's registry image runs it (its Dockerfile's ENV, the supervisor): TLS from a CA of the
test's, htpasswd with a bcrypt hash of the kind pulumi_random makes, deletes, the headers, and one maintenance (clean-up
through TLS and credentials, garbage collection with the same file); and every key it writes checked against the
configuration distribution 3.x reads.

Which binary ran is in the run's header (tests/servers.py). Where it is the distribution's 2.8 standing in for the
pinned registry:3 (versions.json `tools.dockerRegistry.olderMajor`), this file tests with it what the two majors
share: the same keys, read the same way (the table below is v3.1.1's, from its source), TLS, bcrypt htpasswd, deletes,
the API and garbage collection. Its 3.x-only part, that the image turns OpenTelemetry's export off (else 3.x logs an
error every few seconds), is checked here against the official image's settings; the served test's "no error in the
log" catches it only on a 3.x binary.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.platform.build_pc_registry import registry_configuration
from images.registry.registry_cleanup import Registry
from images.registry.registry_maintenance import RegistryServer, maintain
from tests.images.registry.test_registry_cleanup import blob_files, push_image
from tests.servers import REGISTRY_DOCKERFILE, RegistryBinary, dockerfile_environment, free_port

USER = "pusher"
PASSWORD = "pushes-0123456789abcdef"
BCRYPT_HASH = "$2a$10$sGv3zxnrlTbUwK2k1Mjx/OeQxoG9CR.i.ROlLDCRKkVrRUucXKhd2"
"""PASSWORD's hash as pulumi_random's `bcrypt_hash` makes one (golang.org/x/crypto/bcrypt, cost 10, `$2a$`): made
with that package's GenerateFromPassword."""

ANY = "any"
"""A free-form map (`map[string]any`, or a section kiban leaves alone): any key below it."""

V3_KEYS: dict[str, Any] = {
    "version": None,
    "log": {"accesslog": {"disabled": None}, "level": None, "formatter": None, "fields": ANY, "hooks": ANY,
            "reportcaller": None},
    "loglevel": None,
    # Storage is a map of one driver's parameters plus these sections (Storage.Type); the filesystem driver reads
    # rootdirectory and maxthreads (registry/storage/driver/filesystem/driver.go), registry/handlers/app.go reads
    # delete.enabled and tag.concurrencylimit.
    "storage": {"filesystem": {"rootdirectory": None, "maxthreads": None}, "delete": {"enabled": None},
                "maintenance": ANY, "cache": ANY, "redirect": ANY, "tag": {"concurrencylimit": None}},
    # The htpasswd access controller reads realm and path (registry/auth/htpasswd/access.go).
    "auth": {"htpasswd": {"realm": None, "path": None}, "token": ANY, "silly": ANY, "none": ANY},
    "middleware": ANY,
    "http": {"addr": None, "net": None, "host": None, "prefix": None, "secret": None, "relativeurls": None,
             "draintimeout": None,
             "tls": {"certificate": None, "key": None, "clientcas": None, "clientauth": None, "minimumtls": None,
                     "ciphersuites": None, "letsencrypt": ANY},
             "headers": ANY, "debug": {"addr": None, "prometheus": {"enabled": None, "path": None}},
             "http2": {"disabled": None}, "h2c": {"enabled": None}},
    "notifications": ANY, "redis": ANY, "health": ANY, "catalog": {"maxentries": None}, "tags": {"maxtags": None},
    "proxy": ANY, "validation": ANY, "policy": ANY,
}
"""The keys distribution v3.1.1 reads, from its source (configuration/configuration.go's yaml tags, and the files named
above for the maps it hands on). Its parser (configuration/parser.go) uses the non-strict yaml.Unmarshal: a key not
here is ignored without a word, which is why kiban's configuration is checked against this. Gone since 2.x, for
example: `compatibility` (schema1) and `reporting` (bugsnag, newrelic), both keys of v2.8.3's configuration.go, and
the oss and swift storage drivers."""


def unknown_keys(config: dict[str, Any], known: dict[str, Any] = V3_KEYS, at: str = "") -> list[str]:
    """The keys of `config` that v3.1.1 does not read, by their dotted path."""
    found = []
    for key, value in config.items():
        path = f"{at}{key}"
        if key not in known:
            found.append(path)
        elif isinstance(known[key], dict) and isinstance(value, dict):
            found += unknown_keys(value, known[key], path + ".")
    return found


def test_every_key_kiban_writes_is_one_distribution_3_reads():
    assert unknown_keys(yaml.safe_load(registry_configuration())) == []


def test_a_key_3_x_no_longer_reads_or_a_misspelt_one_is_found():
    config = yaml.safe_load(registry_configuration())
    config["compatibility"] = {"schema1": {"enabled": True}}
    config["storage"]["delete"] = {"enable": True}
    config["http"]["tls"]["minimumTLS"] = "tls1.2"
    assert unknown_keys(config) == ["storage.delete.enable", "http.tls.minimumTLS", "compatibility"]


def test_the_image_turns_off_what_the_official_image_turns_off():
    """The official registry:3 image sets OTEL_TRACES_EXPORTER=none beside its binary (its image config, as
    docker-library/repo-info lists it for registry:3.1.1); kiban's image copies only the binary, so it sets it too.
    Without it 3.x exports traces to an OTLP collector at localhost:4318 and logs an error for each failed export
    (seen with v3.1.1's binary: `level=error msg="traces export: Post \\"https://localhost:4318/v1/traces\\" ...`)."""
    assert dockerfile_environment(REGISTRY_DOCKERFILE).get("OTEL_TRACES_EXPORTER") == "none"


def certificate_authority(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate it signed for localhost and 127.0.0.1, P-256 keys as kiban's (pulumi-tls):
    (CA certificate, server certificate, server key)."""
    ca_key, ca, key, request, certificate = (folder / n for n in ("ca.key", "ca.crt", "tls.key", "tls.csr", "tls.crt"))
    extensions = folder / "server.ext"
    extensions.write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                          "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
                          "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    for command in (
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
         "-out", ca, "-days", "2", "-subj", "/CN=test registry CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", request,
         "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", certificate,
         "-days", "2", "-extfile", extensions],
    ):
        done = subprocess.run(["openssl", *map(str, command)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return ca, certificate, key


def sender(registry: Registry):
    """Requests as `registry` makes them: its credentials and its TLS trust."""

    def send(request: urllib.request.Request):
        if registry.auth:
            request.add_header("Authorization", registry.auth)
        return urllib.request.urlopen(request, context=registry.context, timeout=30)

    return send


def test_kibans_configuration_on_the_real_binary(registry_server: RegistryBinary, tmp_path: Path, monkeypatch):
    # The container's environment is the image's (its Dockerfile's ENV); spans are exported every 100 ms instead of
    # every 5 s (OpenTelemetry's OTEL_BSP_SCHEDULE_DELAY), so a 3.x binary that exports them says so in this test.
    for name, value in {**dockerfile_environment(REGISTRY_DOCKERFILE), "OTEL_BSP_SCHEDULE_DELAY": "100"}.items():
        monkeypatch.setenv(name, value)
    ca, certificate, key = certificate_authority(tmp_path)
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"{USER}:{BCRYPT_HASH}\n")
    storage = tmp_path / "storage"
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text(registry_configuration(port, listen="127.0.0.1", data=str(storage), certificate=str(certificate),
                                             key=str(key), htpasswd=str(htpasswd)))
    url = f"https://localhost:{port}"
    log = tmp_path / "registry.log"
    with log.open("wb") as out:
        server = RegistryServer(str(registry_server.binary), str(config), url, ca_file=str(ca), log=out.fileno())
        server.start()
        try:
            status, headers, _ = Registry(url, ca_file=str(ca)).request("GET", "/v2/")
            headers = {k.lower(): v for k, v in headers.items()}
            assert status == 401 and headers["www-authenticate"] == 'Basic realm="kiban-registry"'
            assert headers["x-content-type-options"] == "nosniff", "the configured header"
            assert Registry(url, USER, "not-the-password", str(ca)).request("GET", "/v2/")[0] == 401
            registry = Registry(url, USER, PASSWORD, str(ca))
            assert registry.request("GET", "/v2/")[0] == 200, "the bcrypt htpasswd line lets its user in"
            with pytest.raises(urllib.error.URLError):  # TLS only: no plain HTTP on the port
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=5)
            with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):  # the CA's certificate
                urllib.request.urlopen(url + "/v2/", context=ssl.create_default_context(), timeout=5)

            send = sender(registry)
            images = {
                v: push_image(url, "face-api", [v, "latest"] if v == "1.0.2" else [v], f"2026-0{i}-01T00:00:00Z", send)
                for i, v in enumerate(["1.0.0", "1.0.1", "1.0.2"], start=1)
            }
            before = blob_files(storage)

            deleted = maintain(server, registry, keep=1)

            assert sorted(deleted["face-api"]) == sorted(images[v]["manifest"] for v in ("1.0.0", "1.0.1")), (
                "deletes are enabled")
            assert server.process is not None and server.process.poll() is None, "served again"
            tags = json.loads(send(urllib.request.Request(f"{url}/v2/face-api/tags/list")).read())["tags"]
            assert sorted(tags) == ["1.0.2", "latest"]
            gone = {images[v][b].split(":")[1] for v in ("1.0.0", "1.0.1") for b in ("layer", "config")}
            assert gone <= before and not gone & blob_files(storage), "garbage collection with kiban's file"
            time.sleep(0.5)  # a few export intervals after the last request
        finally:
            server.stop()
    # 2.8 logs the wrong password above at error level; nothing else may be an error.
    wrong_password = 'error authenticating user \\"pusher\\": authentication failure'
    errors = [line for line in log.read_text().splitlines() if "level=error" in line and wrong_password not in line]
    assert errors == [], f"{registry_server.server.describe()} logged errors:\n" + "\n".join(errors)
