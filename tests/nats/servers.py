"""nats-server processes for tests and benchmarks: Debian's binary, 127.0.0.1, free ports.

Each `NatsServer` writes its own config file (client, monitoring and cluster listeners all on
127.0.0.1, JetStream in a directory of its own) and starts ``nats-server`` on it. Readiness is
the monitoring endpoint's ``/healthz`` answering 200 (JetStream included), polled with a
bounded wait that fails loudly. Nothing here reaches any other address.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["NatsServer", "free_port", "nats_server_binary"]

HOST = "127.0.0.1"


def nats_server_binary() -> str | None:
    """The nats-server executable, or None if it is not installed."""
    found = shutil.which("nats-server")  # Debian puts it in /usr/sbin: not on every PATH
    for path in ("/usr/sbin/nats-server", "/usr/bin/nats-server"):
        if found is None and Path(path).exists():
            found = path
    return found


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class NatsServer:
    """One nats-server with JetStream, optionally a member of a cluster of servers."""

    def __init__(
        self, directory: Path, *, name: str = "s1", cluster: str | None = None,
        routes: tuple[int, ...] = (), extra: str = "",
    ) -> None:  # fmt: skip
        self.directory = directory
        self.name = name
        self.port = free_port()
        self.monitor = free_port()
        self.cluster = cluster
        self.cluster_port = free_port() if cluster else None
        self.routes = routes
        self.extra = extra  # more config lines (authorization, limits)
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        self.config = directory / "nats.conf"
        self.log = directory / "nats.log"

    @property
    def url(self) -> str:
        """The client URL."""
        return f"nats://{HOST}:{self.port}"

    def _write_config(self) -> None:
        lines = [
            f'server_name: "{self.name}"',
            f"listen: {HOST}:{self.port}",
            f"http: {HOST}:{self.monitor}",
            f'jetstream {{ store_dir: "{self.directory / "js"}" }}',
        ]
        if self.cluster:
            routes = ", ".join(f"nats-route://{HOST}:{port}" for port in self.routes)
            lines.append(
                f'cluster {{ name: "{self.cluster}", listen: {HOST}:{self.cluster_port}, '
                f"routes: [{routes}] }}"
            )
        if self.extra:
            lines.append(self.extra)
        self.config.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 15.0, *, wait: bool = True) -> NatsServer:
        """Start it (same ports and storage as before, on a restart) and wait until ready."""
        binary = nats_server_binary()
        if binary is None:
            msg = "nats-server is not installed (Debian: apt-get install nats-server)"
            raise RuntimeError(msg)
        self._write_config()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [binary, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Wait until /healthz says 200 (JetStream ready); raise with the log if it does not."""
        deadline = time.monotonic() + timeout
        url = f"http://{HOST}:{self.monitor}/healthz"
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(url, timeout=1.0) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last = repr(exc)
            time.sleep(0.05)
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        msg = f"nats-server {self.name} not ready within {timeout} s ({last}); log:\n{tail}"
        raise RuntimeError(msg)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop it gracefully (SIGTERM), killing it if it does not stop within ``timeout``."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def kill(self) -> None:
        """Kill it with SIGKILL (no clean shutdown)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(10.0)

    def restart(self, timeout: float = 15.0) -> None:
        """Stop it and start it again on the same ports and JetStream storage."""
        self.stop()
        self.start(timeout)
