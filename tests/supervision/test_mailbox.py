"""The mailbox across restarts: queued messages, failing asks, backoff, discarding, retrying."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from actors import (
    ActorSystem,
    AgentCrashed,
    AgentFailed,
    AgentRestarted,
    AgentStopped,
    AgentUnavailable,
    DeadLetterReason,
    Message,
    handler,
)
from actors.testing import expect_event
from supervision import STOP, Backoff, ChildSpec, RestartPolicy, SupervisorSpec
from tests.helpers import WAIT, Journal, advance_and_settle, park, record_events, runtime
from tests.messages import Boom, Counting, Item, Parkable, Ping


class Flaky(Message):
    """Fails while the shared attempt count for ``key`` is at most ``failures``."""

    key: str
    failures: int


class Queue(Counting, Parkable):
    """Records (n, restarts) for every Item; can be parked on a gate; fails on Boom and Flaky."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    @handler
    def on_item(self, msg: Item) -> None:
        self.journal.add((msg.n, self.context.restarts))

    @handler
    def on_flaky(self, msg: Flaky) -> str:
        self.journal.add(("attempt", msg.key, self.context.restarts))
        attempts = sum(1 for e in self.journal.items() if e[:2] == ("attempt", msg.key))
        if attempts <= msg.failures:
            raise RuntimeError(f"{msg.key} attempt {attempts}")
        return f"{msg.key} done"


def gated(system: ActorSystem, journal: Journal, **child: Any):
    """Start ``sup`` with one Queue ``q`` and park it on a gate; returns (sup, release)."""
    sup = system.start_tree(
        SupervisorSpec(
            "sup",
            [ChildSpec(Queue, journal, name="q", **child)],
            policy=RestartPolicy(max_restarts=10, within=60.0),
        )
    )
    return sup, park(system.ref("q"), "q")


# -- messages queued behind a failure -------------------------------------------------------------


def test_a_thousand_messages_queued_behind_a_failing_one_are_all_handled_in_order_after_restart(
    system,
):
    journal = Journal()
    _, release = gated(system, journal)
    system.tell("q", Boom())
    for n in range(1000):
        system.tell("q", Item(n=n))
    assert system.ref("q").mailbox_size() == 1001
    release.set()
    handled = journal.wait_len(1000)
    assert len(handled) == 1000
    assert [n for n, _ in handled] == list(range(1000))
    assert {restarts for _, restarts in handled} == {1}
    assert system.ref("q").mailbox_size() == 0
    letters = system.dead_letters()
    assert [(d.reason, type(d.envelope.body)) for d in letters] == [
        (DeadLetterReason.HANDLER_FAILED, Boom)
    ]


def test_keep_mailbox_false_dead_letters_the_queue_on_restart(system):
    journal = Journal()
    sup, release = gated(system, journal, keep_mailbox=False)
    system.tell("q", Boom())
    for n in range(5):
        system.tell("q", Item(n=n))
    pending = system.ref("q").ask_future(Ping(), timeout=WAIT)
    release.set()
    expect_event(system, AgentRestarted, name="q", timeout=WAIT)
    sup.children(timeout=WAIT)
    with pytest.raises(AgentUnavailable):
        pending.get(timeout=WAIT)
    discarded = [d for d in system.dead_letters() if d.reason is DeadLetterReason.RESTART_DISCARDED]
    assert [d.envelope.body for d in discarded] == [Item(n=n) for n in range(5)] + [Ping()]
    assert system.ask("q", Ping(), timeout=WAIT) == 1
    system.tell("q", Item(n=99))
    assert journal.wait_len(1) == [(99, 1)]


def retried_job(system: ActorSystem, failures: int) -> list:
    """Start ``q`` (retry_failed=2), tell it a Flaky job and Item(n=1); the first 4 entries."""
    journal = Journal()
    system.start_tree(
        SupervisorSpec(
            "sup",
            [ChildSpec(Queue, journal, name="q", retry_failed=2)],
            policy=RestartPolicy(max_restarts=10, within=60.0),
        )
    )
    system.tell("q", Flaky(key="job", failures=failures))
    system.tell("q", Item(n=1))
    return journal.wait_len(4)


