"""Loop guards: per-agent max_messages, and run_until with its typed StopReason."""

from __future__ import annotations

import threading

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentCrashed,
    AgentStopped,
    DeadLetterReason,
    ExitReason,
    InvalidConfig,
    RunReport,
    StopReason,
    Terminated,
    handler,
)
from actors.testing import TestProbe, expect_event
from supervision import Backoff, ChildSpec, EscalationError, RestartPolicy
from tests.helpers import WAIT, dead_letter_count, park, record_events
from tests.messages import Blocker, Boom, Note, Ping, Recorder

pytestmark = pytest.mark.usefixtures("gates_opened")


class Rally(AgentActor):
    """Answers every Ping by sending the next one to its peer: a conversation without end."""

    def __init__(self, peer: str) -> None:
        super().__init__()
        self.peer = peer

    @handler
    def on_ping(self, msg: Ping) -> None:
        self.tell(self.peer, Ping(n=msg.n + 1))


def rally(system) -> None:
    system.spawn(Rally, "right", name="left")
    system.spawn(Rally, "left", name="right")
    system.tell("left", Ping(n=0))


# -- per-agent max_messages ---------------------------------------------------------------------


def test_an_agent_with_max_messages_stops_for_good_after_that_many_and_is_not_restarted(system):
    seen: list = []
    ref = system.spawn(ChildSpec(Recorder, seen, name="capped", max_messages=3))
    for i in range(5):
        ref.tell(Note(text=str(i)))

    expect_event(system, AgentStopped, name="capped", reason=ExitReason.MAX_MESSAGES, timeout=WAIT)
    assert [m.text for _, m in seen] == ["0", "1", "2"]
    assert not ref.is_alive()
    assert system.agents() == []
    assert system.tree().find("capped") is None
    leftovers = dead_letter_count(
        system, DeadLetterReason.STOPPED, DeadLetterReason.UNKNOWN_ADDRESS
    )
    assert leftovers == 2


def test_a_watcher_gets_terminated_with_reason_max_messages(system):
    capped = system.spawn(ChildSpec(Recorder, name="capped", max_messages=1))
    probe = TestProbe(system)
    probe.watch("capped")
    capped.tell(Note(text="only"))

    notice = probe.expect_terminated("capped", timeout=WAIT)
    assert notice == Terminated(name="capped", reason=ExitReason.MAX_MESSAGES)


# -- run_until ----------------------------------------------------------------------------------


def test_run_until_returns_completed_once_the_predicate_holds(system):
    seen: list = []
    system.spawn(Recorder, seen, name="worker")
    for i in range(3):
        system.tell("worker", Note(text=str(i)))

    report = system.run_until(lambda: len(seen) >= 3, max_runtime=10)

    assert report == StopReason.COMPLETED
    assert report.reason is StopReason.COMPLETED
    assert report.elapsed < 10
    assert len(seen) == 3


def test_run_until_returns_idle_once_nothing_happens_and_mailboxes_are_empty(system):
    seen: list = []
    system.spawn(Recorder, seen, name="worker")
    for i in range(3):
        system.tell("worker", Note(text=str(i)))

    report = system.run_until(idle=0.1, max_runtime=10)

    assert report == StopReason.IDLE
    assert 0.1 <= report.elapsed < 10
    assert len(seen) == 3


def test_run_until_is_not_idle_while_an_agent_is_still_handling_a_message(system):
    release = park(system.spawn(Blocker, name="busy"), "busy")

    report = system.run_until(idle=0.05, max_runtime=0.5)

    assert report == StopReason.MAX_RUNTIME
    release.set()


def test_run_until_is_not_idle_while_a_mailbox_still_holds_messages(clock):
    # An agent waiting out a restart backoff handles nothing, yet its queue is not done.
    policy = RestartPolicy(backoff=Backoff(min=100.0, max=100.0, jitter=0.0))
    with ActorSystem("backlog", clock=clock, root_policy=policy) as system:
        crashes = record_events(system, AgentCrashed)
        ref = system.spawn(Recorder, name="backlog")
        ref.tell(Boom())
        crashes.wait_len(1)
        ref.tell(Note(text="waiting"))
        assert ref.mailbox_size() == 1

        report = system.run_until(idle=0.05, max_runtime=0.5)

        assert report == StopReason.MAX_RUNTIME


def test_run_until_stops_a_never_ending_conversation_at_max_messages(system):
    rally(system)

    report = system.run_until(max_messages=100, max_runtime=10)

    assert report == StopReason.MAX_MESSAGES
    assert report.messages == 100
    assert report.elapsed < 10
    assert system.shutdown(drain=0.0)  # the rally never ends: nothing to drain


def test_run_until_only_observes_unless_asked_to_shut_down(system):
    rally(system)

    first = system.run_until(max_messages=50, max_runtime=10)
    second = system.run_until(max_messages=50, max_runtime=10, shutdown=True)

    assert first == StopReason.MAX_MESSAGES
    assert second == StopReason.MAX_MESSAGES
    assert second.messages == 50
    assert system.wait(5), "shutdown=True must shut the system down"
    assert system.agents() == []


def test_run_until_returns_max_runtime_when_the_time_budget_is_used_up(system):
    system.spawn(Recorder, name="idle-worker")

    report = system.run_until(max_runtime=0.2)

    assert report == StopReason.MAX_RUNTIME
    assert report.elapsed >= 0.2
    assert report.messages == 0


def test_run_until_returns_fatal_error_when_the_root_supervisor_escalates():
    with ActorSystem("fatal", root_policy=RestartPolicy(max_restarts=0)) as system:
        system.spawn(Recorder, name="fragile")
        told = []

        def fail_once_running() -> bool:
            if not told:
                told.append(system.tell("fragile", Boom(reason="fatal")))
            return False

        report = system.run_until(fail_once_running, max_runtime=10)

        assert told == [1]
        assert report == StopReason.FATAL_ERROR
        assert report.elapsed < 10
        assert report.failure is system.failure
        assert isinstance(report.failure, EscalationError)
        assert system.wait(10)


def test_run_until_returns_manual_stop_when_another_thread_shuts_the_system_down(system):
    system.spawn(Recorder, name="worker")
    stoppers: list[threading.Thread] = []

    def shut_down_once_running() -> bool:
        if not stoppers:
            stopper = threading.Thread(target=system.shutdown, name="test-stopper")
            stoppers.append(stopper)
            stopper.start()
        return False

    report = system.run_until(shut_down_once_running, max_runtime=10)
    stoppers[0].join(10)

    assert report == StopReason.MANUAL_STOP
    assert report.elapsed < 10
    assert system.wait(0)


def test_a_run_report_compares_equal_to_its_stop_reason_only(system):
    report = system.run_until(max_runtime=0.01)

    assert isinstance(report, RunReport)
    assert report == StopReason.MAX_RUNTIME
    assert StopReason.MAX_RUNTIME == report  # noqa: SIM300 - the reflected comparison
    assert report != StopReason.IDLE
    assert report.reason is StopReason.MAX_RUNTIME
    assert isinstance(report.messages, int)
    assert isinstance(report.elapsed, float)


@pytest.mark.parametrize(
    "limits", [{"max_messages": 0}, {"max_runtime": 0}, {"idle": -1.0}], ids=str
)
def test_run_until_refuses_non_positive_limits(system, limits):
    with pytest.raises(InvalidConfig):
        system.run_until(**limits)
