"""Failures stay where they happen: BaseExceptions in one system, ask cycles between agents.

A `SystemExit`, `KeyboardInterrupt`, `GeneratorExit` or a custom `BaseException` raised by an
agent's handler (or its ``on_start`` during a restart) escalates: that system fails, as the
README's "Deciders" says, and reports it through ``failure`` and ``wait``; a second system in
the process goes on routing, and the test process survives. Raised by ``on_start`` at the
first spawn it is a `StartFailed` for the caller, and the system carries on.

Two agents asking each other from inside their handlers (a cycle) must not hang: each inner
ask fails with a typed error within its timeout, and both agents work afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentFailed,
    AskCycle,
    Message,
    RegimentError,
    StartFailed,
    SystemStopped,
    handler,
)
from supervision import EscalationError, RestartPolicy

pytestmark = pytest.mark.slow

WAIT = 10.0


class CustomBase(BaseException):
    """A BaseException of the application's own."""


KINDS: dict[str, Callable[[], BaseException]] = {
    "SystemExit": lambda: SystemExit(3),
    "KeyboardInterrupt": KeyboardInterrupt,
    "GeneratorExit": GeneratorExit,
    "custom": CustomBase,
}


class Raise(Message):
    kind: str


class Crash(Message):
    pass


class Ping(Message):
    n: int = 0


class Raiser(AgentActor):
    """Raises the BaseException a Raise names; ``start_kind`` is raised by on_start.

    With ``on_restart_only`` the on_start raises only in a restart (after a Crash).
    """

    def __init__(self, start_kind: str | None = None, on_restart_only: bool = False) -> None:
        super().__init__()
        self.start_kind = start_kind
        self.on_restart_only = on_restart_only

    def on_start(self) -> None:
        if self.start_kind and (self.context.restarts or not self.on_restart_only):
            raise KINDS[self.start_kind]()

    @handler
    def on_raise(self, msg: Raise) -> None:
        raise KINDS[msg.kind]()

    @handler
    def on_crash(self, msg: Crash) -> None:
        raise RuntimeError("an ordinary failure: restart")

    @handler
    def on_ping(self, msg: Ping) -> int:
        return msg.n


def bystander() -> ActorSystem:
    other = ActorSystem("bystander")
    other.spawn(Raiser, name="calm")
    assert other.ask("calm", Ping(n=1), timeout=WAIT) == 1
    return other


def assert_untouched(other: ActorSystem) -> None:
    assert other.failure is None
    assert not other.wait(0)
    assert other.ask("calm", Ping(n=2), timeout=WAIT) == 2
    assert other.shutdown(timeout=WAIT)


def assert_failed_with(system: ActorSystem, kind: str) -> None:
    assert system.wait(WAIT), "the system was never marked stopped"
    failure = system.failure
    assert isinstance(failure, EscalationError), failure
    chain, cause = [], failure
    while cause is not None:
        chain.append(type(cause))
        cause = cause.__cause__
    assert type(KINDS[kind]()) in chain, chain
    with pytest.raises(SystemStopped):
        system.tell("a", Ping())
    assert system.shutdown(timeout=WAIT)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("send", ["tell", "ask"])
def test_a_base_exception_in_a_handler_fails_its_own_system_only(kind, send):
    other = bystander()
    system = ActorSystem("victim", root_policy=RestartPolicy(max_restarts=0))
    try:
        system.spawn(Raiser, name="a")
        if send == "ask":
            with pytest.raises(AgentFailed) as info:
                system.ask("a", Raise(kind=kind), timeout=WAIT)
            assert type(info.value.__cause__) is type(KINDS[kind]())
        else:
            system.tell("a", Raise(kind=kind))
        assert_failed_with(system, kind)
    finally:
        system.shutdown(timeout=WAIT)
    assert_untouched(other)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_base_exception_in_on_start_during_a_restart_fails_its_own_system_only(kind):
    other = bystander()
    system = ActorSystem("victim")
    try:
        system.spawn(Raiser, kind, True, name="a")
        assert system.ask("a", Ping(n=5), timeout=WAIT) == 5
        system.tell("a", Crash())  # the restart's on_start raises the BaseException
        assert_failed_with(system, kind)
    finally:
        system.shutdown(timeout=WAIT)
    assert_untouched(other)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_base_exception_in_the_first_on_start_is_a_start_failed_and_the_system_carries_on(
    kind,
):
    other = bystander()
    with ActorSystem("victim") as system:
        with pytest.raises(StartFailed) as info:
            system.spawn(Raiser, kind, name="a")
        assert type(info.value.__cause__) is type(KINDS[kind]())
        assert system.failure is None
        system.spawn(Raiser, name="a")  # the name was freed
        assert system.ask("a", Ping(n=3), timeout=WAIT) == 3
    assert system.failure is None
    assert_untouched(other)


# -- ask cycles ------------------------------------------------------------------------------------

ASK_TIMEOUT = 60.0  # never reached: the cycle is refused at once (AskCycle)
BOUND = 10.0  # what the whole cycle may take on a loaded two-CPU machine


class AskPeer(Message):
    peer: str


class Peer(AgentActor):
    """Asks its peer from inside a handler, once both are inside (so the asks cross)."""

    def __init__(self, both_inside: threading.Barrier) -> None:
        super().__init__()
        self.both_inside = both_inside

    @handler
    def on_ask_peer(self, msg: AskPeer) -> int:
        self.both_inside.wait(WAIT)
        return int(self.ask(msg.peer, Ping(n=7), timeout=ASK_TIMEOUT))

    @handler
    def on_ping(self, msg: Ping) -> int:
        return msg.n


@pytest.mark.allow_dead_letters
def test_an_ask_cycle_fails_at_once_with_ask_cycle_and_both_agents_recover(
    actor_system,
):
    both_inside = threading.Barrier(2)
    actor_system.spawn(Peer, both_inside, name="a")
    actor_system.spawn(Peer, both_inside, name="b")
    started = time.monotonic()
    outer = [
        actor_system.ask_future("a", AskPeer(peer="b"), timeout=BOUND),
        actor_system.ask_future("b", AskPeer(peer="a"), timeout=BOUND),
    ]
    outcomes: list[object] = []
    for future in outer:
        try:
            outcomes.append(future.get(timeout=BOUND))
        except RegimentError as exc:
            outcomes.append(exc)
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"the cycle took {elapsed:.1f}s to resolve"
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert failures, f"both asks of the cycle were answered: {outcomes}"
    for failure in failures:
        # The handler's inner ask closed the cycle and failed with AskCycle at once (long
        # before its 60 s timeout); the outer asker got AgentFailed naming the agent.
        assert isinstance(failure, AgentFailed), failure
        assert failure.agent in str(failure)
        cause = failure.__cause__
        assert isinstance(cause, AskCycle), cause
        assert cause.cycle in {("a", "b", "a"), ("b", "a", "b")}
    for value in outcomes:
        assert isinstance(value, BaseException) or value == 7
    assert actor_system.ask("a", Ping(n=1), timeout=WAIT) == 1
    assert actor_system.ask("b", Ping(n=2), timeout=WAIT) == 2
    print(f"\nask cycle: refused in {elapsed:.3f}s (ask timeout {ASK_TIMEOUT:g}s): {outcomes}")
