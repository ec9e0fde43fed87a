"""Supervision defects fixed together: bad names, one-for-all retries, restarted supervisors,
requests during a backoff, readable escalation history, and costs that grow with the tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentCrashed,
    AgentRestarted,
    AgentStopped,
    InvalidAddress,
    ManualClock,
    handler,
)
from actors._slot import Slot
from actors.testing import expect_event
from supervision import (
    ESCALATE,
    RESTART,
    STOP,
    Backoff,
    ChildSpec,
    EscalationError,
    InvalidTree,
    NameTaken,
    RestartPolicy,
    Strategy,
    SupervisorSpec,
    affected,
    validate,
)
from tests.helpers import WAIT, Journal, advance_and_settle, record_events, runtime
from tests.messages import Boom, Crashable, Ping

# -- a: a malformed name or role is an InvalidAddress -------------------------------------------


def test_spawn_with_a_malformed_name_raises_an_invalid_address(system):
    with pytest.raises(InvalidAddress) as caught:
        system.spawn(Crashable, name="Not A Slug")
    assert isinstance(caught.value, InvalidTree), "nothing was started"
    assert caught.value.value == "Not A Slug"
    assert system.agents() == []


def test_spawn_with_a_malformed_role_raises_an_invalid_address(system):
    with pytest.raises(InvalidAddress) as caught:
        system.spawn(Crashable, name="fine", roles=("Bad Role",))
    assert caught.value.value == "Bad Role"
    assert system.agents() == []


def test_a_tree_with_a_malformed_supervisor_or_child_name_raises_an_invalid_address(system):
    with pytest.raises(InvalidAddress):
        system.start_tree(SupervisorSpec("Bad Sup", [ChildSpec(Crashable, name="ok")]))
    with pytest.raises(InvalidAddress):
        system.start_tree(SupervisorSpec("sup", [ChildSpec(Crashable, name="no spaces")]))
    assert system.tree().children == ()


def test_invalid_name_is_both_an_invalid_tree_and_an_invalid_address():
    from supervision import InvalidName

    spec = SupervisorSpec("sup", [ChildSpec(Crashable, name="-leading-dash")])
    with pytest.raises(InvalidName) as caught:
        validate(spec)
    assert isinstance(caught.value, InvalidTree)
    assert isinstance(caught.value, InvalidAddress)
    assert caught.value.value == "-leading-dash"
    assert "-leading-dash" in caught.value.problem


# -- b: one-for-all retries the whole group after a failed start ----------------------------------


class Starts(Crashable):
    """Journals its starts and stops; its start number ``fail_at`` raises in on_start."""

    def __init__(self, journal: Journal, fail_at: int | None = None) -> None:
        super().__init__()
        self.journal = journal
        self.fail_at = fail_at

    def on_start(self) -> None:
        self.journal.add((self.name, "start", self.context.restarts))
        if self.context.restarts == self.fail_at:
            raise ValueError(f"{self.name} cannot start")

    def on_stop(self) -> None:
        self.journal.add((self.name, "stop"))


def test_one_for_all_stops_the_restarted_children_and_restarts_the_group_when_one_fails_to_start(
    system,
):
    journal = Journal()
    sup = system.start_tree(
        SupervisorSpec(
            "sup",
            [
                ChildSpec(Starts, journal, name="a"),
                ChildSpec(Starts, journal, 1, name="b"),  # its first restart fails
                ChildSpec(Starts, journal, name="c"),
            ],
            strategy=Strategy.ONE_FOR_ALL,
            policy=RestartPolicy(max_restarts=10),
        )
    )
    journal.clear()
    system.tell("c", Boom())
    journal.wait_for(lambda items: ("c", "start", 1) in items)
    sup.children(timeout=WAIT)
    assert journal.items() == [
        ("c", "stop"),
        ("b", "stop"),
        ("a", "stop"),
        ("a", "start", 1),
        ("b", "start", 1),  # fails: a, already restarted, is stopped again
        ("a", "stop"),
        ("a", "start", 2),
        ("b", "start", 2),
        ("c", "start", 1),
    ]
    assert [(c.name, c.state, c.restarts) for c in sup.children()] == [
        ("a", "running", 2),
        ("b", "running", 2),
        ("c", "running", 1),
    ]


# -- c: a restarted supervisor starts every child of its spec -------------------------------------


def stop_on_value_escalate_on_key(error: BaseException) -> Any:
    if isinstance(error, ValueError):
        return STOP
    if isinstance(error, KeyError):
        return ESCALATE
    return RESTART


def stoppable_tree() -> SupervisorSpec:
    return SupervisorSpec(
        "sup",
        [ChildSpec(Crashable, name="a"), ChildSpec(Crashable, name="b")],
        policy=RestartPolicy(decider=stop_on_value_escalate_on_key),
    )


def fail(system: ActorSystem, name: str, error: BaseException) -> None:
    """Make ``name`` fail with ``error`` (in the handler run of the message sent here)."""
    system.testing.fail_next(name, error)
    system.tell(name, Ping())


def stop_a_for_good(system: ActorSystem) -> None:
    fail(system, "a", ValueError("value"))
    expect_event(system, AgentStopped, name="a", timeout=WAIT)


def test_a_child_stopped_by_the_decider_comes_back_when_its_supervisor_is_restarted(system):
    sup = system.start_tree(stoppable_tree())
    stop_a_for_good(system)
    assert [c.name for c in sup.children(timeout=WAIT)] == ["b"]

    fail(system, "b", KeyError("key"))  # sup escalates; the root restarts it
    expect_event(system, AgentRestarted, name="sup", timeout=WAIT)
    assert [(c.name, c.state) for c in sup.children(timeout=WAIT)] == [
        ("a", "running"),
        ("b", "running"),
    ]
    assert system.ask("a", Ping(), timeout=WAIT) == 0, "a new slot, started afresh"
    assert system.ask("b", Ping(), timeout=WAIT) == 1


def test_a_restarted_supervisor_fails_to_start_if_a_stopped_childs_name_was_taken_meanwhile():
    causes = Journal()
    system = ActorSystem(
        "taken", root_policy=RestartPolicy(max_restarts=1, within=60.0), on_fatal=causes.add
    )
    system.testing.record()
    try:
        system.start_tree(stoppable_tree())
        stop_a_for_good(system)
        system.spawn(Crashable, name="a")  # a stranger takes the name
        fail(system, "b", KeyError("key"))
        assert system.wait(WAIT), "the root charges the failed restart and gives up"
        escalation = system.failure
        assert isinstance(escalation, EscalationError)
        assert (escalation.supervisor, escalation.child) == ("root", "sup")
        assert isinstance(escalation.__cause__, NameTaken)
        assert escalation.__cause__.name == "a"
    finally:
        assert system.shutdown(timeout=WAIT)


# -- d: requests by hand cancel a pending restart -------------------------------------------------


@pytest.fixture
def backoff_system(clock: ManualClock) -> Iterator[ActorSystem]:
    with ActorSystem("backoff", clock=clock) as system:
        system.testing.record()
        yield system


def backing_off(system: ActorSystem, strategy: Strategy) -> Any:
    """``sup`` with three children; ``a`` failed and its restart waits for a 1 s backoff."""
    sup = system.start_tree(
        SupervisorSpec(
            "sup",
            [ChildSpec(Crashable, name=name, shutdown_timeout=0.5) for name in ("a", "b", "c")],
            strategy=strategy,
            policy=RestartPolicy(
                max_restarts=10, within=60.0, backoff=Backoff(min=1.0, max=1.0, jitter=0.0)
            ),
        )
    )
    system.tell("a", Boom())
    expect_event(system, AgentCrashed, name="a", timeout=WAIT)  # published by the supervisor
    sup.children(timeout=WAIT)  # queued behind that report: it has been handled
    assert system.tree().find("a").state == "restarting"
    assert runtime(system).timers.pending() == 1
    assert system.testing.record().events(AgentRestarted) == []
    return sup


def states(sup: Any) -> list[tuple[str, str, int]]:
    return [(c.name, c.state, c.restarts) for c in sup.children(timeout=WAIT)]


def test_restart_child_during_a_backoff_cancels_the_pending_restart(backoff_system, clock):
    system = backoff_system
    sup = backing_off(system, Strategy.ONE_FOR_ONE)
    assert sup.restart_child("a", timeout=WAIT) is True
    assert runtime(system).timers.pending() == 0
    advance_and_settle(system, sup, clock, 5.0)
    assert states(sup) == [("a", "running", 1), ("b", "running", 0), ("c", "running", 0)]
    assert system.tree().find("sup").restarts == 0, "the supervisor never failed"


def test_restart_child_of_one_of_a_one_for_all_group_in_backoff_leaves_the_rest_pending(
    backoff_system, clock
):
    system = backoff_system
    sup = backing_off(system, Strategy.ONE_FOR_ALL)
    assert sup.restart_child("b", timeout=WAIT) is True
    assert runtime(system).timers.pending() == 1, "a and c still wait for their restart"
    advance_and_settle(system, sup, clock, 5.0)
    assert states(sup) == [("a", "running", 1), ("b", "running", 1), ("c", "running", 1)]
    assert system.tree().find("sup").restarts == 0


def test_stop_child_during_a_backoff_cancels_the_pending_restart_timer(backoff_system, clock):
    system = backoff_system
    sup = backing_off(system, Strategy.ONE_FOR_ONE)
    assert sup.stop_child("a", timeout=WAIT) is True
    assert runtime(system).timers.pending() == 0
    advance_and_settle(system, sup, clock, 5.0)
    assert states(sup) == [("b", "running", 0), ("c", "running", 0)]


# -- e: the escalation history is readable wall-clock time ----------------------------------------


def test_the_escalation_history_holds_timezone_aware_wall_clock_times():
    clock = ManualClock(start=1000.0, wall_start=1_700_000_000.0)
    causes = Journal()
    system = ActorSystem(
        "history", clock=clock, root_policy=RestartPolicy(max_restarts=0), on_fatal=causes.add
    )
    try:
        restarted = record_events(system, AgentRestarted)
        sup = system.start_tree(
            SupervisorSpec(
                "sup", [ChildSpec(Crashable, name="w")], policy=RestartPolicy(max_restarts=1)
            )
        )
        system.tell("w", Boom())
        restarted.wait_len(1)
        sup.children(timeout=WAIT)
        clock.advance(2.0)
        system.tell("w", Boom())
        assert system.wait(WAIT)
        escalation = system.failure.chain[1]
        assert tuple(entry.at for entry in escalation.history) == (
            datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
            datetime(2023, 11, 14, 22, 13, 22, tzinfo=UTC),
        )
    finally:
        assert system.shutdown(timeout=WAIT)


# -- f: costs that must not grow with the number of children --------------------------------------


class OnlyMembership:
    """Names taken, answering ``in`` only (as a live view of a huge table would)."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)
        self.asked: list[str] = []

    def __contains__(self, name: object) -> bool:
        self.asked.append(str(name))
        return name in self.names


