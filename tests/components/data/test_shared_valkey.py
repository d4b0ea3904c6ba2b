"""SharedValkey: the generated configuration and ACL file against a real Valkey (the session's, tests/servers.py,
of the image's major version): the default user is off, the probe user may only PING, and each application's
user is confined to its own keys and channels; and the component under mocks: a hardened StatefulSet that reads
both files from a Secret, restarts when it changes, and keeps its data."""

from __future__ import annotations

import json
import socket
import subprocess

import pytest
from pulumi.runtime import rpc

from components.data.shared_valkey import (
    CONFIG_DIR,
    PROBE_USER,
    SharedValkey,
    SharedValkeyArgs,
    acl_file,
    password_key,
    server_configuration,
)
from components.contracts.stores import SharedValkeySettings, StoreDurability
from components.apps.delivered.shared_data_access import valkey_connection
from components.contracts.endpoint import DatabaseEndpoint
from tests.servers import VALKEY_PASSWORDS as PASSWORDS
from tests.servers import Valkey
from tools.install_tools import IOREDIS, image_major
from versions import versions


class Client:
    """Just enough of the RESP protocol to send commands and read one reply each."""

    def __init__(self, port: int):
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.reader = self.socket.makefile("rb")

    def __call__(self, *words: str):
        self.socket.sendall(b"".join([f"*{len(words)}\r\n".encode(), *(f"${len(w.encode())}\r\n{w}\r\n".encode() for w in words)]))
        return self._reply()

    def _reply(self):
        line = self.reader.readline().decode().rstrip("\r\n")
        kind, rest = line[0], line[1:]
        if kind in "+-":
            return ("error: " if kind == "-" else "") + rest
        if kind == ":":
            return int(rest)
        if kind == "$":
            if rest == "-1":
                return None
            data = self.reader.read(int(rest) + 2)
            return data[:-2].decode()
        if kind == "*":
            return [self._reply() for _ in range(int(rest))]
        raise AssertionError(line)

    def close(self):
        self.reader.close()
        self.socket.close()


@pytest.fixture
def server(valkey_server: Valkey):
    """The session's Valkey runs kiban's generated configuration and ACL file (tests/servers.py)."""
    return valkey_server.port, valkey_server.folder


def test_the_server_is_of_the_images_major_version(valkey_server: Valkey):
    installed = valkey_server.server
    assert int(installed.version.split(".")[0]) == image_major(versions().images.valkey), installed.describe()


def logged_in(port: int, user: str) -> Client:
    client = Client(port)
    assert client("AUTH", user, PASSWORDS[user]) == "OK"
    return client


def test_the_server_takes_the_generated_configuration(server):
    port, folder = server
    client = logged_in(port, "yomu")
    try:
        assert client("SET", "yomu:session", "1") == "OK"
    finally:
        client.close()
    assert (folder / "appendonlydir").is_dir() or (folder / "appendonly.aof").exists(), "the append-only file"


def test_nobody_gets_in_without_a_password(server):
    port, _ = server
    client = Client(port)
    try:
        assert client("PING").startswith("error: NOAUTH")
        assert client("AUTH", "default", "").startswith("error: WRONGPASS")
        assert client("AUTH", "yomu", "not-the-password").startswith("error: WRONGPASS")
    finally:
        client.close()


def test_an_application_reaches_only_its_own_keys_and_channels(server):
    port, _ = server
    client = logged_in(port, "yomu")
    try:
        assert client("SET", "yomu:a", "1") == "OK" and client("GET", "yomu:a") == "1"
        assert client("SET", "notes:a", "1").startswith("error: NOPERM")
        assert client("GET", "a").startswith("error: NOPERM")
        assert client("PUBLISH", "yomu:events", "x") == 0
        assert client("PUBLISH", "notes:events", "x").startswith("error: NOPERM")
        for dangerous in (("FLUSHALL",), ("KEYS", "*"), ("CONFIG", "GET", "*"), ("ACL", "LIST"), ("SAVE",)):
            assert client(*dangerous).startswith("error: NOPERM"), dangerous
    finally:
        client.close()
    other = logged_in(port, "notes")
    try:
        assert other("GET", "yomu:a").startswith("error: NOPERM")
        assert other("SET", "notes:a", "2") == "OK"
    finally:
        other.close()


