"""Raw pykka 4.5 (the baseline of every ratio): `pykka.ThreadingActor` with its default inbox.

What a pykka user would write: ``ref.tell`` / ``ref.ask``, a list of refs cycled by hand for a
group, ``ActorRegistry.broadcast``, ``pykka.get_all`` over ask futures. pykka has no
supervisor: a restart is the user's own ``stop()`` and ``start()``.
"""

from __future__ import annotations

import gc
import itertools
import threading
from typing import Any

import pykka

from benchmarks.anchors.common import (
    WAIT,
    LostWork,
    Marks,
    Side,
    Tally,
    perf_counter,
    rss_kib,
    run_producers,
    split,
    timed_calls,
)


class Tick:
    """The message every tell carries (one pre-built instance, shared by all sends)."""

    __slots__ = ("n",)

    def __init__(self, n: int = 0) -> None:
        self.n = n


class Fail:
    """Its handler raises (after stamping when)."""


class Probe:
    """The first message a new actor handles."""


class Sink(pykka.ThreadingActor):
    """Counts `Tick`s; answers an ask with the tick's number (dispatch by type, as users do)."""

    def __init__(self, tally: Any) -> None:
        super().__init__()
        self.tally = tally

    def on_receive(self, message: Any) -> Any:
        if type(message) is Tick:
            self.tally.hit()
            return message.n
        return None


class Idle(pykka.ThreadingActor):
    """An idle actor that counts its start (and any `Tick`)."""

    def __init__(self, started: Any, handled: Any) -> None:
        super().__init__()
        self.started = started
        self.handled = handled

    def on_start(self) -> None:
        self.started.hit()

    def on_receive(self, message: Any) -> None:
        if type(message) is Tick:
            self.handled.hit()


class Failing(pykka.ThreadingActor):
    """Fails on `Fail`; stamps `Probe`."""

    def __init__(self, marks: Marks) -> None:
        super().__init__()
        self.marks = marks

    def on_receive(self, message: Any) -> None:
        if type(message) is Fail:
            self.marks.fail()
            raise RuntimeError("benchmark failure")
        if type(message) is Probe:
            self.marks.probe()


class _Hub:
    """Hits go to ``current`` (one tally per broadcast)."""

    __slots__ = ("current",)

    def __init__(self, tally: Tally) -> None:
        self.current = tally

    def hit(self) -> None:
        self.current.hit()


def _stop(refs: list[pykka.ActorRef[Any]]) -> None:
    """Stop these actors and join their threads (nothing left behind)."""
    before = {t for t in threading.enumerate() if t.name.startswith(("Sink", "Idle", "Failing"))}
    for ref in refs:
        ref.stop(block=False)
    for thread in before:
        thread.join(WAIT)


class PykkaSide(Side):
    """The baseline: the same workloads on raw pykka."""

    key = "pykka"

    def tell(self, n: int, producers: int) -> float:
        msg = Tick()
        tally = Tally(n, shared=False)
        ref = Sink.start(tally)
        try:
            send = ref.tell

            def body(count: int) -> None:
                for item in itertools.repeat(msg, count):
                    send(item)

            start = run_producers([lambda c=c: body(c) for c in split(n, producers)])
            return tally.wait("pykka tell") - start
        finally:
            _stop([ref])

    def pairs(self, n: int, pairs: int) -> float:
        msg = Tick()
        tally = Tally(n, shared=True)
        refs = [Sink.start(tally) for _ in range(pairs)]
        try:

            def body(send: Any, count: int) -> None:
                for item in itertools.repeat(msg, count):
                    send(item)

            start = run_producers(
                [
                    lambda r=r, c=c: body(r.tell, c)
                    for r, c in zip(refs, split(n, pairs), strict=True)
                ]
            )
            return tally.wait("pykka pairs") - start
        finally:
            _stop(refs)

    def role(self, n: int, agents: int) -> float:
        msg = Tick()
        tally = Tally(n, shared=True)
        refs = [Sink.start(tally) for _ in range(agents)]
        try:
            sends = itertools.cycle([r.tell for r in refs])

            def body() -> None:
                for send, item in zip(sends, itertools.repeat(msg, n), strict=False):
                    send(item)

            start = run_producers([body])
            return tally.wait("pykka role") - start
        finally:
            _stop(refs)

    def ask(self, n: int) -> list[float]:
        msg = Tick(1)
        ref = Sink.start(Tally(-1))
        try:
            return timed_calls(lambda: ref.ask(msg, timeout=5.0), n)
        finally:
            _stop([ref])

    def broadcast(self, agents: int, repeats: int) -> list[float]:
        msg = Tick()
        started = Tally(agents, shared=True)
        handled = [Tally(agents, shared=True) for _ in range(repeats)]
        hub = _Hub(handled[0])
        refs = [Idle.start(started, hub) for _ in range(agents)]
        try:
            started.wait("pykka broadcast: started")
            times = []
            for tally in handled:
                hub.current = tally
                gc.collect()
                start = perf_counter()
                pykka.ActorRegistry.broadcast(msg, target_class=Idle)
                times.append(tally.wait("pykka broadcast") - start)
            return times
        finally:
            _stop(refs)

    def spawn(self, n: int) -> tuple[float, float]:
        started, handled = Tally(n, shared=True), Tally(n, shared=True)
        before = set(threading.enumerate())
        gc.collect()
        start = perf_counter()
        for _ in range(n):
            Idle.start(started, handled)
        spawned = started.wait("pykka spawn") - start  # start() returns before on_start
        threads = [t for t in threading.enumerate() if t not in before]
        stop = perf_counter()
        pykka.ActorRegistry.stop_all(timeout=WAIT)
        for thread in threads:  # regiment's shutdown joins its threads: so does this
            thread.join(WAIT)
        return spawned, perf_counter() - stop

    def rss(self, n: int) -> float:
        started, handled = Tally(n, shared=True), Tally(n, shared=True)
        gc.collect()
        before = rss_kib()
        for _ in range(n):
            Idle.start(started, handled)
        started.wait("pykka rss: started")
        gc.collect()
        after = rss_kib()
        pykka.ActorRegistry.stop_all(timeout=WAIT)
        return (after - before) / n

    def restart(self, n: int) -> list[float]:
        marks = Marks()
        fail, probe = Fail(), Probe()
        ref = Failing.start(marks)
        samples = []
        try:
            for _ in range(n):
                marks.probed.clear()
                try:  # what a user writes without a supervisor: ask, catch, replace
                    ref.ask(fail, timeout=5.0)
                except RuntimeError:
                    ref.stop()
                    ref = Failing.start(marks)
                    ref.tell(probe)
                if not marks.probed.wait(WAIT):
                    msg = "pykka restart: probe never handled"
                    raise LostWork(msg)
                samples.append(marks.t_probe - marks.t_fail)
            return samples
        finally:
            _stop([ref])

    def gather(self, n: int, agents: int) -> float:
        messages = [Tick(i) for i in range(n)]
        refs = [Sink.start(Tally(-1, shared=True)) for _ in range(agents)]
        try:
            gc.collect()
            start = perf_counter()
            futures = [
                ref.ask(m, block=False)
                for ref, m in zip(itertools.cycle(refs), messages, strict=False)
            ]
            values = pykka.get_all(futures, timeout=WAIT)
            elapsed = perf_counter() - start
            if values != list(range(n)):
                msg = "pykka gather: wrong answers"
                raise LostWork(msg)
            return elapsed
        finally:
            _stop(refs)