def test_retry_failed_redelivers_the_failing_message_to_the_next_incarnation(system):
    restarted = record_events(system, AgentRestarted)
    entries = retried_job(system, failures=2)
    assert entries == [("attempt", "job", 0), ("attempt", "job", 1), ("attempt", "job", 2), (1, 2)]
    assert len(restarted.items()) == 2
    assert system.dead_letters() == []


def test_retry_failed_gives_up_after_n_redeliveries_and_dead_letters_the_message(system):
    restarted = record_events(system, AgentRestarted)
    entries = retried_job(system, failures=100)
    assert entries == [("attempt", "job", 0), ("attempt", "job", 1), ("attempt", "job", 2), (1, 3)]
    assert len(restarted.items()) == 3
    [letter] = system.dead_letters()
    assert letter.reason is DeadLetterReason.HANDLER_FAILED
    assert letter.envelope.body == Flaky(key="job", failures=100)


def test_a_message_kept_for_retry_is_dead_lettered_if_the_child_is_stopped_instead(system):
    journal = Journal()
    system.start_tree(
        SupervisorSpec(
            "sup",
            [ChildSpec(Queue, journal, name="q", retry_failed=3)],
            policy=RestartPolicy(decider=lambda error: STOP),
        )
    )
    system.tell("q", Flaky(key="job", failures=100))
    expect_event(system, AgentStopped, name="q", timeout=WAIT)
    assert journal.items() == [("attempt", "job", 0)]
    bodies = [d.envelope.body for d in system.dead_letters()]
    assert Flaky(key="job", failures=100) in bodies, "nothing may be lost silently"


def test_without_retry_failed_the_failing_message_is_delivered_once(system):
    journal = Journal()
    system.start_tree(SupervisorSpec("sup", [ChildSpec(Queue, journal, name="q")]))
    system.tell("q", Flaky(key="job", failures=100))
    system.tell("q", Item(n=1))
    assert journal.wait_len(2) == [("attempt", "job", 0), (1, 1)]


# -- asks to a failing handler --------------------------------------------------------------------


def test_an_ask_to_a_failing_handler_is_answered_with_the_error_at_once(system):
    system.start_tree(SupervisorSpec("sup", [ChildSpec(Queue, Journal(), name="q")]))
    started = time.monotonic()
    with pytest.raises(AgentFailed) as info:
        system.ask("q", Boom(reason="bad request"), timeout=30)
    assert time.monotonic() - started < WAIT, "the error must come at once, not at the timeout"
    assert info.value.agent == "q"
    assert "q" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert str(info.value.__cause__) == "bad request"


def test_by_default_a_failing_ask_does_not_restart_the_agent(system):
    crashes = record_events(system, AgentCrashed)
    sup = system.start_tree(SupervisorSpec("sup", [ChildSpec(Queue, Journal(), name="q")]))
    assert system.ask("q", Ping(), timeout=WAIT) == 1
    with pytest.raises(AgentFailed):
        system.ask("q", Boom(), timeout=WAIT)
    assert system.ask("q", Ping(), timeout=WAIT) == 2, "the instance and its state are kept"
    assert [(c.state, c.restarts) for c in sup.children(timeout=WAIT)] == [("running", 0)]
    assert crashes.items() == []


def test_with_restart_on_ask_error_a_failing_ask_also_restarts_the_agent(system):
    sup = system.start_tree(
        SupervisorSpec("sup", [ChildSpec(Queue, Journal(), name="q", restart_on_ask_error=True)])
    )
    assert system.ask("q", Ping(), timeout=WAIT) == 1
    started = time.monotonic()
    with pytest.raises(AgentFailed) as info:
        system.ask("q", Boom(reason="restart me"), timeout=30)
    assert time.monotonic() - started < WAIT
    assert str(info.value.__cause__) == "restart me"
    expect_event(system, AgentRestarted, name="q", timeout=WAIT)
    assert system.ask("q", Ping(), timeout=WAIT) == 1, "a new instance starts from scratch"
    assert [c.restarts for c in sup.children(timeout=WAIT)] == [1]


# -- backoff --------------------------------------------------------------------------------------


def backoff_tree(system: ActorSystem, journal: Journal, **backoff: Any):
    settings = {"min": 1.0, "max": 10.0, "jitter": 0.0, **backoff}
    return system.start_tree(
        SupervisorSpec(
            "sup",
            [ChildSpec(Queue, journal, name="q")],
            policy=RestartPolicy(max_restarts=10, within=60.0, backoff=Backoff(**settings)),
        )
    )


