"""regiment: agents in an `ActorSystem`, sent to by ref, by role, by broadcast and by gather."""

from __future__ import annotations

import gc
import itertools

from loguru import logger

from actors import ActorSystem, AgentActor, Message, handler
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
from supervision import ChildSpec, RestartPolicy, SupervisorSpec


class Tick(Message):
    """The message every tell carries (one pre-built instance, shared by all sends)."""

    n: int = 0


class Fail(Message):
    """Its handler raises (after stamping when)."""


class Probe(Message):
    """The first message a new incarnation handles."""


class Sink(AgentActor):
    """Counts `Tick`s into a tally; answers an ask with the tick's number."""

    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally

    @handler
    def on_tick(self, msg: Tick) -> int:
        self.tally.hit()
        return msg.n


class Started(AgentActor):
    """An idle agent that counts its start (and any `Tick`)."""

    def __init__(self, started: Tally, handled: Tally) -> None:
        super().__init__()
        self.started = started
        self.handled = handled

    def on_start(self) -> None:
        self.started.hit()

    @handler
    def on_tick(self, msg: Tick) -> None:
        self.handled.hit()


class Failing(AgentActor):
    """Fails on `Fail`; stamps `Probe`."""

    def __init__(self, marks: Marks) -> None:
        super().__init__()
        self.marks = marks

    @handler
    def on_fail(self, msg: Fail) -> None:
        self.marks.fail()
        raise RuntimeError("benchmark failure")

    @handler
    def on_probe(self, msg: Probe) -> None:
        self.marks.probe()


# never exhausted, with a short window so the restart history stays short (bench_supervision)
BUDGET = RestartPolicy(max_restarts=1_000, within=0.01)


def _system() -> ActorSystem:
    logger.remove()  # per-message logging is not what is measured
    return ActorSystem("bench")


class RegimentSide(Side):
    """The subject: every workload through regiment's public API."""

    key = "regiment"

    def tell(self, n: int, producers: int) -> float:
        msg = Tick()
        tally = Tally(n, shared=False)
        with _system() as system:
            ref = system.spawn(Sink, tally, name="sink")
            send = ref.tell

            def body(count: int) -> None:
                for item in itertools.repeat(msg, count):
                    send(item)

            start = run_producers([lambda c=c: body(c) for c in split(n, producers)])
            return tally.wait("regiment tell") - start

    def pairs(self, n: int, pairs: int) -> float:
        msg = Tick()
        tally = Tally(n, shared=True)
        with _system() as system:
            refs = [system.spawn(Sink, tally, name=f"sink-{i}") for i in range(pairs)]

            def body(send: object, count: int) -> None:
                for item in itertools.repeat(msg, count):
                    send(item)  # type: ignore[operator]

            start = run_producers(
                [
                    lambda r=r, c=c: body(r.tell, c)
                    for r, c in zip(refs, split(n, pairs), strict=True)
                ]
            )
            return tally.wait("regiment pairs") - start

    def role(self, n: int, agents: int) -> float:
        msg = Tick()
        tally = Tally(n, shared=True)
        with _system() as system:
            for i in range(agents):
                system.spawn(Sink, tally, name=f"w-{i}", roles=("worker",))
            tell = system.tell

            def body() -> None:
                for item in itertools.repeat(msg, n):
                    tell("role:worker", item)

            start = run_producers([body])
            return tally.wait("regiment role") - start

    def ask(self, n: int) -> list[float]:
        msg = Tick(n=1)
        with _system() as system:
            ref = system.spawn(Sink, Tally(-1), name="sink")
            return timed_calls(lambda: ref.ask(msg, timeout=5.0), n)

    def broadcast(self, agents: int, repeats: int) -> list[float]:
        msg = Tick()
        with _system() as system:
            started = Tally(agents, shared=True)
            handled = [Tally(agents, shared=True) for _ in range(repeats)]
            hub = _Hub(handled)
            for i in range(agents):
                system.spawn(Started, started, hub, name=f"a-{i}")
            started.wait("regiment broadcast: started")
            times = []
            for tally in handled:
                hub.current = tally
                gc.collect()
                start = perf_counter()
                system.broadcast(msg)
                times.append(tally.wait("regiment broadcast") - start)
            return times

    def spawn(self, n: int) -> tuple[float, float]:
        started, handled = Tally(n, shared=True), Tally(n, shared=True)
        system = _system()
        gc.collect()
        start = perf_counter()
        for i in range(n):
            system.spawn(Started, started, handled, name=f"a-{i}")
        spawned = started.wait("regiment spawn") - start
        stop = perf_counter()
        if not system.shutdown(timeout=WAIT):
            msg = "regiment shutdown: threads still running"
            raise LostWork(msg)
        return spawned, perf_counter() - stop

    def rss(self, n: int) -> float:
        started, handled = Tally(n, shared=True), Tally(n, shared=True)
        system = _system()  # the system itself is not counted
        gc.collect()
        before = rss_kib()
        for i in range(n):
            system.spawn(Started, started, handled, name=f"a-{i}")
        started.wait("regiment rss: started")
        gc.collect()
        after = rss_kib()
        system.shutdown(timeout=WAIT)
        return (after - before) / n

    def restart(self, n: int) -> list[float]:
        marks = Marks()
        fail, probe = Fail(), Probe()
        with _system() as system:
            system.start_tree(
                SupervisorSpec("restarts", [ChildSpec(Failing, marks, name="f")], policy=BUDGET)
            )
            ref = system.ref("f")
            samples = []
            for _ in range(n):
                marks.probed.clear()
                ref.tell(fail)
                ref.tell(probe)
                if not marks.probed.wait(WAIT):
                    msg = "regiment restart: probe never handled"
                    raise LostWork(msg)
                samples.append(marks.t_probe - marks.t_fail)
            return samples

    def gather(self, n: int, agents: int) -> float:
        messages = [Tick(n=i) for i in range(n)]
        with _system() as system:
            for i in range(agents):
                system.spawn(Sink, Tally(-1, shared=True), name=f"w-{i}", roles=("worker",))
            gc.collect()
            start = perf_counter()
            outcomes = system.gather(
                messages, "role:worker", max_in_flight=n, timeout=WAIT
            ).results(timeout=WAIT)
            elapsed = perf_counter() - start
            if [o.value for o in outcomes] != list(range(n)):
                msg = "regiment gather: wrong answers"
                raise LostWork(msg)
            return elapsed


class _Hub:
    """Stands in for a `Tally` whose target changes per broadcast: hits go to ``current``."""

    __slots__ = ("current",)

    def __init__(self, tallies: list[Tally]) -> None:
        self.current = tallies[0]

    def hit(self) -> None:
        self.current.hit()
