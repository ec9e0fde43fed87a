"""``regiment top APP``: the frame it draws, one frame in-process, and Ctrl-C in a terminal."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest
from rich.console import Console

from actors import ActorSystem, AgentActor, MetricsSnapshot
from actors._top import frame, run_top
from tests.helpers import ROOT, WAIT
from tests.messages import Note

APP = "tests.cli.sample_app:build"


class Idle(AgentActor):
    pass


def with_handled(snapshot: MetricsSnapshot, name: str, handled: int) -> MetricsSnapshot:
    agent = snapshot.agents[name].model_copy(update={"handled": handled})
    system = snapshot.system.model_copy(update={"handled": handled})
    return snapshot.model_copy(
        update={"agents": {**snapshot.agents, name: agent}, "system": system}
    )


def test_handled_per_second_is_the_difference_of_two_snapshots_over_the_time_between(system):
    system.spawn(Idle, name="idle")
    before = with_handled(system.metrics(), "idle", 10)
    after = with_handled(system.metrics(), "idle", 30)
    shown = frame(before, after, 4.0, {"idle": "idle"})
    (row,) = shown.rows
    assert (row.agent, row.status, row.mailbox, row.restarts) == ("idle", "idle", 0, 0)
    assert row.per_second == 5.0
    assert shown.per_second == 5.0


def test_an_agent_seen_in_one_snapshot_only_has_no_rate_yet(system):
    before = system.metrics()
    system.spawn(Idle, name="late")
    (row,) = frame(before, system.metrics(), 1.0, {}).rows
    assert row.per_second is None
    assert row.status == "?"


def test_dead_letters_are_counted_for_the_whole_system_by_reason(system):
    shown = frame(None, system.metrics(), 0.0, {})
    assert shown.dead_letter_line() == "dead letters: 0"
    system.tell("role:nobody", Note(text="x"))
    system.tell("role:nobody", Note(text="y"))
    shown = frame(None, system.metrics(), 0.0, {})
    assert shown.dead_letter_line() == "dead letters: 2 (no_role_member 2)"


def test_once_prints_a_single_frame_with_every_agent(system: ActorSystem):
    system.spawn(Idle, name="solo")
    system.spawn(Idle, name="duo", roles=("pair",))
    out = io.StringIO()
    run_top(system, interval=0.01, once=True, console=Console(file=out, width=100))
    text = out.getvalue()
    for word in ("agent", "status", "mailbox", "handled/s", "restarts", "solo", "duo", "idle"):
        assert word in text
    assert "dead letters: 0" in text
    assert "Ctrl-C" not in text


def read_until(master: int, wanted: bytes, seen: bytearray, timeout: float) -> bool:
    """Read the pseudo-terminal into ``seen`` until ``wanted`` appears, EOF, or ``timeout``."""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([master], [], [], min(left, 0.5))
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return wanted in seen
        if not chunk:
            return wanted in seen
        seen.extend(chunk)
    return True


@pytest.mark.slow
def test_top_in_a_terminal_redraws_until_sigint_then_shuts_the_system_down_and_exits_0():
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "actors", "top", APP, "--interval", "0.1"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    seen = bytearray()
    try:
        assert read_until(master, b"ticker", seen, 6 * WAIT), f"no frame: {bytes(seen)!r}"
        assert read_until(master, b"handled/s", seen, WAIT)
        proc.send_signal(signal.SIGINT)
        read_until(master, b"shut down cleanly", seen, 3 * WAIT)
        assert proc.wait(timeout=3 * WAIT) == 0, bytes(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT)
        os.close(master)
    text = bytes(seen).decode(errors="replace")
    assert "system 'sample' shut down cleanly" in text
    assert "Traceback" not in text
