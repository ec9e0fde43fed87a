"""Shutdown under load: 100,000 messages queued across many agents, producers still sending.

`tests/scenarios/test_races.py` floods one agent; here the backlog is spread over many
agents, addressed directly, by role and by broadcast, with asks in flight, and every
accepted message is accounted for: handled, or dead-lettered ``shutdown``.
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from actors import ActorSystem, AgentActor, Future, Message, SystemStopped, handler
from tests.reliability.ledger import Ledger, Work, reason_counts

pytestmark = pytest.mark.slow

AGENTS = 50
PRODUCERS = 4
TIMEOUT = 10.0
DRAIN = 0.1  # short: most of the backlog is still queued when the tree stops
WORK = 200  # a little work per message (a few microseconds), so the backlog outlasts the drain


class Hold(Message):
    """Parks the agent until the test releases ``RELEASE`` (bounded)."""


RELEASE = threading.Event()


class Busy(AgentActor):
    roles = ("busy",)

    def __init__(self, ledger: Ledger) -> None:
        super().__init__()
        self.ledger = ledger

    @handler
    def on_hold(self, msg: Hold) -> None:
        assert RELEASE.wait(30)

    @handler
    def on_work(self, work: Work) -> int:
        sum(range(WORK))
        self.ledger.record(self.name, work.id)
        return work.id


@pytest.mark.timeout(60)
def test_shutdown_under_load_returns_in_time_and_accounts_for_every_message(size):
    threads_before = set(threading.enumerate())
    ledger = Ledger()
    system = ActorSystem("loaded")
    ledger.watch(system)
    names = [f"busy-{n}" for n in range(AGENTS)]
    RELEASE.clear()
    for name in names:
        system.spawn(Busy, ledger, name=name).tell(Hold())  # parked: the backlog stays queued
    took: dict[int, int] = {}
    asks: list[Future[int]] = []
    next_id = iter(range(10**12)).__next__  # atomic under the GIL
    # The backlog: queued before shutdown starts (the agents handle part of it meanwhile).
    for n in range(size.queued_at_shutdown):
        work_id = next_id()
        took[work_id] = system.tell(names[n % AGENTS], Work(id=work_id))

    refused = [0] * PRODUCERS
    go = threading.Barrier(PRODUCERS + 1)

    def produce(index: int) -> None:
        rng = random.Random(index)
        go.wait()
        while True:
            work_id = next_id()
            pick = rng.random()
            try:
                if pick < 0.6:
                    took[work_id] = system.tell(rng.choice(names), Work(id=work_id))
                elif pick < 0.9:
                    took[work_id] = system.tell("role:busy", Work(id=work_id))
                elif pick < 0.999:
                    future = system.ask_future(rng.choice(names), Work(id=work_id), timeout=60)
                    took[work_id] = 1
                    asks.append(future)
                else:
                    took[work_id] = system.broadcast(Work(id=work_id))
            except SystemStopped:
                refused[index] += 1
                return

    producers = [threading.Thread(target=produce, args=(i,)) for i in range(PRODUCERS)]
    for thread in producers:
        thread.start()
    go.wait()
    time.sleep(0.05)  # the producers are sending
    queued = sum(ref.mailbox_size() for ref in system.agents())
    assert queued >= size.queued_at_shutdown
    RELEASE.set()  # the agents work through what they can while the shutdown drains
    started = time.monotonic()
    clean = system.shutdown(timeout=TIMEOUT, drain=DRAIN)
    elapsed = time.monotonic() - started
    RELEASE.set()
    for thread in producers:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in producers)

    assert clean, "shutdown reported that something did not stop in time"
    assert elapsed < TIMEOUT + 1.0, f"shutdown took {elapsed:.1f}s"
    assert refused == [1] * PRODUCERS  # every producer was refused once, then stopped
    assert system.wait(0)
    leftover = [t.name for t in threading.enumerate() if t not in threads_before]
    assert not leftover, f"threads still running after shutdown returned: {leftover}"

    replies = stopped = 0
    for future in asks:
        try:
            future.get(timeout=1)
            replies += 1
        except SystemStopped:
            stopped += 1
    letters = ledger.settle(sum(took.values()), timeout=5)
    handled, reasons = ledger.outcomes(letters)
    wrong = {
        i: (n, handled[i], reasons.get(i))
        for i, n in took.items()
        if handled[i] + len(reasons.get(i, [])) != n
    }
    assert not wrong, f"{len(wrong)} ids lost or doubled, e.g. {list(wrong.items())[:10]}"
    assert not ledger.duplicates_within_an_agent()
    assert {str(letter.reason) for letter in letters} <= {"shutdown"}, reason_counts(letters)
    print(
        f"\nshutdown under load: {queued:,} queued across {AGENTS} agents when shutdown "
        f"started, {PRODUCERS} producers sending; shutdown(timeout={TIMEOUT}, drain={DRAIN}) "
        f"returned {clean} in {elapsed:.2f}s; {len(took):,} messages accepted, "
        f"{ledger.handled_total():,} handled, {len(letters):,} dead-lettered "
        f"{reason_counts(letters)}; asks: {replies:,} answered, {stopped:,} SystemStopped"
    )
