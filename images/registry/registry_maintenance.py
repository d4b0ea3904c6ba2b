"""The build PC registry's own supervisor: it runs `registry serve` and, once a day, the clean-up.

Standard library only: the registry's container on the build PC runs this file as its entry point
(`python3 registry_maintenance.py --config ... --keep 5 --daily-at 04:00`), next to `registry_cleanup.py`. Each
day at `--daily-at` (UTC) it

1. deletes, through the registry's API, the manifests no kept tag points to (`registry_cleanup.clean`: `latest`
   and the newest `--keep` version tags of every repository stay);
2. stops `registry serve` (SIGTERM: the registry drains the requests in flight), so no push can be in flight;
3. runs `registry garbage-collect` against the same configuration and storage, which removes the blobs no
   manifest references any more;
4. starts `registry serve` again.

Pushes during steps 2 to 4 fail to connect and are retried by the client; nothing half-pushed survives as a
manifest. If `serve` exits on its own, the supervisor exits with its status and Docker's restart policy restarts
the container.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

try:
    from images.registry.registry_cleanup import Registry, clean
except ImportError:  # in the registry's container the two files sit side by side
    from registry_cleanup import Registry, clean


def seconds_until(daily_at: str, now: dt.datetime) -> float:
    """Seconds from `now` (UTC) to the next `HH:MM` UTC; a time that has just passed today means tomorrow."""
    hour, minute = (int(part) for part in daily_at.split(":"))
    today = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    target = today if today > now else today + dt.timedelta(days=1)
    return (target - now).total_seconds()


@dataclass
class RegistryServer:
    """`registry serve <config>` as a child process."""

    binary: str
    config: str
    url: str
    """Where the server answers (`https://localhost:5000`), to wait until it is up."""
    ca_file: str | None = None
    log: int | None = None
    """Where the server's log goes. Default: the supervisor's own output (the container's log)."""
    process: subprocess.Popen | None = field(default=None, init=False)

    def start(self, timeout: float = 30) -> None:
        self.process = subprocess.Popen([self.binary, "serve", self.config], stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        context = None
        if self.ca_file:
            import ssl

            context = ssl.create_default_context(cafile=self.ca_file)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"registry serve exited with {self.process.returncode} while starting")
            try:
                urllib.request.urlopen(self.url + "/v2/", timeout=2, context=context)
                return
            except urllib.error.HTTPError:
                return  # 401 without credentials: it answers
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"registry serve did not answer on {self.url} within {timeout}s")

    def stop(self, timeout: float = 60) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def garbage_collect(self) -> str:
        """`registry garbage-collect`; only while stopped. Returns its report."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("garbage collection while the registry serves could delete blobs of a push in flight")
        done = subprocess.run(
            [self.binary, "garbage-collect", self.config], check=True, capture_output=True, text=True
        )
        return done.stdout


def maintain(server: RegistryServer, registry: Registry, keep: int) -> dict[str, list[str]]:
    """One clean-up: delete the manifests no kept tag points to, then stop, collect garbage, and serve again."""
    deleted = clean(registry, keep)
    server.stop()
    try:
        report = server.garbage_collect()
        print(report.strip().splitlines()[-1] if report.strip() else "garbage collection: nothing to remove")
    finally:
        server.start()
    return deleted


def _credentials(path: str | None) -> tuple[str | None, str | None]:
    """`user:password` from a file (the container's secret upload), or none."""
    if not path:
        return None, None
    user, _, password = Path(path).read_text().strip().partition(":")
    return user, password


def arguments() -> argparse.ArgumentParser:
    """The supervisor's command line (the registry container's command)."""
    parser = argparse.ArgumentParser(description="registry serve, and a daily clean-up with garbage collection")
    parser.add_argument("--config", required=True, help="the registry's configuration file")
    parser.add_argument("--registry-binary", default="registry")
    parser.add_argument("--url", required=True, help="where the registry answers inside the container")
    parser.add_argument("--ca-file", default=None)
    parser.add_argument("--credentials-file", default=os.environ.get("REGISTRY_CREDENTIALS_FILE"))
    parser.add_argument("--keep", type=int, default=5, help="version tags kept per repository besides latest")
    parser.add_argument("--daily-at", default="04:00", help="HH:MM, UTC")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = arguments().parse_args(argv)

    server = RegistryServer(args.registry_binary, args.config, args.url, args.ca_file)
    username, password = _credentials(args.credentials_file)
    registry = Registry(args.url, username, password, args.ca_file)

    def terminate(signum, frame):  # noqa: ARG001 (signal handler signature)
        server.stop()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    server.start()
    while True:
        wait = seconds_until(args.daily_at, dt.datetime.now(dt.timezone.utc))
        assert server.process is not None
        try:
            status = server.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ} clean-up: keep latest and {args.keep} versions")
            try:
                maintain(server, registry, args.keep)
            except Exception as error:  # a failed clean-up must not take the registry down with it
                print(f"clean-up failed: {error}", file=sys.stderr)
                if server.process is None or server.process.poll() is not None:
                    server.start()
            continue
        print(f"registry serve exited with {status}", file=sys.stderr)
        return status or 1


if __name__ == "__main__":
    raise SystemExit(main())
