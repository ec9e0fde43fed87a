"""Thespian (``pip install thespian``): ``simpleSystemBase`` and ``multiprocQueueBase``.

``simpleSystemBase`` runs every actor in the thread that calls ``tell``/``ask``, one call at
a time; ``multiprocQueueBase`` runs each actor in its own OS process, messages pickled over
`multiprocessing` queues. Actors cannot reach the caller's memory there, so every side of this
module reports completion the Thespian way: the actor that handles the last expected message
sends ``("done", perf_counter())`` back (``perf_counter`` is CLOCK_MONOTONIC on Linux, the same
clock in every process) and the caller ``listen``s for it. Each workload starts its own
``ActorSystem`` and shuts it down in a ``finally``: no process or thread is left behind.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing.queues
from typing import Any

from thespian.actors import (
    Actor,
    ActorExitRequest,
    ActorSystem,
    PoisonMessage,
)

from benchmarks.anchors.common import (
    WAIT,
    LostWork,
    NotApplicable,
    Side,
    perf_counter,
    rss_kib,
    run_producers,
    split,
    timed_calls,
)

# Thespian's own logging to nowhere (its multiproc base logs through a separate process).
LOGS = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "root": {"level": "CRITICAL", "handlers": ["null"]},
}
SERIAL = "simpleSystemBase runs every actor in the calling thread: one sender at a time"
PROCESSES = "multiprocQueueBase starts an OS process per actor"
GATHER_WINDOW = 1_000  # requests a gather keeps unanswered at most


class Tick:
    """The message every tell carries (picklable: it crosses processes in multiproc)."""

    __slots__ = ("n",)

    def __init__(self, n: int = 0) -> None:
        self.n = n

    def __getstate__(self) -> int:
        return self.n

    def __setstate__(self, state: int) -> None:
        self.n = state


class Arm:
    """Expect ``target`` ticks; report ``("done", t)`` to the sender of this message."""

    def __init__(self, target: int) -> None:
        self.target = target


class Fail:
    """Its handler reports when, then raises."""


class Probe:
    """The first message a new actor handles; answered with when."""


class Counting(Actor):  # type: ignore[misc]
    """Counts `Tick`s after an `Arm`; answers an ask (a `Tick` with n >= 0) with its number."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.target = -1
        self.report_to: Any = None

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        if type(msg) is Tick:
            if msg.n:  # an ask
                self.send(sender, msg.n)
                return
            self.count += 1
            if self.count == self.target:
                self.send(self.report_to, ("done", perf_counter()))
        elif type(msg) is Arm:
            self.count, self.target, self.report_to = 0, msg.target, sender
        elif type(msg) is Fail:
            self.send(sender, ("failed", perf_counter()))
            raise RuntimeError("benchmark failure")
        elif type(msg) is Probe:
            self.send(sender, ("probed", perf_counter()))


def _expect(asys: Any, kind: str, count: int = 1) -> list[float]:
    """Listen until ``count`` ``(kind, t)`` replies arrived; return their times."""
    times: list[float] = []
    deadline = perf_counter() + WAIT
    while len(times) < count:
        left = deadline - perf_counter()
        reply = asys.listen(left) if left > 0 else None
        if reply is None:
            msg = f"thespian: {len(times)} of {count} {kind!r} replies in {WAIT:g}s"
            raise LostWork(msg)
        if isinstance(reply, tuple) and reply[0] == kind:
            times.append(reply[1])
    return times


class _System:
    """An `ActorSystem` whose ``shutdown`` also ends the queue threads Thespian leaves behind.

    multiprocQueueBase talks to its processes over `multiprocessing` queues; after its
    shutdown the queues it dropped still own a feeder thread each until they are closed.
    """

    def __init__(self, asys: Any) -> None:
        self._asys = asys

    def __getattr__(self, name: str) -> Any:
        return getattr(self._asys, name)

    def shutdown(self) -> None:
        self._asys.shutdown()
        gc.collect()
        for obj in gc.get_objects():
            if isinstance(obj, multiprocessing.queues.Queue):
                obj.close()


