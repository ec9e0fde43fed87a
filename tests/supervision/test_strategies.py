"""Supervision strategies, restart types, directives and lifecycle hooks, on live trees."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentCrashed,
    AgentRestarted,
    AgentStopped,
    DeadLetterReason,
    Escalated,
    ExitReason,
    Message,
    Terminated,
    UnknownAddress,
    handler,
)
from actors.testing import TestProbe, expect_event
from supervision import (
    RESUME,
    STOP,
    ChildSpec,
    Restart,
    RestartPolicy,
    Strategy,
    SupervisorSpec,
)
from tests.helpers import WAIT, Journal, record_events
from tests.messages import Boom, Counting, Crashable, Note, Ping


class Quit(Message):
    """The receiving agent calls ``self.stop()``."""


class Lifecycle(Crashable):
    """Records each lifecycle hook as ``"<name>.<hook>"``; answers Ping with its restart count."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    def on_start(self) -> None:
        self.journal.add(f"{self.name}.on_start")

    def on_stop(self) -> None:
        self.journal.add(f"{self.name}.on_stop")

    def pre_restart(self, error: BaseException | None, envelope: Any) -> None:
        self.journal.add(f"{self.name}.pre_restart")
        super().pre_restart(error, envelope)

    def post_restart(self, error: BaseException) -> None:
        self.journal.add(f"{self.name}.post_restart")
        super().post_restart(error)

    @handler
    def on_note(self, msg: Note) -> None:
        self.journal.add((self.name, msg.text, self.context.restarts))

    @handler
    def on_quit(self, msg: Quit) -> None:
        self.stop()


def three_children(system: ActorSystem, journal: Journal, strategy: Strategy):
    spec = SupervisorSpec(
        "sup",
        [ChildSpec(Lifecycle, journal, name=name) for name in ("a", "b", "c")],
        strategy=strategy,
        policy=RestartPolicy(max_restarts=10),
    )
    sup = system.start_tree(spec)
    assert journal.items() == ["a.on_start", "b.on_start", "c.on_start"]
    journal.clear()
    return sup


def fail_and_settle(system: ActorSystem, sup, journal: Journal, name: str, hooks: int) -> list:
    """Make ``name`` fail, wait for ``hooks`` journal entries, then for the supervisor to finish."""
    system.tell(name, Boom())
    journal.wait_len(hooks)
    sup.children(timeout=WAIT)  # runs in the supervisor's thread: after it handled the failure
    return journal.items()


# -- strategies -----------------------------------------------------------------------------------


def test_one_for_one_restarts_only_the_failed_child(system):
    journal = Journal()
    sup = three_children(system, journal, Strategy.ONE_FOR_ONE)
    assert fail_and_settle(system, sup, journal, "b", 4) == [
        "b.pre_restart",
        "b.on_stop",
        "b.post_restart",
        "b.on_start",
    ]
    assert [(c.name, c.restarts) for c in sup.children()] == [("a", 0), ("b", 1), ("c", 0)]


def test_one_for_all_restarts_every_child_stopping_in_reverse_and_starting_in_order(system):
    journal = Journal()
    sup = three_children(system, journal, Strategy.ONE_FOR_ALL)
    assert fail_and_settle(system, sup, journal, "b", 12) == [
        "c.pre_restart",
        "c.on_stop",
        "b.pre_restart",
        "b.on_stop",
        "a.pre_restart",
        "a.on_stop",
        "a.post_restart",
        "a.on_start",
        "b.post_restart",
        "b.on_start",
        "c.post_restart",
        "c.on_start",
    ]
    assert [(c.name, c.restarts) for c in sup.children()] == [("a", 1), ("b", 1), ("c", 1)]


def test_rest_for_one_restarts_the_failed_child_and_those_started_after_it(system):
    journal = Journal()
    sup = three_children(system, journal, Strategy.REST_FOR_ONE)
    assert fail_and_settle(system, sup, journal, "b", 8) == [
        "c.pre_restart",
        "c.on_stop",
        "b.pre_restart",
        "b.on_stop",
        "b.post_restart",
        "b.on_start",
        "c.post_restart",
        "c.on_start",
    ]
    assert [(c.name, c.restarts) for c in sup.children()] == [("a", 0), ("b", 1), ("c", 1)]