def test_an_application_cannot_list_other_applications_keys_or_channels(server):
    """Key patterns guard what a command names, not what it returns: SCAN and RANDOMKEY would list every key
    (checked: under `+@all -@admin -@dangerous` alone, `notes` sees `yomu:` keys), PUBSUB CHANNELS every channel."""
    port, _ = server
    owner = logged_in(port, "yomu")
    other = logged_in(port, "notes")
    try:
        assert owner("SET", "yomu:user:alice@example.com", "1") == "OK"
        assert owner("SUBSCRIBE", "yomu:events")[0] == "subscribe"
        for listing in (("SCAN", "0"), ("SCAN", "0", "MATCH", "notes:*"), ("RANDOMKEY",), ("KEYS", "notes:*"),
                        ("PUBSUB", "CHANNELS"), ("PUBSUB", "SHARDCHANNELS")):
            assert other(*listing).startswith("error: NOPERM"), listing
    finally:
        owner.close()
        other.close()


def test_clients_may_ask_whether_the_server_is_ready(server):
    """INFO is in @dangerous but shows no key or value; ioredis's ready check and BullMQ's checks call it. The
    connection handshake of current clients (HELLO, CLIENT SETNAME/SETINFO, SELECT) stays allowed."""
    port, _ = server
    client = logged_in(port, "yomu")
    try:
        info = client("INFO")
        assert "loading:0" in info and "_version:" in info
        assert client("HELLO", "2")[0] == "server"
        assert client("CLIENT", "SETNAME", "yomu-api") == "OK"
        assert client("CLIENT", "SETINFO", "LIB-NAME", "kiban-test") == "OK"
        assert client("SELECT", "0") == "OK"
    finally:
        client.close()


def connection_for(user: str, port: int) -> dict[str, str]:
    """The connection Secret kiban writes for `user`, pointed at the test server."""
    login = DatabaseEndpoint(host="127.0.0.1", port=port, database=user, username=user, password=None)  # type: ignore[arg-type]
    return valkey_connection(login, PASSWORDS[user])


def test_a_python_client_connects_with_the_url_kiban_writes(server):
    """valkey-py (the redis-py fork) from VALKEY_URL alone: it logs in, sets its library info, and its health check
    (PING), INFO and the application's own keys work; another application's keys do not."""
    import valkey

    port, _ = server
    environment = connection_for("yomu", port)
    client = valkey.Valkey.from_url(environment["VALKEY_URL"], health_check_interval=1)
    try:
        assert client.ping() is True
        prefix = environment["VALKEY_KEY_PREFIX"]
        assert client.set(f"{prefix}:py", "1") and client.get(f"{prefix}:py") == b"1"
        with pytest.raises(valkey.exceptions.NoPermissionError):
            client.get("notes:py")
        assert client.info("server")["tcp_port"] == port
    finally:
        client.close()


IOREDIS_READY = """
const Redis = require(process.env.IOREDIS);
const client = new Redis(process.env.VALKEY_URL, {maxRetriesPerRequest: 0, retryStrategy: () => null});
client.on("error", (e) => { console.error("error: " + e.message); process.exit(2); });
client.on("ready", async () => {
  await client.set(process.env.VALKEY_KEY_PREFIX + ":node", "1");
  console.log(JSON.stringify({ready: true, status: client.status}));
  client.disconnect();
});
"""


