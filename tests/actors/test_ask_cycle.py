"""AskCycle: a blocking ask that would close a cycle of blocked agents fails at once.

Every ask here has a long timeout (60 s) and every wait of the test a short bound (WAIT): if a
cycle were not detected, the test would fail at its bound, long before any ask timed out.
"""

from __future__ import annotations

import threading

import pytest

from actors import AgentActor, AgentFailed, AskCycle, AskError, Message, handler
from actors.future import Future, _closes_cycle
from actors.testing import expect_dead_letter
from tests.helpers import WAIT

LONG = 60.0  # an ask timeout no test may reach


class Relay(Message):
    """Ask ``path[0]`` with a Relay of ``path[1:]``; with an empty path, answer ``"end"``."""

    path: tuple[str, ...]


class Hop(AgentActor):
    """Relays asks along a path, blocking; reports what its own ask raised, if anything."""

    @handler
    def on_relay(self, relay: Relay) -> str:
        if not relay.path:
            return f"end at {self.name}"
        try:
            return self.ask(relay.path[0], Relay(path=relay.path[1:]), timeout=LONG)
        except AskCycle as cycle:
            return "cycle " + " -> ".join(cycle.cycle)


def hops(system, *names: str) -> None:
    for name in names:
        system.spawn(Hop, name=name)


def rotations(*names: str) -> set[str]:
    """The cycle as whichever of its agents detects it names it: "cycle x -> y -> x"."""
    return {"cycle " + " -> ".join((*names[i:], *names[:i], names[i])) for i in range(len(names))}


def test_a_two_agent_cycle_fails_at_once_naming_it(actor_system):
    hops(actor_system, "a", "b")
    # outside -> a; a asks b; b asks a. Whichever blocks second sees the cycle: b, if a is
    # already waiting; a, if b took a's ask and blocked before a's thread began to wait.
    answer = actor_system.ask("a", Relay(path=("b", "a")), timeout=WAIT)
    assert answer in rotations("a", "b")


def test_a_three_agent_cycle_fails_at_once_naming_it(actor_system):
    hops(actor_system, "a", "b", "c")
    answer = actor_system.ask("a", Relay(path=("b", "c", "a")), timeout=WAIT)
    assert answer in rotations("a", "b", "c")


def test_the_error_is_an_ask_error_carrying_the_cycle(actor_system):
    errors: list[AskCycle] = []

    class Keeper(Hop):
        @handler
        def on_relay(self, relay: Relay) -> str:
            if not relay.path:
                return "end"
            try:
                return self.ask(relay.path[0], Relay(path=relay.path[1:]), timeout=LONG)
            except AskCycle as error:
                errors.append(error)
                return "cycle"

    actor_system.spawn(Keeper, name="a")
    actor_system.spawn(Keeper, name="b")
    assert actor_system.ask("a", Relay(path=("b", "a")), timeout=WAIT) == "cycle"
    [error] = errors
    assert isinstance(error, AskError)
    assert error.cycle in {("a", "b", "a"), ("b", "a", "b")}
    assert f"closing a cycle of blocking asks ({' -> '.join(error.cycle)})" in str(error)


def test_a_chain_that_is_no_cycle_is_answered(actor_system):
    hops(actor_system, "a", "b", "c", "d")
    assert actor_system.ask("a", Relay(path=("b", "c", "d")), timeout=WAIT) == "end at d"


def test_two_chains_into_one_agent_are_no_cycle(actor_system):
    hops(actor_system, "a", "b", "c")
    first = actor_system.ask_future("a", Relay(path=("c",)), timeout=WAIT)
    second = actor_system.ask_future("b", Relay(path=("c",)), timeout=WAIT)
    assert (first.get(timeout=WAIT), second.get(timeout=WAIT)) == ("end at c", "end at c")


def test_agents_asking_each_other_at_the_same_moment_both_finish(actor_system):
    hops(actor_system, "a", "b")
    for _ in range(20):
        one = actor_system.ask_future("a", Relay(path=("b", "a")), timeout=WAIT)
        two = actor_system.ask_future("b", Relay(path=("a", "b")), timeout=WAIT)
        answers = [one.get(timeout=WAIT), two.get(timeout=WAIT)]
        assert all(a.startswith(("cycle", "end")) for a in answers), answers