def test_rest_for_one_with_the_last_child_failing_restarts_only_that_child(system):
    journal = Journal()
    sup = three_children(system, journal, Strategy.REST_FOR_ONE)
    assert fail_and_settle(system, sup, journal, "c", 4) == [
        "c.pre_restart",
        "c.on_stop",
        "c.post_restart",
        "c.on_start",
    ]


def test_one_for_all_with_the_first_child_failing_still_stops_from_the_last(system):
    journal = Journal()
    sup = three_children(system, journal, Strategy.ONE_FOR_ALL)
    entries = fail_and_settle(system, sup, journal, "a", 12)
    stops = [e for e in entries if e.endswith(".pre_restart")]
    starts = [e for e in entries if e.endswith(".post_restart")]
    assert stops == ["c.pre_restart", "b.pre_restart", "a.pre_restart"]
    assert starts == ["a.post_restart", "b.post_restart", "c.post_restart"]


@pytest.mark.parametrize("strategy", [Strategy.ONE_FOR_ALL, Strategy.REST_FOR_ONE])
def test_a_temporary_sibling_stopped_by_a_strategy_restart_is_removed_not_restarted(
    system, strategy
):
    journal = Journal()
    sup = system.start_tree(
        SupervisorSpec(
            "sup",
            [
                ChildSpec(Lifecycle, journal, name="a"),
                ChildSpec(Lifecycle, journal, name="t", restart=Restart.TEMPORARY),
            ],
            strategy=strategy,
        )
    )
    journal.clear()
    system.tell("a", Boom())
    journal.wait_for(lambda items: "a.on_start" in items)
    assert [c.name for c in sup.children(timeout=WAIT)] == ["a"], "temporary means never restarted"
    assert "t.on_start" not in journal.items()
    with pytest.raises(UnknownAddress):
        system.ref("t")


def test_children_outside_a_one_for_one_restart_keep_their_incarnation(system):
    journal = Journal()
    sup = three_children(system, journal, Strategy.ONE_FOR_ONE)
    fail_and_settle(system, sup, journal, "b", 4)
    assert system.ask("a", Ping(), timeout=WAIT) == 0
    assert system.ask("b", Ping(), timeout=WAIT) == 1
    assert system.ask("c", Ping(), timeout=WAIT) == 0


# -- restart types --------------------------------------------------------------------------------


def one_child(system: ActorSystem, journal: Journal, restart: Restart, **policy: Any):
    spec = SupervisorSpec(
        "sup",
        [ChildSpec(Lifecycle, journal, name="w", restart=restart)],
        policy=RestartPolicy(**policy),
    )
    sup = system.start_tree(spec)
    journal.clear()
    return sup


def test_a_transient_child_is_restarted_after_a_failure(system):
    sup = one_child(system, Journal(), Restart.TRANSIENT)
    system.tell("w", Boom())
    expect_event(system, AgentRestarted, name="w", timeout=WAIT)
    assert system.ask("w", Ping(), timeout=WAIT) == 1
    assert [(c.name, c.restarts) for c in sup.children()] == [("w", 1)]


def test_a_transient_child_that_stops_itself_is_removed_not_restarted(system):
    journal = Journal()
    sup = one_child(system, journal, Restart.TRANSIENT)
    system.tell("w", Quit())
    expect_event(system, AgentStopped, name="w", reason=ExitReason.NORMAL, timeout=WAIT)
    assert sup.children(timeout=WAIT) == []
    assert journal.items() == ["w.on_stop"]
    with pytest.raises(UnknownAddress):
        system.ref("w")


def test_a_temporary_child_is_never_restarted_after_a_failure(system):
    journal = Journal()
    sup = one_child(system, journal, Restart.TEMPORARY)
    system.tell("w", Boom())
    expect_event(system, AgentStopped, name="w", reason=ExitReason.FAILED, timeout=WAIT)
    assert sup.children(timeout=WAIT) == []
    assert "w.on_start" not in journal.items()
    assert "w.post_restart" not in journal.items()
    with pytest.raises(UnknownAddress):
        system.ref("w")


def test_a_temporary_child_that_stops_itself_is_removed(system):
    sup = one_child(system, Journal(), Restart.TEMPORARY)
    system.tell("w", Quit())
    expect_event(system, AgentStopped, name="w", reason=ExitReason.NORMAL, timeout=WAIT)
    assert sup.children(timeout=WAIT) == []


