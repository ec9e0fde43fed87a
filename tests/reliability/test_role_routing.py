"""Role routing while the role's members crash and restart under many producers.

Every strategy passes over a member that is restarting; a message already in a crashing
member's mailbox waits there for the next incarnation. Either way nothing may be lost or
handled twice: each id is handled exactly once or dead-lettered with a reason.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest

from actors import ActorSystem, AgentActor, AgentFailed, Future, Routing, handler
from supervision import RestartPolicy
from tests.reliability.ledger import InjectedFault, Ledger, Work, reason_counts

pytestmark = pytest.mark.slow

MEMBERS = 8
PRODUCERS = 6
FAIL_RATE = 0.02
FORCED_RESTARTS = 40  # restarts ordered from outside (restart_child) while the traffic runs


class Member(AgentActor):
    def __init__(self, ledger: Ledger) -> None:
        super().__init__()
        self.ledger = ledger

    @handler
    def on_work(self, work: Work) -> int:
        if work.fail:
            raise InjectedFault(f"work {work.id}")
        self.ledger.record(self.name, work.id)
        return work.id


ROUTINGS = {
    "round_robin": Routing.ROUND_ROBIN,
    "least_busy": Routing.LEAST_BUSY,
    "consistent_hash": Routing.consistent_hash(lambda work: str(work.id % 97)),
}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("routing", list(ROUTINGS))
def test_role_routing_loses_and_doubles_nothing_while_members_crash_and_restart(size, routing):
    total = size.role_messages
    ledger = Ledger()
    system = ActorSystem("crew", ask_timeout=120.0)
    try:
        ledger.watch(system)
        pool = system.spawn_pool(
            Member,
            ledger,
            name="crew",
            size=MEMBERS,
            role="crew",
            routing=ROUTINGS[routing],
            policy=RestartPolicy(max_restarts=10_000_000, within=3600.0),
        )
        took: dict[int, int] = {}
        failing: set[int] = set()
        asks: list[tuple[int, Future[int]]] = []
        lock = threading.Lock()
        errors: list[BaseException] = []

        def produce(index: int) -> None:
            rng = random.Random(index)
            try:
                for n in range(total // PRODUCERS):
                    work = Work(id=n * PRODUCERS + index, fail=rng.random() < FAIL_RATE)
                    if rng.random() < 0.2:
                        future = system.ask_future("role:crew", work)
                        with lock:
                            asks.append((work.id, future))
                            took[work.id] = 1
                    else:
                        count = system.tell("role:crew", work)
                        with lock:
                            took[work.id] = count
                    if work.fail:
                        with lock:
                            failing.add(work.id)
                    if n % 500 == 499:  # bounded backlog
                        while len(took) - ledger.handled_total() - ledger.letters.qsize() > 5000:
                            time.sleep(0.002)
            except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                errors.append(exc)

        def restart_members() -> None:
            rng = random.Random(99)
            try:
                for _ in range(FORCED_RESTARTS):
                    pool.supervisor.restart_child(f"crew-{rng.randrange(1, MEMBERS + 1)}")
                    time.sleep(0.005)
            except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                errors.append(exc)

        threads = [threading.Thread(target=produce, args=(i,)) for i in range(PRODUCERS)]
        threads.append(threading.Thread(target=restart_members))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
            assert not thread.is_alive(), "a producer hung"
        assert not errors, errors

        answered: Counter[str] = Counter()
        for work_id, future in asks:
            try:
                assert future.get(timeout=120) == work_id
                answered["reply"] += 1
            except AgentFailed:
                assert work_id in failing
                answered["failed"] += 1
        letters = ledger.settle(sum(took.values()), timeout=60)
        elapsed = time.monotonic() - started
        handled, reasons = ledger.outcomes(letters)

        assert set(took.values()) == {1}  # a role send always finds a mailbox
        wrong = {
            i: (handled[i], reasons.get(i, []))
            for i in took
            if handled[i] + len(reasons.get(i, [])) != 1
        }
        example = list(wrong.items())[:10]
        assert not wrong, f"{len(wrong)} ids not handled exactly once, e.g. {example}"
        for work_id in failing:
            assert reasons.get(work_id) == ["handler_failed"], (work_id, reasons.get(work_id))
        unexpected = {i: r for i, r in reasons.items() if i not in failing}
        assert not unexpected, unexpected
        restarts = system.metrics().system.restarts
        members = len(ledger.handled)
        print(
            f"\nrole routing ({routing}): {len(took):,} messages from {PRODUCERS} producers "
            f"to {MEMBERS} members in {elapsed:.1f}s ({len(took) / elapsed:,.0f} messages/s); "
            f"{len(failing):,} injected faults, {restarts:,} restarts, {members} members "
            f"handled work; asks {dict(answered)}; dead letters {reason_counts(letters)}"
        )
    finally:
        clean = system.shutdown(timeout=60)
    assert clean