def test_ioredis_passes_its_ready_check(server):
    """ioredis (Node.js) runs INFO as its ready check on every connect (enableReadyCheck, on by default) to wait
    out a server still loading its data; without INFO it warns and skips the check. Run the real client."""
    port, _ = server
    module = IOREDIS / "node_modules" / "ioredis"
    assert module.exists(), f"{module} is missing: run `make test` (tools/install_tools.py ioredis)"
    environment = connection_for("yomu", port)
    run = subprocess.run(
        ["node", "-e", IOREDIS_READY],
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "IOREDIS": str(module), **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "Skipping the ready check" not in run.stderr, run.stderr
    assert json.loads(run.stdout) == {"ready": True, "status": "ready"}


def test_the_probe_user_may_only_ping(server):
    port, _ = server
    client = logged_in(port, PROBE_USER)
    try:
        assert client("PING") == "PONG"
        assert client("GET", "yomu:a").startswith("error: NOPERM")
        assert client("INFO").startswith("error: NOPERM")
    finally:
        client.close()


def test_max_memory_is_written_in_bytes():
    config = SharedValkeySettings(maxMemory="256Mi")
    assert f"maxmemory {256 * 1024 * 1024}\n" in server_configuration(config)
    assert "maxmemory-policy noeviction\n" in server_configuration(config)


def test_max_memory_leaves_room_in_the_container():
    with pytest.raises(ValueError, match="more than half of resources.limits.memory"):
        SharedValkeySettings(maxMemory="400Mi")


@pytest.fixture
def valkey(declare, k3s_cpu_facts):
    return declare(
        lambda opts: SharedValkey(
            "shared-valkey",
            SharedValkeyArgs(
                config=SharedValkeySettings(),
                applications=["yomu", "notes"],
                cluster=k3s_cpu_facts,
                image=versions().images.valkey,
                durability=StoreDurability(storage_class="kiban-retain", protect=True, retain_volumes=True),
            ),
            opts,
        )
    )


def test_the_server_reads_its_generated_files_from_the_secret_and_restarts_on_a_change(valkey):
    workload = valkey.object("StatefulSet", "shared-valkey")
    pod = workload["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == versions().images.valkey
    assert container["command"] == ["valkey-server", f"{CONFIG_DIR}/valkey.conf"]
    assert "env" not in container, "no password travels as an environment variable"
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounted = {
        m["mountPath"]: volumes[m["name"]]["secret"]
        for m in container["volumeMounts"]
        if "secret" in volumes.get(m["name"], {})
    }
    assert [i["key"] for i in mounted[CONFIG_DIR]["items"]] == ["valkey.conf", "users.acl"]
    assert [i["key"] for i in mounted["/run/secrets/probe"]["items"]] == [password_key(PROBE_USER)]
    secret = valkey.object("Secret", "shared-valkey-users")
    files = rpc.unwrap_rpc_secret(secret["stringData"])
    assert files["valkey.conf"] == server_configuration(SharedValkeySettings())
    expected = {user: f"mock-password-shared-valkey-users-{password_key(user)}" for user in (PROBE_USER, "yomu", "notes")}
    assert files["users.acl"] == acl_file(expected), "the ACL holds the generated passwords' digests"
    annotations = workload["spec"]["template"]["metadata"]["annotations"]
    assert any("checksum" in key for key in annotations), "a changed Secret restarts the server"


def test_the_probes_log_in_as_the_probe_user_from_a_file(valkey):
    (container,) = valkey.object("StatefulSet", "shared-valkey")["spec"]["template"]["spec"]["containers"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        command = container[probe]["exec"]["command"][-1]
        assert f"cat /run/secrets/probe/{password_key(PROBE_USER)}" in command and f"--user {PROBE_USER}" in command


def test_data_is_kept_and_protected(valkey):
    workload = valkey.object("StatefulSet", "shared-valkey")
    assert valkey.registration("StatefulSet", "shared-valkey").protect
    assert workload["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    (claim,) = workload["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    namespace = valkey.registration("Namespace", "shared-valkey")
    assert namespace.protect and namespace.retain_on_delete
    passwords = valkey.of_type("random:index/randomPassword:RandomPassword")
    assert len(passwords) == 3 and all(p.protect for p in passwords)


def test_each_application_gets_its_own_login(valkey):
    secret = rpc.unwrap_rpc_secret(valkey.object("Secret", "shared-valkey-users")["stringData"])
    assert {password_key(u) for u in ("yomu", "notes", PROBE_USER)} <= set(secret)
    assert len({secret[password_key(u)] for u in ("yomu", "notes", PROBE_USER)}) == 3