def test_a_permanent_child_is_restarted_even_after_it_stopped_itself_normally(system):
    journal = Journal()
    sup = one_child(system, journal, Restart.PERMANENT)
    system.tell("w", Quit())
    expect_event(system, AgentRestarted, name="w", timeout=WAIT)
    assert system.ask("w", Ping(), timeout=WAIT) == 1
    assert [(c.name, c.state, c.restarts) for c in sup.children()] == [("w", "running", 1)]
    assert journal.items()[0] == "w.on_stop"


def test_a_permanent_childs_normal_exits_are_charged_to_the_budget(system):
    one_child(system, Journal(), Restart.PERMANENT, max_restarts=1, within=60.0)
    system.tell("w", Quit())
    expect_event(system, AgentRestarted, name="w", timeout=WAIT)
    system.tell("w", Quit())
    expect_event(system, Escalated, supervisor="sup", timeout=WAIT)


# -- directives -----------------------------------------------------------------------------------


class Counter(Counting):
    """Counts Pings in its instance state; records the reason of a Boom, then fails."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    @handler
    def on_boom(self, msg: Boom) -> None:
        self.journal.add(msg.reason)
        raise RuntimeError(msg.reason)


def test_resume_keeps_the_instance_and_its_state_and_drops_the_failing_message(system):
    journal = Journal()
    crashes = record_events(system, AgentCrashed)
    sup = system.start_tree(
        SupervisorSpec(
            "sup",
            [ChildSpec(Counter, journal, name="w")],
            policy=RestartPolicy(decider=lambda error: RESUME),
        )
    )
    assert system.ask("w", Ping(), timeout=WAIT) == 1
    assert system.ask("w", Ping(), timeout=WAIT) == 2
    system.tell("w", Boom(reason="once"))
    assert system.ask("w", Ping(), timeout=WAIT) == 3
    assert journal.items() == ["once"], "the failing message must not be redelivered"
    assert [(c.state, c.restarts) for c in sup.children()] == [("running", 0)]
    [crash] = crashes.items()
    assert (crash.name, crash.directive) == ("w", "resume")
    [letter] = [d for d in system.dead_letters() if d.reason is DeadLetterReason.HANDLER_FAILED]
    assert letter.envelope.body == Boom(reason="once")


def test_stop_removes_the_child_and_its_watchers_get_terminated(system):
    sup = system.start_tree(
        SupervisorSpec(
            "sup",
            [ChildSpec(Counter, Journal(), name="w")],
            policy=RestartPolicy(decider=lambda error: STOP),
        )
    )
    probe = TestProbe(system)
    probe.watch("w")
    system.tell("w", Boom())
    notice = probe.expect_terminated("w", timeout=WAIT)
    assert notice == Terminated(name="w", reason=ExitReason.FAILED)
    assert sup.children(timeout=WAIT) == []
    with pytest.raises(UnknownAddress):
        system.ref("w")


# -- lifecycle hooks ------------------------------------------------------------------------------

_instances = itertools.count(1)


class Hooks(AgentActor):
    """Records the arguments its restart hooks get, tagged with a per-instance serial number."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal
        self.serial = next(_instances)

    def pre_restart(self, error: BaseException | None, envelope: Any) -> None:
        self.journal.add(("pre_restart", self.name, self.serial, error, envelope))

    def post_restart(self, error: BaseException) -> None:
        self.journal.add(("post_restart", self.name, self.serial, error))

    @handler
    def on_boom(self, msg: Boom) -> None:
        raise RuntimeError(msg.reason)

    @handler
    def on_ping(self, msg: Ping) -> int:
        return self.serial


def test_pre_restart_runs_on_the_old_instance_with_the_error_and_the_failing_envelope(system):
    journal = Journal()
    system.start_tree(SupervisorSpec("sup", [ChildSpec(Hooks, journal, name="h")]))
    old = system.ask("h", Ping(), timeout=WAIT)
    system.tell("h", Boom(reason="kaput"))
    (hook, name, serial, error, envelope), _ = journal.wait_len(2)
    assert (hook, name, serial) == ("pre_restart", "h", old)
    assert isinstance(error, RuntimeError)
    assert str(error) == "kaput"
    assert envelope is not None
    assert envelope.body == Boom(reason="kaput")