class ThespianSide(Side):
    """One Thespian system base."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.key = "thespian-simple" if base == "simpleSystemBase" else "thespian-multiproc"
        self.serial = base == "simpleSystemBase"

    def _system(self) -> Any:
        return _System(ActorSystem(self.base, logDefs=LOGS))

    def _armed(self, asys: Any, shares: list[int]) -> list[Any]:
        actors = [asys.createActor(Counting) for _ in shares]
        for address, share in zip(actors, shares, strict=True):
            asys.tell(address, Arm(share))
        return actors

    def tell(self, n: int, producers: int) -> float:
        if producers > 1 and self.serial:
            raise NotApplicable(SERIAL)
        msg = Tick()
        asys = self._system()
        try:
            (address,) = self._armed(asys, [n])
            start = run_producers(
                [lambda c=c: self._send(asys, address, c, msg) for c in split(n, producers)]
            )
            return _expect(asys, "done")[0] - start
        finally:
            asys.shutdown()

    def _send(self, asys: Any, address: Any, count: int, msg: Tick) -> None:
        """Send from a producer thread: its own private context (Thespian's rule for threads)."""
        if self.serial:
            for item in itertools.repeat(msg, count):
                asys.tell(address, item)
            return
        with asys.private() as mine:
            for item in itertools.repeat(msg, count):
                mine.tell(address, item)

    def pairs(self, n: int, pairs: int) -> float:
        if self.serial:
            raise NotApplicable(SERIAL)
        msg = Tick()
        asys = self._system()
        try:
            shares = split(n, pairs)
            actors = self._armed(asys, shares)
            start = run_producers(
                [
                    lambda a=a, c=c: self._send(asys, a, c, msg)
                    for a, c in zip(actors, shares, strict=True)
                ]
            )
            return max(_expect(asys, "done", pairs)) - start
        finally:
            asys.shutdown()

    def role(self, n: int, agents: int) -> float:
        msg = Tick()
        asys = self._system()
        try:
            actors = self._armed(asys, split(n, agents))  # round-robin gives exactly these shares

            def body() -> None:
                tell = asys.tell
                for address, item in zip(
                    itertools.cycle(actors), itertools.repeat(msg, n), strict=False
                ):
                    tell(address, item)

            start = run_producers([body])
            return max(_expect(asys, "done", agents)) - start
        finally:
            asys.shutdown()

    def ask(self, n: int) -> list[float]:
        msg = Tick(1)
        asys = self._system()
        try:
            address = asys.createActor(Counting)
            return timed_calls(lambda: asys.ask(address, msg, 5.0), n)
        finally:
            asys.shutdown()

    def broadcast(self, agents: int, repeats: int) -> list[float]:
        if not self.serial and agents > 100:
            raise NotApplicable(f"{PROCESSES}: {agents:,} processes not run")
        msg = Tick()
        asys = self._system()
        try:
            actors = [asys.createActor(Counting) for _ in range(agents)]
            times = []
            for _ in range(repeats):
                for address in actors:
                    asys.tell(address, Arm(1))
                start = perf_counter()
                for address in actors:  # Thespian has no broadcast: a tell to each
                    asys.tell(address, msg)
                times.append(max(_expect(asys, "done", agents)) - start)
            return times
        finally:
            asys.shutdown()

    def spawn(self, n: int) -> tuple[float, float]:
        if not self.serial:
            raise NotApplicable(f"{PROCESSES}: not run at this scale")
        asys = self._system()
        try:
            start = perf_counter()
            for _ in range(n):  # returns once the actor is constructed
                asys.createActor(Counting)
            spawned = perf_counter() - start
        finally:
            stop = perf_counter()
            asys.shutdown()
        return spawned, perf_counter() - stop

    def rss(self, n: int) -> float:
        if not self.serial:
            raise NotApplicable(f"{PROCESSES}: its memory is not in this process")
        asys = self._system()
        try:
            before = rss_kib()
            actors = [asys.createActor(Counting) for _ in range(n)]
            after = rss_kib()
            del actors
            return (after - before) / n
        finally:
            asys.shutdown()

    def restart(self, n: int) -> list[float]:
        asys = self._system()
        try:
            address = asys.createActor(Counting)
            samples = []
            for _ in range(n):
                # what a user writes: the failure comes back as a PoisonMessage (after
                # Thespian's one retry); stop that actor, create another, send it a message
                t_fail = asys.ask(address, Fail(), WAIT)[1]
                reply = asys.listen(WAIT)
                while not isinstance(reply, PoisonMessage):
                    if reply is None:
                        raise LostWork("thespian restart: no PoisonMessage")
                    reply = asys.listen(WAIT)
                asys.tell(address, ActorExitRequest())
                address = asys.createActor(Counting)
                asys.tell(address, Probe())
                samples.append(_expect(asys, "probed")[0] - t_fail)
            return samples
        finally:
            asys.shutdown()

    def gather(self, n: int, agents: int) -> float:
        if not self.serial:
            raise NotApplicable(
                "hangs: with replies flowing back while the caller keeps telling (even 100 "
                "unanswered), multiprocQueueBase's queue transport stalls for good"
            )
        messages = [Tick(i + 1) for i in range(n)]  # n >= 1: an ask, answered with n
        asys = self._system()
        try:
            actors = [asys.createActor(Counting) for _ in range(agents)]
            values: list[int] = []

            def collect(until: int) -> None:
                while len(values) < until:
                    reply = asys.listen(WAIT)
                    if reply is None:
                        raise LostWork(f"thespian gather: {len(values)} of {n} replies")
                    if isinstance(reply, int):
                        values.append(reply)

            start = perf_counter()
            for sent, (address, m) in enumerate(
                zip(itertools.cycle(actors), messages, strict=False)
            ):
                # keep at most GATHER_WINDOW requests unanswered, as a Thespian user would
                collect(sent - GATHER_WINDOW + 1)
                asys.tell(address, m)
            collect(n)
            elapsed = perf_counter() - start
            if sorted(values) != list(range(1, n + 1)):
                raise LostWork("thespian gather: wrong answers")
            return elapsed
        finally:
            asys.shutdown()
