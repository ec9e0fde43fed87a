"""Chaos soak: a 200-agent tree under mixed traffic, injected failures and failing restarts.

Three producer threads mix tells and asks to direct, role and broadcast addresses; 1% of the
messages make their handler raise, and every fifth restart attempt fails in ``on_start`` (the
supervisor charges it and tries again). Meanwhile a small-budget subtree is crashed on purpose
and must escalate exactly when its budget is exceeded. At the end every message id must have
been handled exactly once per recipient or dead-lettered with a reason.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentCrashed,
    AgentFailed,
    AgentRestarted,
    Escalated,
    Event,
    Future,
    Message,
    handler,
)
from supervision import ChildSpec, RestartPolicy, SupervisorSpec
from tests.reliability.ledger import (
    InjectedFault,
    Ledger,
    StartFault,
    Work,
    reason_counts,
)

pytestmark = pytest.mark.slow

GROUPS = 4  # middle supervisors, each with a role of its own
PER_GROUP = 50  # workers per middle supervisor: 200 agents
PRODUCERS = 3
FAIL_RATE = 0.01
START_FAULT_EVERY = 5  # every fifth restart attempt fails in on_start
WINDOW = 20_000  # deliveries a producer lets be outstanding before it waits (bounds memory)
ASK_TIMEOUT = 120.0  # far above any queueing delay: an ask here never times out
FRAGILE_BUDGET = 2  # restarts the fragile supervisor allows; one more escalates
FRAGILE_ROUNDS = 3
# The chaos subtree must never escalate: its budget is far above the faults it will see.
ROOMY = RestartPolicy(max_restarts=10_000_000, within=3600.0)


class Crash(Message):
    """Makes the fragile agent's handler raise."""


