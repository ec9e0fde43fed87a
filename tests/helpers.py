"""Helpers shared by the tests.

A waitable `Journal` (and `record_events`, `logged` to fill and read one), parking agents on
gates (`park`), an agent that journals the Terminated notices it gets (`Watcher`), moving a
manual clock (`advance_and_settle`), a fresh interpreter on this checkout (`fresh_python`), and
the one place that knows where a system keeps its internals (`runtime`, `dead_letter_count`).

A test that only needs to receive a message or a Terminated uses `actors.testing.TestProbe`;
one that waits for an event or a dead letter uses `actors.testing.expect_event` /
`expect_dead_letter` (the ``system`` and ``manual_system`` fixtures record from the start).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from actors import ActorSystem, AgentActor, DeadLetterReason, ManualClock, Terminated, handler
from actors._runtime import Runtime
from tests.messages import GATES, Block, Note, Unwatch, Watch, gate

WAIT = 10.0  # seconds any single wait may take before the test fails
ROOT = Path(__file__).resolve().parents[1]  # the checkout whose packages the tests import


class Journal:
    """A thread-safe list that a test can wait on (a condition variable, never a sleep)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: list[Any] = []

    def add(self, item: Any) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()

    def items(self) -> list[Any]:
        with self._cond:
            return list(self._items)

    def clear(self) -> None:
        with self._cond:
            self._items.clear()

    def wait_for(self, predicate: Callable[[list[Any]], bool], timeout: float = WAIT) -> list[Any]:
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self._items), timeout):
                pytest.fail(f"timed out after {timeout}s waiting; journal holds {self._items!r}")
            return list(self._items)

    def wait_len(self, count: int, timeout: float = WAIT) -> list[Any]:
        return self.wait_for(lambda items: len(items) >= count, timeout)


def record_events(system: ActorSystem, *types: type) -> Journal:
    journal = Journal()
    system.events.subscribe(journal.add, *types, inline=True)  # journaled before publish returns
    return journal


def logged(text: str, level: str = "DEBUG") -> Callable[[list[Any]], bool]:
    """A predicate for ``logs.wait_for`` (the ``logs`` fixture's journal of loguru records).

    True once a record at ``level`` or above has ``text`` in its message.
    """
    floor = logger.level(level).no
    return lambda records: any(r["level"].no >= floor and text in r["message"] for r in records)


# -- gates (see tests.messages.gate) --------------------------------------------------------------


def open_every_gate() -> None:
    """Release every agent parked on a gate (a failing test must not leave one parked)."""
    for event in list(GATES.values()):
        event.set()


def park(ref, key: str) -> threading.Event:
    """Park the agent on a gate; returns the event that releases it."""
    entered, release = gate(key)
    ref.tell(Block(key=key))
    assert entered.wait(5), "the agent never took the Block message"
    return release


def texts(seen: list) -> list[str]:
    return [m.text for _, m in seen if isinstance(m, Note)]


def tell_from_a_thread(ref, text: str) -> tuple[threading.Thread, threading.Event, list[int]]:
    """Tell ``ref`` Note(text) from a new thread (a full BLOCK mailbox makes that tell wait).

    Returns the thread, an event set once the tell returned, and a list that gets its result.
    """
    told: list[int] = []
    done = threading.Event()

    def send() -> None:
        told.append(ref.tell(Note(text=text)))
        done.set()

    sender = threading.Thread(target=send, name="test-sender")
    sender.start()
    return sender, done, told


# -- agents that journal what they get ------------------------------------------------------------


# -- death watch ----------------------------------------------------------------------------------


class Watcher(AgentActor):
    """Watches whoever a Watch names (until an Unwatch names them); journals every Terminated."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    @handler
    def on_watch(self, msg: Watch) -> None:
        self.watch(msg.name)

    @handler
    def on_unwatch(self, msg: Unwatch) -> None:
        self.unwatch(msg.name)

    @handler
    def on_terminated(self, msg: Terminated) -> None:
        self.journal.add(msg)


# -- a system's internals -------------------------------------------------------------------------
# The router, timers, dead-letter office and closing flag are private: they are moving from
# attributes of the system to a runtime object at ``system._runtime``. Tests that must look inside
# go through these functions, so that only they know where the internals live.


def runtime(system: ActorSystem) -> Runtime:
    """The runtime behind ``system`` (``router``, ``timers``, ``closing``...): its internals."""
    return system._runtime


def dead_letter_counts(system: ActorSystem) -> dict[DeadLetterReason, int]:
    """How many dead letters ``system`` recorded, by reason (a reason never seen is absent)."""
    return system.dead_letter_counts()


def dead_letter_count(system: ActorSystem, *reasons: DeadLetterReason) -> int:
    """How many dead letters ``system`` recorded for any of ``reasons``."""
    counts = dead_letter_counts(system)
    return sum(counts.get(reason, 0) for reason in reasons)


def advance_and_settle(system: ActorSystem, sup: Any, clock: ManualClock, seconds: float) -> None:
    """Advance ``clock``; return once the timer thread and the supervisor ``sup`` acted on it.

    The timers due before the new reading have fired (a marker timer due at it has), and the
    supervisor has handled what they caused (``sup.children`` queues behind it).
    """
    passed = threading.Event()
    runtime(system).timers.call_later(seconds, passed.set)
    clock.advance(seconds)
    assert passed.wait(WAIT), "the timer thread never acted on the clock's new reading"
    sup.children(timeout=WAIT)


# -- a fresh interpreter --------------------------------------------------------------------------


def fresh_python(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``python *args`` in a new interpreter that imports this checkout's packages.

    ``ROOT`` goes first on ``PYTHONPATH`` (and is the working directory), so a script run by
    path imports the code under test, not whatever copy is installed in the environment.

    Raises:
        subprocess.TimeoutExpired: if the process outlives ``timeout`` (it is killed).
    """
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
