"""Peer processes (``tests.nats.peer``) started and stopped by the tests."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["Peer"]

ROOT = Path(__file__).resolve().parents[2]


class Peer:
    """One peer process: a system with the agents its settings name, on the test's servers."""

    def __init__(self, settings: dict[str, Any]) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.nats.peer", json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.errors: list[str] = []
        self._out = threading.Thread(target=self._read, daemon=True)
        self._err = threading.Thread(target=self._drain, daemon=True)
        self._out.start()
        self._err.start()
        self.node = ""

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.put(raw.decode(errors="replace").strip())
        self.lines.put(None)

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self.errors.append(raw.decode(errors="replace").rstrip())

    def expect(self, prefix: str, timeout: float = 30.0) -> str:
        """The next stdout line starting with ``prefix``; fails loudly after ``timeout``."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                msg = f"peer printed no {prefix!r} within {timeout} s; stderr:\n" + self._tail()
                raise AssertionError(msg) from None
            if line is None:
                msg = f"peer exited before printing {prefix!r}; stderr:\n" + self._tail()
                raise AssertionError(msg)
            if line.startswith(prefix):
                return line

    def ready(self, timeout: float = 30.0) -> Peer:
        """Wait for ``ready <node>``; returns self."""
        self.node = self.expect("ready", timeout).split()[1]
        return self

    def _tail(self) -> str:
        return "\n".join(self.errors[-40:])

    def quit(self, timeout: float = 30.0) -> int:
        """Ask it to shut down cleanly; its exit code."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write(b"quit\n")
                self.process.stdin.flush()
            except BrokenPipeError:
                pass
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout)
        self._join()
        return code

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to the cluster."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30.0)
        self._join()

    def _join(self) -> None:
        for stream in (self.process.stdin,):
            if stream is not None and not stream.closed:
                with contextlib.suppress(BrokenPipeError):
                    stream.close()
        self._out.join(10.0)
        self._err.join(10.0)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