class Worker(AgentActor):
    """Records each Work it handles; raises on ``fail``; some restarts fail in on_start."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__()
        self.ledger = ledger

    def on_start(self) -> None:
        if self.context.restarts and self.ledger.fail_this_start():
            raise StartFault(f"{self.name}: injected on_start failure")

    @handler
    def on_work(self, work: Work) -> int:
        if work.fail:
            raise InjectedFault(f"work {work.id}")
        self.ledger.record(self.name, work.id)
        return work.id


class Fragile(Worker):
    """A worker that also crashes on Crash and never fails its on_start."""

    def on_start(self) -> None:
        pass

    @handler
    def on_crash(self, msg: Crash) -> None:
        raise InjectedFault("crash")


class Tally:
    """Counts lifecycle events by (type, name), published inline; waitable."""

    def __init__(self, system: ActorSystem) -> None:
        self._cond = threading.Condition()
        self.counts: Counter[tuple[str, str]] = Counter()
        system.events.subscribe(self._add, AgentRestarted, AgentCrashed, Escalated, inline=True)

    def _add(self, event: Event) -> None:
        name = event.supervisor if isinstance(event, Escalated) else event.name  # type: ignore[attr-defined]
        with self._cond:
            self.counts[(type(event).__name__, name)] += 1
            self._cond.notify_all()

    def __getitem__(self, key: tuple[str, str]) -> int:
        with self._cond:
            return self.counts[key]

    def wait(self, key: tuple[str, str], count: int, timeout: float = 30.0) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.counts[key] >= count, timeout), (
                f"waited for {count} x {key}; saw {dict(self.counts)}"
            )

    def total(self, kind: str, prefix: str) -> int:
        with self._cond:
            counts = self.counts.items()
            return sum(n for (k, name), n in counts if k == kind and name.startswith(prefix))


@dataclass
class Sent:
    """What one producer sent: deliveries per id, the asks, the ids that carry a fault."""

    deliveries: dict[int, int] = field(default_factory=dict)  # id -> mailboxes that took it
    broadcast: set[int] = field(default_factory=set)
    failing_tells: int = 0
    failing: set[int] = field(default_factory=set)
    asks: list[tuple[int, Future[int]]] = field(default_factory=list)
    blocking_asks: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)


def workers() -> list[str]:
    return [f"w{g}-{i}" for g in range(GROUPS) for i in range(PER_GROUP)]


def chaos_tree(ledger: Ledger) -> SupervisorSpec:
    groups = [
        SupervisorSpec(
            f"group-{g}",
            [
                ChildSpec(Worker, ledger, name=f"w{g}-{i}", roles=(f"r{g}",))
                for i in range(PER_GROUP)
            ],
            policy=ROOMY,
        )
        for g in range(GROUPS)
    ]
    return SupervisorSpec("chaos", groups, policy=ROOMY)


def fragile_tree(ledger: Ledger) -> SupervisorSpec:
    fragile = SupervisorSpec(
        "fragile",
        [ChildSpec(Fragile, ledger, name="fragile-w")],
        policy=RestartPolicy(max_restarts=FRAGILE_BUDGET, within=3600.0),
    )
    return SupervisorSpec("guard", [fragile], policy=ROOMY)


def produce(  # noqa: PLR0917 - one producer's whole state, passed once
    system: ActorSystem, ledger: Ledger, index: int, count: int, sent: Sent, progress: list[int]
) -> None:
    rng = random.Random(1000 + index)
    names = workers()
    for n in range(count):
        work_id = n * PRODUCERS + index
        fail = rng.random() < FAIL_RATE
        pick = rng.random()
        if pick < 0.55:
            to, kind = rng.choice(names), "direct"
        elif pick < 0.80:
            to, kind = f"role:r{rng.randrange(GROUPS)}", "role"
        elif pick < 0.802:
            to, kind, fail = f"*:r{rng.randrange(GROUPS)}", "broadcast-role", False
        elif pick < 0.8022:
            to, kind, fail = "*", "broadcast", False
        elif pick < 0.995:
            to, kind = rng.choice((rng.choice(names), f"role:r{rng.randrange(GROUPS)}")), "ask"
        else:
            to, kind = rng.choice(names), "blocking-ask"
        sent.kinds[kind] += 1
        work = Work(id=work_id, fail=fail)
        if fail:
            sent.failing.add(work_id)
        if kind == "ask":
            sent.asks.append((work_id, system.ask_future(to, work, timeout=ASK_TIMEOUT)))
            sent.deliveries[work_id] = 1
        elif kind == "blocking-ask":
            try:
                assert system.ask(to, work, timeout=ASK_TIMEOUT) == work_id
                sent.blocking_asks["reply"] += 1
            except AgentFailed:
                assert fail, f"ask {work_id} failed without an injected fault"
                sent.blocking_asks["failed"] += 1
            sent.deliveries[work_id] = 1
        else:
            took = system.tell(to, work)
            sent.deliveries[work_id] = took
            if kind.startswith("broadcast"):
                sent.broadcast.add(work_id)
            elif fail:
                sent.failing_tells += took
        progress[index] += sent.deliveries[work_id]
        if n % 1000 == 999:  # keep the backlog (and so memory) bounded
            while sum(progress) - ledger.handled_total() - ledger.letters.qsize() > WINDOW:
                time.sleep(0.002)


def escalate_on_purpose(system: ActorSystem, tally: Tally, errors: list[BaseException]) -> None:
    """Crash the fragile agent FRAGILE_ROUNDS times past its budget, checking each step."""
    try:
        for round_ in range(FRAGILE_ROUNDS):
            for crash in range(FRAGILE_BUDGET + 1):
                crashes = tally[("AgentCrashed", "fragile-w")]
                system.tell("fragile-w", Crash())
                tally.wait(("AgentCrashed", "fragile-w"), crashes + 1)
                if crash < FRAGILE_BUDGET:  # within the budget: a restart, no escalation
                    restarted = round_ * (FRAGILE_BUDGET + 1) + crash + 1
                    tally.wait(("AgentRestarted", "fragile-w"), restarted)
                    assert tally[("Escalated", "fragile")] == round_
            # The budget is exceeded by exactly this crash: one escalation, and the guard
            # restarts the fragile supervisor with a fresh budget.
            tally.wait(("Escalated", "fragile"), round_ + 1)
            tally.wait(("AgentRestarted", "fragile"), round_ + 1)
            tally.wait(("AgentRestarted", "fragile-w"), (round_ + 1) * (FRAGILE_BUDGET + 1))
            assert tally[("Escalated", "fragile")] == round_ + 1
    except BaseException as exc:  # noqa: BLE001 - reported by the test thread
        errors.append(exc)


@pytest.mark.timeout(120)
def test_chaos_soak_handles_every_message_exactly_once_or_dead_letters_it(size):
    total = size.soak_messages
    ledger = Ledger(start_fault_every=START_FAULT_EVERY)
    threads_before = threading.active_count()
    system = ActorSystem("chaos-soak")
    try:
        ledger.watch(system)
        tally = Tally(system)
        system.start_tree(chaos_tree(ledger))
        system.start_tree(fragile_tree(ledger))
        sents = [Sent() for _ in range(PRODUCERS)]
        progress = [0] * PRODUCERS
        errors: list[BaseException] = []

        def run(index: int) -> None:
            try:
                produce(system, ledger, index, total // PRODUCERS, sents[index], progress)
            except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                errors.append(exc)

        producers = [threading.Thread(target=run, args=(i,)) for i in range(PRODUCERS)]
        escalator = threading.Thread(target=escalate_on_purpose, args=(system, tally, errors))
        started = time.monotonic()
        for thread in [*producers, escalator]:
            thread.start()
        for thread in [*producers, escalator]:
            thread.join(1200 if size.full else 100)
            assert not thread.is_alive(), "a producer hung"
        assert not errors, errors
        sent_seconds = time.monotonic() - started

        ask_outcomes: Counter[str] = Counter()
        for work_id, future in (ask for sent in sents for ask in sent.asks):
            try:
                assert future.get(timeout=ASK_TIMEOUT) == work_id
                ask_outcomes["reply"] += 1
            except AgentFailed:
                assert work_id in set().union(*(s.failing for s in sents))
                ask_outcomes["failed"] += 1

        deliveries = {i: n for sent in sents for i, n in sent.deliveries.items()}
        expected = sum(deliveries.values())
        letters = ledger.settle(expected, timeout=60)
        elapsed = time.monotonic() - started
        handled, reasons = ledger.outcomes(letters)
        failing = set().union(*(s.failing for s in sents))
        broadcast = set().union(*(s.broadcast for s in sents))

        assert len(deliveries) == total // PRODUCERS * PRODUCERS
        assert not ledger.duplicates_within_an_agent()
        lost, doubled = [], []
        for work_id, took in deliveries.items():
            outcomes = handled[work_id] + len(reasons.get(work_id, []))
            if work_id not in broadcast:
                assert took == 1, f"direct or role message {work_id} reached {took} mailboxes"
            if outcomes < took:
                lost.append(work_id)
            elif outcomes > took:
                doubled.append(work_id)
        assert not lost, f"{len(lost)} messages lost, e.g. {lost[:10]}"
        assert not doubled, f"{len(doubled)} messages duplicated, e.g. {doubled[:10]}"
        # A message with an injected fault is never handled; it is dead-lettered as failed.
        for work_id in failing:
            assert handled[work_id] == 0
            assert reasons[work_id] == ["handler_failed"], (work_id, reasons[work_id])
        # Nothing else was dead-lettered except broadcasts caught by the fragile subtree's
        # escalations (its agent is stopped and started again with its queue).
        unexpected = {i: r for i, r in reasons.items() if i not in failing and i not in broadcast}
        assert not unexpected, unexpected

        # Restarts: one per failing tell; a failed on_start attempt is charged as one more.
        failing_tells = sum(s.failing_tells for s in sents)
        assert tally.total("AgentRestarted", "w") == failing_tells
        assert tally.total("AgentCrashed", "w") == failing_tells + ledger.start_faults
        metrics = system.metrics().agents
        restarts = sum(metrics[name].restarts for name in workers())
        assert restarts == failing_tells + ledger.start_faults
        assert ledger.start_faults > 0 or failing_tells < START_FAULT_EVERY
        # Escalation: only the fragile subtree, exactly once per exceeded budget.
        escalations = {k: n for k, n in tally.counts.items() if k[0] == "Escalated"}
        assert escalations == {("Escalated", "fragile"): FRAGILE_ROUNDS}
        assert system.failure is None

        kinds = sum((s.kinds for s in sents), Counter())
        blocking = sum((s.blocking_asks for s in sents), Counter())
        print(
            f"\nchaos soak: {total:,} messages ({expected:,} deliveries) from {PRODUCERS} "
            f"producers to {GROUPS * PER_GROUP} agents in {elapsed:.1f}s "
            f"({total / elapsed:,.0f} messages/s, {expected / elapsed:,.0f} deliveries/s; "
            f"sending took {sent_seconds:.1f}s)\n"
            f"  kinds {dict(kinds)}\n  asks {dict(ask_outcomes)}, blocking asks {dict(blocking)}"
            f"\n  injected handler faults {len(failing):,} (tells {failing_tells:,}), "
            f"on_start faults {ledger.start_faults:,}, restarts {restarts:,}, "
            f"escalations {FRAGILE_ROUNDS}\n  dead letters {reason_counts(letters)}"
        )
    finally:
        clean = system.shutdown(timeout=60)
    assert clean, "the soak's system did not shut down cleanly"
    deadline = time.monotonic() + 10
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == threads_before, [t.name for t in threading.enumerate()]
