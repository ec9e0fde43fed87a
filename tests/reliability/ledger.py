"""Exactly-once accounting for the reliability suite.

Producers tag every message with a unique id; agents record the ids they handled in a
`Ledger` (one list per agent name: an agent appends only to its own, from its own thread, so
no lock is taken per message); dead letters arrive through a lossless subscription (an
unbounded `queue.Queue`). At the end each id's outcomes are counted: handled by whom, and
dead-lettered with which reason.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from actors import ActorSystem, DeadLetter, DeadLetterReason, Message


class Work(Message):
    """A unit of work with a unique id; ``fail`` makes the handler raise `InjectedFault`."""

    id: int
    fail: bool = False


class InjectedFault(RuntimeError):
    """Raised by a handler on purpose."""


class StartFault(RuntimeError):
    """Raised by ``on_start`` on purpose, during a restart."""


@dataclass
class Ledger:
    """What was handled (per agent) and dead-lettered (per id), for one system."""

    handled: dict[str, list[int]] = field(default_factory=dict)
    letters: queue.Queue[DeadLetter] = field(default_factory=queue.Queue)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    start_attempts: int = 0
    start_faults: int = 0
    start_fault_every: int = 0  # every n-th restart attempt fails in on_start (0: none)

    def watch(self, system: ActorSystem) -> None:
        """Subscribe to ``system``'s dead letters (losslessly: the queue is unbounded)."""
        system.events.subscribe(self.letters, DeadLetter)

    def record(self, name: str, work_id: int) -> None:
        """Called by agent ``name``, in its own thread, for each message it handled."""
        own = self.handled.get(name)
        if own is None:
            own = self.handled.setdefault(name, [])  # setdefault is atomic under the GIL
        own.append(work_id)

    def fail_this_start(self) -> bool:
        """True for every ``start_fault_every``-th restart attempt (counted across agents)."""
        if not self.start_fault_every:
            return False
        with self._lock:
            self.start_attempts += 1
            if self.start_attempts % self.start_fault_every == 0:
                self.start_faults += 1
                return True
            return False

    def handled_total(self) -> int:
        return sum(len(ids) for ids in list(self.handled.values()))

    def settle(self, expected: int, timeout: float) -> list[DeadLetter]:
        """Wait until handled + dead-lettered reaches ``expected``; return the dead letters."""
        letters: list[DeadLetter] = []
        deadline = time.monotonic() + timeout
        while True:
            while True:
                try:
                    letters.append(self.letters.get_nowait())
                except queue.Empty:
                    break
            # Only the letters of Work count: the soak's Crash messages are dead-lettered too,
            # and counting them would end the wait while as many Work messages are in flight.
            work_letters = sum(isinstance(letter.envelope.body, Work) for letter in letters)
            if self.handled_total() + work_letters >= expected:
                return letters
            if time.monotonic() > deadline:
                return letters
            time.sleep(0.01)

    def outcomes(self, letters: list[DeadLetter]) -> tuple[Counter[int], dict[int, list[str]]]:
        """(times each id was handled, the dead-letter reasons of each id)."""
        handled: Counter[int] = Counter()
        for ids in self.handled.values():
            handled.update(ids)
        reasons: dict[int, list[str]] = {}
        for letter in letters:
            body = letter.envelope.body
            if isinstance(body, Work):
                reasons.setdefault(body.id, []).append(str(letter.reason))
        return handled, reasons

    def duplicates_within_an_agent(self) -> dict[str, list[int]]:
        """Ids an agent handled more than once (a broadcast reaches each agent once)."""
        found = {}
        for name, ids in self.handled.items():
            if len(set(ids)) != len(ids):
                found[name] = [i for i, n in Counter(ids).items() if n > 1][:10]
        return found


def reason_counts(letters: list[DeadLetter]) -> dict[str, int]:
    return dict(Counter(str(letter.reason) for letter in letters))


SHUTDOWN = DeadLetterReason.SHUTDOWN
