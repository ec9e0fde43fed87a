"""Size: per-agent costs stay flat as a system grows to thousands of agents.

Asserted on generous ratios of the same operation at two sizes in one run, never on absolute
times: a cost that grows with the number of agents (a table rebuilt per registration, a list
scanned per stop) makes the later batch many times slower than the earlier one. The ratios
are of the process's CPU time, which other programs on the machine disturb far less than
wall-clock time.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Iterator

import pytest

from actors import ActorSystem, AgentActor, AgentRestarted, Message, handler
from supervision import ChildSpec, Strategy, SupervisorSpec
from tests.helpers import WAIT
from tests.messages import Boom, Crashable

pytestmark = pytest.mark.slow

BATCH = 300
LARGE = 6_000
GROWTH_LIMIT = 3.0  # linear costs give ~1x; the old quadratic table gave ~20x at this size


class Hello(Message):
    pass


class Idle(AgentActor):
    roles = ("worker",)
    counter = 0
    lock = threading.Lock()
    all_done = threading.Event()
    expected = 0

    @handler
    def on_hello(self, msg: Hello) -> None:
        with Idle.lock:
            Idle.counter += 1
            if Idle.counter == Idle.expected:
                Idle.all_done.set()


class Fragile(Crashable):
    roles = ("fragile",)


@contextlib.contextmanager
def no_gc_pause() -> Iterator[None]:
    """Collect first, then keep the collector out of the timed batch.

    A full collection walks every live object: it is amortised O(1) per allocation, but one
    landing inside a 300-agent batch at the large size (and not at the small one) costs about
    as much as the batch itself, which is lumpiness, not a per-agent cost that grows.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def timed_spawns(system: ActorSystem, start: int, count: int) -> float:
    with no_gc_pause():
        began = time.process_time()
        for n in range(start, start + count):
            system.spawn(Idle, name=f"idle-{n}")
        return time.process_time() - began


def timed_stops(system: ActorSystem, start: int, count: int) -> float:
    refs = [system.ref(f"idle-{n}") for n in range(start, start + count)]
    with no_gc_pause():
        began = time.process_time()
        for ref in refs:
            assert ref.stop(timeout=WAIT)
        return time.process_time() - began


def test_spawn_stop_and_broadcast_cost_per_agent_stay_flat_as_the_system_grows():
    # Each size is timed on two batches and the cheaper one counts: a cost that grows with the
    # system's size shows in both, a burst of load on the shared machine in one at most.
    with ActorSystem("big") as system:
        timed_spawns(system, 0, BATCH)  # warm-up
        small_spawn = min(timed_spawns(system, n * BATCH, BATCH) for n in (1, 2))
        small_stop = min(timed_stops(system, n * BATCH, BATCH) for n in (1, 2))
        timed_spawns(system, 3 * BATCH, LARGE)
        base = 3 * BATCH + LARGE
        large_spawn = min(timed_spawns(system, base + n * BATCH, BATCH) for n in (0, 1))
        large_stop = min(timed_stops(system, base + n * BATCH, BATCH) for n in (0, 1))

        live = BATCH + LARGE
        assert len(system.agents()) == live
        Idle.counter, Idle.expected = 0, live
        Idle.all_done.clear()
        assert system.broadcast(Hello()) == live
        assert Idle.all_done.wait(60), f"broadcast handled by {Idle.counter} of {live}"

    assert large_spawn / small_spawn < GROWTH_LIMIT, ("spawn", small_spawn, large_spawn)
    assert large_stop / small_stop < GROWTH_LIMIT, ("stop", small_stop, large_stop)


def test_a_one_for_all_supervisor_of_a_thousand_children_restarts_in_linear_time():
    def start_and_restart(children: int) -> tuple[float, float]:
        specs = [ChildSpec(Fragile, name=f"c{children}-{n}") for n in range(children)]
        restarted = threading.Semaphore(0)
        with ActorSystem("wide") as system:
            system.events.subscribe(lambda event: restarted.release(), AgentRestarted)
            began = time.process_time()
            system.start_tree(SupervisorSpec("wide", specs, strategy=Strategy.ONE_FOR_ALL))
            started = time.process_time() - began
            began = time.process_time()
            system.tell(f"c{children}-0", Boom())
            for _ in range(children):
                assert restarted.acquire(timeout=60), "the group restart never finished"
            return started, time.process_time() - began

    small_start, small_restart = start_and_restart(100)
    large_start, large_restart = start_and_restart(1_000)
    assert large_start / small_start < 10 * GROWTH_LIMIT, (small_start, large_start)
    assert large_restart / small_restart < 10 * GROWTH_LIMIT, (small_restart, large_restart)
