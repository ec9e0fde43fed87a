"""The restart budget, failed restarts, escalation up the tree, and the root's fatal policy."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from actors import (
    ActorSystem,
    AgentActor,
    AgentCrashed,
    AgentRestarted,
    Escalated,
    ManualClock,
    SystemFailed,
    handler,
)
from actors.testing import expect_event
from supervision import (
    ESCALATE,
    RESTART,
    ChildSpec,
    EscalationError,
    Restart,
    RestartPolicy,
    SupervisorSpec,
)
from tests.helpers import WAIT, Journal, park, record_events
from tests.messages import Boom, Crashable, Item, Parkable, Ping, Pong, Recorder


@contextlib.contextmanager
def fatal_system(
    name: str = "fatal", clock: ManualClock | None = None
) -> Iterator[tuple[ActorSystem, Journal]]:
    """A system whose root gives up on the first failure that reaches it (fatal policy runs).

    Its event record is on, for `expect_event`.
    """
    causes = Journal()
    system = ActorSystem(
        name, clock=clock, root_policy=RestartPolicy(max_restarts=0), on_fatal=causes.add
    )
    system.testing.record()
    try:
        yield system, causes
    finally:
        assert system.shutdown(timeout=WAIT), "system did not shut down cleanly"


class Worker(Crashable):
    """Fails on Boom (RuntimeError); answers Ping with its restart count."""

    def __init__(self, journal: Journal | None = None) -> None:
        super().__init__()
        self.journal = journal

    def on_start(self) -> None:
        if self.journal is not None:
            self.journal.add(("on_start", self.name, self.context.restarts))

    def on_stop(self) -> None:
        if self.journal is not None:
            self.journal.add(("on_stop", self.name))


def one_worker_tree(system: ActorSystem, **policy: Any):
    return system.start_tree(
        SupervisorSpec("sup", [ChildSpec(Worker, name="w")], policy=RestartPolicy(**policy))
    )


def fail_and_wait_for_restart(system: ActorSystem, sup) -> None:
    system.tell("w", Boom())
    expect_event(system, AgentRestarted, name="w", timeout=WAIT)
    sup.children(timeout=WAIT)  # the supervisor has finished handling the failure


# -- the budget -----------------------------------------------------------------------------------


def monotonic(history, clock) -> list[float]:
    """The history's wall-clock times as readings of ``clock``'s monotonic time."""
    offset = clock.time() - clock.monotonic()
    return [round(entry.at.timestamp() - offset, 3) for entry in history]


def test_the_budget_allows_exactly_max_restarts_within_the_window_and_escalates_on_the_next(
    clock,
):
    with fatal_system(clock=clock) as (system, causes):
        restarted = record_events(system, AgentRestarted)
        escalated = record_events(system, Escalated)
        sup = one_worker_tree(system, max_restarts=3, within=5.0)
        for _ in range(3):
            fail_and_wait_for_restart(system, sup)
            clock.advance(1.0)
        assert escalated.items() == []
        assert system.failure is None
        assert system.ask("w", Ping(), timeout=WAIT) == 3

        system.tell("w", Boom())
        assert system.wait(WAIT), "the fourth failure in the window must escalate to the root"
        assert len(restarted.items()) == 3
        escalation = system.failure.chain[1]
        assert isinstance(escalation, EscalationError)
        assert (escalation.supervisor, escalation.child) == ("sup", "w")
        assert escalation.reason == "restart budget exhausted"
        # Wall-clock times a person can read, one second apart like the restarts.
        assert all(entry.at.tzinfo is UTC for entry in escalation.history)
        offsets = [round(entry.at.timestamp() - clock.time(), 3) for entry in escalation.history]
        assert offsets == [-3.0, -2.0, -1.0, 0.0]
        assert [e.supervisor for e in escalated.items()] == ["sup", "root"]
        assert causes.items() == [system.failure]


def test_failures_spaced_a_full_window_apart_never_escalate(clock):
    with fatal_system(clock=clock) as (system, _):
        escalated = record_events(system, Escalated)
        sup = one_worker_tree(system, max_restarts=1, within=5.0)
        for _ in range(5):
            fail_and_wait_for_restart(system, sup)
            clock.advance(5.0)
        assert escalated.items() == []
        assert system.failure is None
        assert system.ask("w", Ping(), timeout=WAIT) == 5


def test_the_window_slides_so_restarts_older_than_within_stop_counting(clock):
    with fatal_system(clock=clock) as (system, _):
        sup = one_worker_tree(system, max_restarts=3, within=5.0)
        for _ in range(3):
            fail_and_wait_for_restart(system, sup)
            clock.advance(1.0)
        clock.advance(2.0)  # now 1005: the restart at 1000 has left the window
        fail_and_wait_for_restart(system, sup)
        assert system.failure is None
        system.tell("w", Boom())  # 1001, 1002, 1005, 1005: one too many
        assert system.wait(WAIT)
        assert monotonic(system.failure.chain[1].history, clock) == [1001.0, 1002.0, 1005.0, 1005.0]


def test_restarts_of_different_children_share_one_budget(clock):
    with fatal_system(clock=clock) as (system, _):
        sup = system.start_tree(
            SupervisorSpec(
                "sup",
                [ChildSpec(Worker, name="w"), ChildSpec(Worker, name="v")],
                policy=RestartPolicy(max_restarts=1, within=5.0),
            )
        )
        fail_and_wait_for_restart(system, sup)
        system.tell("v", Boom())
        assert system.wait(WAIT)
        assert system.failure.chain[1].child == "v"


def test_a_zero_budget_escalates_on_the_first_failure_without_restarting(clock):
    with fatal_system(clock=clock) as (system, _):
        restarted = record_events(system, AgentRestarted)
        one_worker_tree(system, max_restarts=0)
        system.tell("w", Boom())
        assert system.wait(WAIT)
        assert restarted.items() == []
        assert monotonic(system.failure.chain[1].history, clock) == [1000.0]


# -- failed restarts ------------------------------------------------------------------------------


class BadRestart(Crashable):
    """Starts fine the first time; every later start raises in on_start (via post_restart)."""

    def __init__(self, journal: Journal, fail_times: int = 1_000) -> None:
        super().__init__()
        self.journal = journal
        self.fail_times = fail_times

    def on_start(self) -> None:
        restarts = self.context.restarts
        self.journal.add(restarts)
        if 0 < restarts <= self.fail_times:
            raise ValueError(f"cannot restart (attempt {restarts})")


def test_a_failing_on_start_during_a_restart_is_charged_and_escalates_once_the_budget_is_used(
    clock,
):
    journal = Journal()
    with fatal_system(clock=clock) as (system, _):
        system.start_tree(
            SupervisorSpec(
                "sup",
                [ChildSpec(BadRestart, journal, name="b")],
                policy=RestartPolicy(max_restarts=2, within=5.0),
            )
        )
        system.tell("b", Boom(reason="first"))
        assert system.wait(WAIT), "failed restart attempts must use up the budget"
        # one handler failure + two failed restart attempts = three charges against a budget of 2
        assert journal.items() == [0, 1, 2]
        escalation = system.failure.chain[1]
        assert escalation.reason == "restart budget exhausted"
        assert monotonic(escalation.history, clock) == [1000.0, 1000.0, 1000.0]
        assert isinstance(system.failure.root_cause, ValueError)
        assert "attempt 2" in str(system.failure.root_cause)


def test_a_failed_restart_attempt_is_retried_until_the_child_starts(clock):
    journal = Journal()
    with fatal_system(clock=clock) as (system, _):
        sup = system.start_tree(
            SupervisorSpec(
                "sup",
                [ChildSpec(BadRestart, journal, 1, name="b")],
                policy=RestartPolicy(max_restarts=2, within=5.0),
            )
        )
        system.tell("b", Boom())
        journal.wait_len(3)
        assert [(c.state, c.restarts) for c in sup.children(timeout=WAIT)] == [("running", 2)]
        assert system.ask("b", Ping(), timeout=WAIT) == 2
        assert system.failure is None


def test_a_stop_request_gets_through_between_failed_restart_attempts(clock):
    journal = Journal()
    with fatal_system(clock=clock) as (system, _):
        sup = system.start_tree(
            SupervisorSpec(
                "sup",
                [ChildSpec(BadRestart, journal, name="b")],
                policy=RestartPolicy(max_restarts=10**9, within=60.0),
            )
        )
        system.tell("b", Boom())
        journal.wait_len(3)  # the supervisor is now retrying the restart over and over
        assert sup.stop_child("b", timeout=WAIT) is True
        assert sup.children(timeout=WAIT) == []
        attempts = len(journal.items())
        assert sup.children(timeout=WAIT) == []
        assert len(journal.items()) == attempts, "no restart attempt after the stop"
        assert system.failure is None


def test_a_failing_post_restart_is_published_as_agent_crashed(clock):
    journal = Journal()
    with fatal_system(clock=clock) as (system, _):
        crashes = record_events(system, AgentCrashed)
        sup = system.start_tree(
            SupervisorSpec(
                "sup",
                [ChildSpec(BadRestart, journal, 1, name="b")],
                policy=RestartPolicy(max_restarts=5, within=5.0),
            )
        )
        system.tell("b", Boom(reason="handler"))
        journal.wait_len(3)  # first start, failed restart, successful restart
        sup.children(timeout=WAIT)
        events = crashes.items()
        assert [(e.name, e.error_type) for e in events] == [
            ("b", "builtins.RuntimeError"),
            ("b", "builtins.ValueError"),
        ], "AgentCrashed is documented for a post_restart that raised, too"
        assert "cannot restart" in events[1].error


# -- escalation -----------------------------------------------------------------------------------


def test_a_three_level_escalation_reaches_the_roots_fatal_policy_with_the_full_cause_chain():
    with fatal_system() as (system, causes):
        failed = record_events(system, SystemFailed)
        worker = system.start_tree(
            SupervisorSpec(
                "top",
                [
                    SupervisorSpec(
                        "mid",
                        [ChildSpec(Worker, name="w")],
                        policy=RestartPolicy(max_restarts=0),
                    )
                ],
                policy=RestartPolicy(max_restarts=0),
            )
        )
        ref = system.ref("w")
        system.tell("w", Boom(reason="deep failure"))
        assert system.wait(WAIT), "the system must stop after the root gave up"
        cause = system.failure
        assert isinstance(cause, EscalationError)
        assert [type(e) for e in cause.chain] == [
            EscalationError,
            EscalationError,
            EscalationError,
            RuntimeError,
        ]
        assert [(e.supervisor, e.child) for e in cause.chain[:3]] == [
            ("root", "top"),
            ("top", "mid"),
            ("mid", "w"),
        ]
        assert cause.root_cause is cause.chain[-1]
        assert str(cause.root_cause) == "deep failure"
        assert causes.items() == [cause]
        assert len(failed.items()) == 1
        assert not ref.is_alive()
        assert not worker.is_alive()


def test_a_custom_decider_can_escalate_at_once_without_charging_the_budget():
    def decider(error: BaseException) -> Any:
        return ESCALATE if isinstance(error, RuntimeError) else RESTART

    with fatal_system() as (system, _):
        restarted = record_events(system, AgentRestarted)
        system.start_tree(
            SupervisorSpec(
                "sup",
                [ChildSpec(Worker, name="w")],
                policy=RestartPolicy(max_restarts=100, decider=decider),
            )
        )
        system.tell("w", Boom(reason="escalate me"))
        assert system.wait(WAIT)
        escalation = system.failure.chain[1]
        assert (escalation.supervisor, escalation.reason) == ("sup", "decider chose escalate")
        assert escalation.history == ()
        assert str(system.failure.root_cause) == "escalate me"
        assert restarted.items() == []


def test_a_decider_that_raises_escalates():
    def decider(error: BaseException) -> Any:
        raise LookupError("broken decider")

    with fatal_system() as (system, _):
        system.start_tree(
            SupervisorSpec(
                "sup", [ChildSpec(Worker, name="w")], policy=RestartPolicy(decider=decider)
            )
        )
        system.tell("w", Boom(reason="original"))
        assert system.wait(WAIT)
        escalation = system.failure.chain[1]
        assert escalation.supervisor == "sup"
        assert str(system.failure.root_cause) == "original"


def test_an_escalating_supervisor_stops_its_children_in_reverse_start_order():
    journal = Journal()
    with fatal_system() as (system, _):
        system.start_tree(
            SupervisorSpec(
                "sup",
                [ChildSpec(Worker, journal, name=name) for name in ("a", "b", "c")],
                policy=RestartPolicy(max_restarts=0),
            )
        )
        journal.clear()
        system.tell("b", Boom())
        assert system.wait(WAIT)
        assert journal.items() == [("on_stop", "c"), ("on_stop", "b"), ("on_stop", "a")]


def test_a_transient_sub_supervisor_that_escalates_is_restarted_by_its_parent(system):
    journal = Journal()
    top = system.start_tree(
        SupervisorSpec(
            "top",
            [
                SupervisorSpec(
                    "mid",
                    [ChildSpec(Worker, journal, name="w")],
                    policy=RestartPolicy(max_restarts=0),
                    restart=Restart.TRANSIENT,
                )
            ],
        )
    )
    ref = system.ref("w")
    system.tell("w", Boom())
    expect_event(system, Escalated, supervisor="mid", timeout=WAIT)
    journal.wait_len(3)  # on_start, on_stop (escalation), on_start (mid restarted)
    assert [(c.name, c.kind, c.state, c.restarts) for c in top.children(timeout=WAIT)] == [
        ("mid", "supervisor", "running", 1)
    ]
    assert journal.items() == [("on_start", "w", 0), ("on_stop", "w"), ("on_start", "w", 1)]
    assert ref.ask(Ping(), timeout=WAIT) == 1
    assert system.failure is None


def test_messages_queued_for_a_child_survive_its_supervisors_escalation_and_restart(system):
    handled = Journal()

    class Gated(Worker, Parkable):
        @handler
        def on_item(self, msg: Item) -> None:
            handled.add(msg.n)

    system.start_tree(
        SupervisorSpec(
            "top",
            [
                SupervisorSpec(
                    "mid", [ChildSpec(Gated, name="w")], policy=RestartPolicy(max_restarts=0)
                )
            ],
        )
    )
    release = park(system.ref("w"), "w")
    system.tell("w", Boom())
    for n in range(5):
        system.tell("w", Item(n=n))
    release.set()
    assert handled.wait_len(5) == [0, 1, 2, 3, 4]


# -- SystemExit and isolation between systems -----------------------------------------------------


class Exiter(AgentActor):
    @handler
    def on_boom(self, msg: Boom) -> None:
        raise SystemExit(3)


def test_system_exit_in_one_systems_agent_leaves_another_systems_agents_running():
    causes = Journal()
    with (
        ActorSystem("doomed", on_fatal=causes.add) as doomed,
        ActorSystem("healthy") as healthy,
    ):
        doomed.spawn(Exiter, name="exiter")
        healthy.spawn(Recorder, name="exiter")
        healthy.spawn(Recorder, name="bystander")
        doomed.tell("exiter", Boom())
        assert doomed.wait(WAIT), "SystemExit must reach the root's fatal policy"
        [cause] = causes.wait_len(1)
        assert cause is doomed.failure
        assert isinstance(cause, EscalationError)
        assert (cause.supervisor, cause.reason) == ("root", "decider chose escalate")
        assert isinstance(cause.root_cause, SystemExit)
        assert cause.root_cause.code == 3
        assert healthy.failure is None
        assert healthy.ask("exiter", Ping(n=1), timeout=WAIT) == Pong(n=1, by="exiter")
        assert healthy.ask("bystander", Ping(n=2), timeout=WAIT) == Pong(n=2, by="bystander")
        assert not healthy.wait(0)


def test_system_exit_deeper_down_escalates_its_supervisor_which_the_root_restarts(system):
    system.start_tree(SupervisorSpec("sup", [ChildSpec(Exiter, name="exiter")]))
    system.tell("exiter", Boom())
    assert "SystemExit" in expect_event(system, Escalated, supervisor="sup", timeout=WAIT).cause
    expect_event(system, AgentRestarted, name="sup", timeout=WAIT)
    expect_event(system, AgentRestarted, name="exiter", timeout=WAIT)
    assert system.failure is None
    assert system.ref("exiter").is_alive()