def test_a_non_blocking_ask_is_no_edge_of_a_cycle(actor_system):
    hops(actor_system, "b")
    got: list[str] = []
    done = threading.Event()

    class Patient(AgentActor):
        @handler
        def on_relay(self, relay: Relay) -> str:
            if not relay.path:
                return "patient answered"
            future = self.ask_future("b", Relay(path=relay.path), timeout=LONG)
            future.add_done_callback(lambda f: (got.append(f.get()), done.set()))
            return "asked"

    actor_system.spawn(Patient, name="patient")
    # patient asks b without blocking; b then asks patient (blocking): patient is free to answer
    assert actor_system.ask("patient", Relay(path=("patient",)), timeout=WAIT) == "asked"
    assert done.wait(WAIT)
    assert got == ["patient answered"]


def test_get_on_an_asks_future_inside_a_handler_is_a_blocking_ask(actor_system):
    hops(actor_system, "b")

    class Getter(AgentActor):
        @handler
        def on_relay(self, relay: Relay) -> str:
            if not relay.path:
                return "getter answered"
            future = self.ask_future("b", Relay(path=relay.path), timeout=LONG)
            try:
                return future.get(timeout=LONG)
            except AskCycle as cycle:
                return "cycle " + " -> ".join(cycle.cycle)

    actor_system.spawn(Getter, name="getter")
    answer = actor_system.ask("getter", Relay(path=("getter",)), timeout=WAIT)
    assert answer in rotations("getter", "b")


def test_both_agents_keep_working_after_a_cycle(actor_system):
    hops(actor_system, "a", "b")
    assert actor_system.ask("a", Relay(path=("b", "a")), timeout=WAIT).startswith("cycle")
    assert actor_system.ask("a", Relay(path=()), timeout=WAIT) == "end at a"
    assert actor_system.ask("b", Relay(path=()), timeout=WAIT) == "end at b"
    assert actor_system.ask("a", Relay(path=("b",)), timeout=WAIT) == "end at b"


def test_an_uncaught_cycle_fails_the_handler_and_the_outer_asker_learns_why(actor_system):
    class Plain(AgentActor):
        @handler
        def on_relay(self, relay: Relay) -> str:
            if not relay.path:
                return "end"
            return self.ask(relay.path[0], Relay(path=relay.path[1:]), timeout=LONG)

    actor_system.spawn(Plain, name="a")
    actor_system.spawn(Plain, name="b")
    with pytest.raises(AgentFailed) as failure:
        actor_system.ask("a", Relay(path=("b", "a")), timeout=WAIT)
    chain = []
    error: BaseException | None = failure.value
    while error is not None:
        chain.append(type(error).__name__)
        error = error.__cause__
    assert chain[-1] == "AskCycle", chain
    expect_dead_letter(actor_system, "handler_failed")
    if len(chain) == 3:  # b detected it: b's handler failed first, then a's
        expect_dead_letter(actor_system, "handler_failed")


class Stand:
    """A stand-in slot: a name and the ask it blocks on (all `_closes_cycle` reads)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.blocked_on = None


def ask_to(target: Stand) -> Future:
    future: Future = Future()
    future.target = target  # type: ignore[assignment]
    return future


def test_an_edge_whose_reply_already_came_is_no_edge():
    a, b = Stand("a"), Stand("b")
    a.blocked_on = ask_to(b)
    a.blocked_on.resolve("the reply")  # a's reply came; a's thread has not woken up yet
    assert _closes_cycle(b, ask_to(a)) is None  # type: ignore[arg-type]
    a.blocked_on = ask_to(b)  # still waiting: now it is a cycle
    error = _closes_cycle(b, ask_to(a))  # type: ignore[arg-type]
    assert error is not None
    assert error.cycle == ("b", "a", "b")


def test_a_loop_that_does_not_pass_through_the_asker_is_not_its_cycle():
    a, b, c = Stand("a"), Stand("b"), Stand("c")
    b.blocked_on, c.blocked_on = ask_to(c), ask_to(b)  # b and c (somehow) wait on each other
    assert _closes_cycle(a, ask_to(b)) is None  # type: ignore[arg-type]