def test_post_restart_runs_on_a_new_instance_with_the_same_error(system):
    journal = Journal()
    system.start_tree(SupervisorSpec("sup", [ChildSpec(Hooks, journal, name="h")]))
    old = system.ask("h", Ping(), timeout=WAIT)
    system.tell("h", Boom(reason="kaput"))
    pre, post = journal.wait_len(2)
    assert post[0:2] == ("post_restart", "h")
    assert post[2] != old
    assert post[3] is pre[3]
    assert system.ask("h", Ping(), timeout=WAIT) == post[2]


def test_a_sibling_restarted_by_one_for_all_gets_the_error_but_no_envelope(system):
    journal = Journal()
    system.start_tree(
        SupervisorSpec(
            "sup",
            [ChildSpec(Hooks, journal, name="x"), ChildSpec(Hooks, journal, name="y")],
            strategy=Strategy.ONE_FOR_ALL,
        )
    )
    system.tell("y", Boom(reason="y broke"))
    entries = journal.wait_len(4)
    pre = {entry[1]: entry for entry in entries if entry[0] == "pre_restart"}
    assert str(pre["x"][3]) == "y broke"
    assert pre["x"][3] is pre["y"][3]
    assert pre["x"][4] is None
    assert pre["y"][4].body == Boom(reason="y broke")


class Starter(AgentActor):
    """Overrides only on_start: records the restart count it sees there."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    def on_start(self) -> None:
        self.journal.add(("on_start", self.context.restarts))

    @handler
    def on_boom(self, msg: Boom) -> None:
        raise RuntimeError(msg.reason)


def test_post_restart_defaults_to_on_start(system):
    journal = Journal()
    system.start_tree(SupervisorSpec("sup", [ChildSpec(Starter, journal, name="s")]))
    system.tell("s", Boom())
    assert journal.wait_len(2) == [("on_start", 0), ("on_start", 1)]


def test_context_restarts_counts_every_restart_of_the_slot(system):
    system.start_tree(
        SupervisorSpec(
            "sup",
            [ChildSpec(Lifecycle, Journal(), name="w")],
            policy=RestartPolicy(max_restarts=10, within=60.0),
        )
    )
    assert system.ask("w", Ping(), timeout=WAIT) == 0
    for expected in (1, 2, 3):
        system.tell("w", Boom())
        assert expect_event(system, AgentRestarted, name="w", timeout=WAIT).restarts == expected
        assert system.ask("w", Ping(), timeout=WAIT) == expected


def test_on_stop_runs_on_every_stop_including_restarts_and_shutdown():
    journal = Journal()
    with ActorSystem("stops") as system:
        restarted = record_events(system, AgentRestarted)
        system.start_tree(SupervisorSpec("sup", [ChildSpec(Lifecycle, journal, name="w")]))
        system.tell("w", Boom())
        restarted.wait_len(1)
        assert journal.items().count("w.on_stop") == 1
        assert system.shutdown(timeout=WAIT)
    assert journal.items().count("w.on_stop") == 2
    assert journal.items()[-1] == "w.on_stop"


# -- a restarted agent is still reachable ---------------------------------------------------------


def restarted_worker(system: ActorSystem, journal: Journal):
    sup = system.start_tree(
        SupervisorSpec("sup", [ChildSpec(Lifecycle, journal, name="w", roles=("worker",))])
    )
    ref = system.ref("w")
    system.tell("w", Boom())
    expect_event(system, AgentRestarted, name="w", timeout=WAIT)
    sup.children(timeout=WAIT)
    return ref


def test_a_restarted_agent_is_reachable_by_name_through_the_same_ref(system):
    ref = restarted_worker(system, Journal())
    assert ref.is_alive()
    assert system.ref("w") == ref
    assert ref.ask(Ping(), timeout=WAIT) == 1
    assert system.ask("w", Ping(), timeout=WAIT) == 1


def test_a_restarted_agent_is_reachable_by_role(system):
    restarted_worker(system, Journal())
    assert system.ask("role:worker", Ping(), timeout=WAIT) == 1


def test_a_restarted_agent_gets_broadcasts(system):
    journal = Journal()
    restarted_worker(system, journal)
    journal.clear()
    assert system.broadcast(Note(text="all"), role="worker") == 1
    assert system.broadcast(Note(text="everyone")) == 1
    assert journal.wait_len(2) == [("w", "all", 1), ("w", "everyone", 1)]