def fail_into_backoff(system: ActorSystem, sup) -> None:
    """Fail ``q`` and wait until its supervisor has stopped it and scheduled the restart."""
    system.tell("q", Boom())
    expect_event(system, AgentCrashed, name="q", timeout=WAIT)
    sup.children(timeout=WAIT)  # queued behind the failure report: runs once it was handled


def backing_off(system: ActorSystem, **backoff: Any) -> Any:
    """A `backoff_tree` whose ``q`` failed once; returns its supervisor."""
    sup = backoff_tree(system, Journal(), **backoff)
    fail_into_backoff(system, sup)
    return sup


def wait_for_restart(system: ActorSystem) -> None:
    """Wait for the next restart of ``q``."""
    expect_event(system, AgentRestarted, name="q", timeout=WAIT)


def test_messages_sent_during_a_backoff_are_handled_afterwards_in_order(manual_system, clock):
    system = manual_system
    journal = Journal()
    sup = backoff_tree(system, journal)
    fail_into_backoff(system, sup)
    for n in range(3):
        system.tell("q", Item(n=n))
    node = system.tree().find("q")
    assert (node.state, node.mailbox, node.restarts) == ("restarting", 3, 0)
    assert journal.items() == []
    clock.advance(1.0)
    assert journal.wait_len(3) == [(0, 1), (1, 1), (2, 1)]
    assert system.tree().find("q").state == "running"


def test_the_second_consecutive_restart_waits_twice_as_long(manual_system, clock):
    system = manual_system
    sup = backing_off(system)
    clock.advance(1.0)
    wait_for_restart(system)
    fail_into_backoff(system, sup)
    advance_and_settle(system, sup, clock, 1.0)
    assert system.tree().find("q").state == "restarting", "2 s of backoff, only 1 s passed"
    clock.advance(1.0)
    wait_for_restart(system)
    assert system.ask("q", Ping(), timeout=WAIT) == 1


def test_the_backoff_starts_again_from_min_after_a_quiet_period(manual_system, clock):
    system = manual_system
    sup = backing_off(system, reset_after=30.0)
    clock.advance(1.0)
    wait_for_restart(system)
    clock.advance(30.0)
    fail_into_backoff(system, sup)
    clock.advance(1.0)
    wait_for_restart(system)
    assert [c.restarts for c in sup.children(timeout=WAIT)] == [2]


def test_the_backoff_does_not_reset_before_the_child_has_run_reset_after_seconds(
    manual_system, clock
):
    system = manual_system
    # at 1000: first restart after 10 s
    sup = backing_off(system, min=10.0, max=100.0, reset_after=30.0)
    clock.advance(10.0)
    wait_for_restart(system)  # running again since 1010
    clock.advance(25.0)  # 1035: it ran 25 s, less than reset_after
    fail_into_backoff(system, sup)
    advance_and_settle(system, sup, clock, 10.0)
    assert system.tree().find("q").state == "restarting", (
        "the second consecutive restart must wait 20 s: the child had not run 30 s"
    )
    clock.advance(10.0)
    wait_for_restart(system)


def test_stopping_a_child_during_its_backoff_cancels_the_restart(manual_system, clock):
    system = manual_system
    sup = backing_off(system)
    assert sup.stop_child("q", timeout=WAIT) is True
    later = threading.Event()
    # due after the cancelled restart would have been
    runtime(system).timers.call_later(2.0, later.set)
    clock.advance(5.0)
    assert later.wait(WAIT)
    assert sup.children(timeout=WAIT) == []
    assert system.testing.record().events(AgentRestarted) == []
    assert system.tell("q", Item(n=1)) == 0


def test_shutting_down_during_a_backoff_does_not_wait_for_it(clock):
    system = ActorSystem("backing-off", clock=clock)
    try:
        system.testing.record()
        sup = backoff_tree(system, Journal(), min=3600.0, max=3600.0)
        fail_into_backoff(system, sup)
        system.tell("q", Item(n=1))
    finally:
        assert system.shutdown(timeout=WAIT), "shutdown must not wait for the backoff"
    assert system.wait(0)
    assert [d.reason for d in system.dead_letters()][-1] is DeadLetterReason.SHUTDOWN