def test_validate_asks_about_taken_names_one_by_one_and_never_copies_them():
    taken = OnlyMembership("busy")
    validate(SupervisorSpec("sup", [ChildSpec(Crashable, name="a")]), taken)
    assert taken.asked == ["sup", "a"]
    with pytest.raises(NameTaken):
        validate(ChildSpec(Crashable, name="busy"), taken)


class Counted:
    """Children in order (a dict as an ordered set) that count how many of them are read."""

    def __init__(self, items: list[int]) -> None:
        self.items = dict.fromkeys(items)
        self.read = 0

    def __contains__(self, item: object) -> bool:
        return item in self.items

    def __iter__(self) -> Iterator[int]:
        for item in self.items:
            self.read += 1
            yield item

    def __reversed__(self) -> Iterator[int]:
        for item in reversed(self.items):
            self.read += 1
            yield item


def test_affected_reads_no_more_children_than_it_returns():
    children = Counted(list(range(1000)))
    assert affected(Strategy.ONE_FOR_ONE, children, 500) == [500]
    assert children.read == 0
    assert affected(Strategy.REST_FOR_ONE, children, 997) == [997, 998, 999]
    assert children.read == 3


@pytest.fixture
def slot_comparisons(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts ``==`` between slots: what a scan of a supervisor's children costs."""
    count = [0]

    def counting_eq(self: Slot, other: object) -> bool:
        count[0] += 1
        return self is other

    monkeypatch.setattr(Slot, "__eq__", counting_eq)
    return count


def start_and_restart_all(system: ActorSystem, size: int) -> None:
    """Start ``size`` children and restart them all (one for all) once."""
    restarted = record_events(system, AgentRestarted)
    sup = system.start_tree(
        SupervisorSpec(
            f"sup-{size}",
            [ChildSpec(Crashable, name=f"w{size}-{n}") for n in range(size)],
            strategy=Strategy.ONE_FOR_ALL,
            policy=RestartPolicy(max_restarts=10),
        )
    )
    system.tell(f"w{size}-{size - 1}", Boom())
    restarted.wait_len(size)
    sup.children(timeout=WAIT)


@pytest.mark.slow
def test_a_thousand_children_start_and_restart_one_for_all_without_a_scan_per_child(
    system, slot_comparisons
):
    # Counted, not timed: a scan of the children per child costs about 500,000 comparisons
    # here (quadratic); a linear supervisor needs none.
    start_and_restart_all(system, 1000)
    assert slot_comparisons[0] < 1000


@pytest.mark.slow
def test_one_child_costs_the_same_to_spawn_stop_and_restart_with_a_thousand_siblings(
    system, slot_comparisons
):
    for n in range(1000):
        system.spawn(Crashable, name=f"w-{n}")
    root = system.supervisor("root")
    slot_comparisons[0] = 0
    system.tell("w-999", Boom())
    expect_event(system, AgentRestarted, name="w-999", timeout=WAIT)
    root.children(timeout=WAIT)
    assert root.stop_child("w-998", timeout=WAIT) is True
    system.spawn(Crashable, name="late")
    assert root.restart_child("late", timeout=WAIT) is True
    assert root.child("w-997") is not None
    assert slot_comparisons[0] < 100


def test_a_message_kept_for_retry_is_redelivered_to_a_resumed_instance_first(system):
    from supervision import RESUME
    from tests.messages import Note

    seen: list[str] = []

    class Noter(AgentActor):
        @handler
        def on_note(self, msg: Note) -> None:
            seen.append(msg.text)

    system.start_tree(
        SupervisorSpec(
            "resumer",
            [ChildSpec(Noter, name="flaky", retry_failed=1)],
            policy=RestartPolicy(decider=lambda error: RESUME),
        )
    )
    system.testing.fail_next("flaky", RuntimeError("once"))
    system.tell("flaky", Note(text="flaky"))
    system.tell("flaky", Note(text="after"))
    assert system.ask("flaky", Note(text="last"), timeout=WAIT) is None
    assert seen == ["flaky", "after", "last"]
