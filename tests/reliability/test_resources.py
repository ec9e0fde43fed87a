"""Resource bounds: no thread or memory growth across spawn/shutdown cycles, a bounded
dead-letter ring, and event subscribers that raise or block.

Memory is read as the process's resident set (VmRSS): it includes the agents' thread stacks
that tracemalloc cannot see. RSS is noisy (the allocator keeps freed arenas), so each check
compares like with like (after a cycle against after the first cycle, or the second half of
a run against its first half) with a tolerance stated next to it.
"""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

import pytest

from actors import ActorSystem, AgentActor, AgentStarted, DeadLetter, Message, handler

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
WAIT = 10.0


def rss() -> int:
    """The process's resident set size, in bytes."""
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    pytest.skip("no /proc/self/status: RSS unknown")


class Ping(Message):
    n: int = 0


class Idle(AgentActor):
    @handler
    def on_ping(self, msg: Ping) -> int:
        return msg.n


@pytest.mark.timeout(120)
def test_spawning_and_shutting_down_many_agents_three_times_grows_no_threads_or_memory(size):
    threads_before = threading.active_count()
    after: list[int] = []
    objects: list[int] = []
    peaks: list[int] = []
    timings: list[float] = []
    before = rss()
    for cycle in range(4):  # cycle 0 warms up the allocator's arenas (see below)
        started = time.monotonic()
        system = ActorSystem(f"cycle-{cycle}")
        for n in range(size.spawn_agents):
            system.spawn(Idle, name=f"idle-{n}")
        assert system.broadcast(Ping()) == size.spawn_agents
        peaks.append(rss())
        assert system.shutdown(timeout=60)
        timings.append(time.monotonic() - started)
        deadline = time.monotonic() + WAIT
        while threading.active_count() > threads_before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert threading.active_count() == threads_before, f"cycle {cycle} left threads"
        after.append(rss())  # collects first
        objects.append(len(gc.get_objects()))
    per_cycle = peaks[0] - before
    growth = after[3] - after[1]
    seconds = [f"{t:.1f}s" for t in timings]
    print(
        f"\n{size.spawn_agents:,} agents x 3 cycles (after a warm-up): {seconds}; "
        f"RSS at peak {[p // MIB for p in peaks]} MiB, after shutdown "
        f"{[a // MIB for a in after]} MiB; growth from cycle 1 to 3: {growth / MIB:.1f} MiB; "
        f"live Python objects after each cycle {objects}"
    )
    # Exact: no Python object of a stopped system survives it (a few hundred for caches and
    # the interpreter's own bookkeeping; one agent alone leaves dozens).
    assert objects[3] - objects[1] < 500, objects
    # Loose: glibc keeps the arenas that the agents' threads allocated from, so RSS rises by
    # a fraction of one cycle's footprint over the first cycles and then levels off
    # (measured: +12, +8, +0, +4, +0 MiB over six cycles of 2,000 agents, each cycle's peak
    # some 45 MiB above the start). A leak of the agents would add their whole footprint
    # each cycle: twice it over the three measured cycles; half of it is the bound.
    assert growth < per_cycle / 2, (growth / MIB, per_cycle / MIB)


@pytest.mark.timeout(120)
def test_a_million_dead_letters_keep_memory_bounded(size):
    total = size.dead_letters
    capacity = 1000
    with ActorSystem("letters", dead_letter_capacity=capacity) as system:
        started = time.monotonic()
        half = total // 2
        for _ in range(half):
            system.tell("nobody", Ping())
        middle = rss()
        for _ in range(total - half):
            system.tell("nobody", Ping())
        end = rss()
        elapsed = time.monotonic() - started
        assert system.dead_letter_counts() == {"unknown_address": total}
        assert len(system.dead_letters()) == capacity
        # The second half adds no retained letters: any growth is allocator noise, a few MiB;
        # keeping them would cost hundreds of bytes each (over 100 MiB at full size).
        growth = end - middle
        print(
            f"\n{total:,} dead letters in {elapsed:.1f}s ({total / elapsed:,.0f}/s); RSS "
            f"{middle // MIB} MiB at half, {end // MIB} MiB at the end; ring {capacity}"
        )
        assert growth < max(8 * MIB, total * 20), growth / MIB


class Spawned(AgentActor):
    pass


@pytest.mark.timeout(60)
def test_a_subscriber_that_raises_or_blocks_never_holds_up_the_system():
    release = threading.Event()
    entered = threading.Event()
    calls = {"raising": 0}

    def raising(event: AgentStarted) -> None:
        calls["raising"] += 1
        raise RuntimeError("a subscriber's own bug")

    def blocking(event: DeadLetter) -> None:
        entered.set()
        release.wait(WAIT)

    system = ActorSystem("subscribers")
    try:
        system.events.subscribe(raising, AgentStarted)
        blocked = system.events.subscribe(blocking, DeadLetter, buffer=100)
        system.spawn(Idle, name="one")
        system.spawn(Idle, name="two")
        started = time.monotonic()
        for _ in range(10_000):  # far more than the blocked subscriber's buffer holds
            system.tell("nobody", Ping())
        sending = time.monotonic() - started
        assert entered.wait(WAIT)
        assert system.ask("two", Ping(n=4), timeout=WAIT) == 4
        assert sending < 5.0, f"publishing waited for the blocked subscriber: {sending:.1f}s"
        assert blocked.dropped >= 10_000 - 100 - 1
        assert calls["raising"] == 1  # detached after its first error
        assert system.dead_letter_counts() == {"unknown_address": 10_000}
    finally:
        release.set()
        assert system.shutdown(timeout=WAIT)
