"""Futures keep their promises: deadlines fail them, callbacks run where they were added,
and the standard library can wait for many of them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time

import pytest

from actors import (
    AgentActor,
    AgentRestarted,
    AskTimeout,
    Future,
    Message,
    handler,
)
from actors.testing import TestProbe, expect_event
from tests.helpers import WAIT, Journal, logged, park, runtime
from tests.messages import ENTERED, GATES, Blocker, Boom, Note, Ping, Pong, Recorder, gate

pytestmark = pytest.mark.usefixtures("gates_opened")


class Kick(Message):
    """Tells an `Asker` to ask the agent named ``to``."""

    to: str = "replier"


class SlowReplier(AgentActor):
    """Answers Ping once the test opens the gate ``"slow"`` (see `tests.messages.gate`)."""

    @handler
    def on_ping(self, msg: Ping) -> Pong:
        ENTERED["slow"].set()
        assert GATES["slow"].wait(WAIT), "test never released the slow replier"
        return Pong(n=msg.n, by=self.name)

    @handler
    def on_note(self, msg: Note) -> None:
        pass


class Asker(AgentActor):
    """On Kick: asks ``to`` and, from a callback, tells the sink what came back."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    @handler
    def on_kick(self, msg: Kick) -> str:
        self.journal.add(("handler", threading.current_thread(), self.context.envelope))
        future = self.ask_future(msg.to, Ping(n=1), timeout=WAIT)
        future.add_done_callback(self._answered)
        return "asked"

    def _answered(self, future: Future[Pong]) -> None:
        self.journal.add(("callback", threading.current_thread(), future))
        self.tell("sink", Note(text="answered"))

    @handler
    def on_boom(self, msg: Boom) -> None:
        raise RuntimeError(msg.reason)


# -- deadlines ------------------------------------------------------------------------------------


def test_a_callback_sees_ask_timeout_at_the_deadline_of_an_ask_that_gets_no_reply(system):
    _, release = gate("slow")
    system.spawn(SlowReplier, name="slow")
    seen = Journal()
    started = time.monotonic()
    future = system.ask_future("slow", Ping(), timeout=0.3)
    future.add_done_callback(lambda f: seen.add((time.monotonic() - started, f.exception(0))))
    [(elapsed, error)] = seen.wait_len(1)
    assert isinstance(error, AskTimeout)
    assert error.timeout == 0.3
    assert 0.3 <= elapsed < 1.5, "the timeout must come at the deadline, not at the reply"
    assert not release.is_set(), "the replier has not answered yet"


def test_awaiting_an_ask_future_raises_ask_timeout_at_the_deadline(system):
    gate("slow")
    ref = system.spawn(SlowReplier, name="slow")

    async def main() -> float:
        future = ref.ask_future(Ping(), timeout=0.3)
        started = time.monotonic()
        with pytest.raises(AskTimeout):
            await asyncio.wait_for(future, WAIT)  # the outer bound only keeps the test finite
        return time.monotonic() - started

    assert asyncio.run(main()) < 1.5


def test_ask_deadlines_run_in_real_time_on_a_manual_clock(manual_system):
    _, release = gate("slow")
    try:
        manual_system.spawn(SlowReplier, name="slow")
        seen = Journal()
        future = manual_system.ask_future("slow", Ping(), timeout=0.2)
        future.add_done_callback(lambda f: seen.add(f.exception(0)))
        [error] = seen.wait_len(1)  # the manual clock never moves in this test
        assert isinstance(error, AskTimeout)
    finally:
        release.set()  # before manual_system shuts down (gates_opened serves ``system``)


def test_a_reply_after_the_deadline_is_dropped_and_the_future_keeps_its_timeout(system):
    entered, release = gate("slow")
    ref = system.spawn(SlowReplier, name="slow")
    future = ref.ask_future(Ping(), timeout=0.3)
    assert entered.wait(WAIT)
    with pytest.raises(AskTimeout):
        future.get(timeout=WAIT)  # ends at the future's own deadline
    release.set()
    ref.tell(Note())
    ref.ask(Ping(n=2), timeout=WAIT)  # the slow handler has returned (and tried to reply)
    assert isinstance(future.exception(0), AskTimeout)
    assert not future.resolve(Pong(n=0, by="late"))


def test_completed_ask_futures_do_not_pile_up_in_the_deadline_queue(system):
    ref = system.spawn(Recorder, name="a")
    for n in range(5000):
        ref.ask(Ping(n=n), timeout=60)
    timers = runtime(system).timers
    assert len(timers._inbox) + len(timers._deadlines) <= 4096


# -- callbacks added inside an agent --------------------------------------------------------------


def test_a_callback_added_in_a_handler_runs_in_the_askers_thread_as_the_asker(system):
    journal = Journal()
    system.spawn(Recorder, name="replier")
    sink = TestProbe(system, "sink")
    system.spawn(Asker, journal, name="asker")
    assert system.ask("asker", Kick(), timeout=WAIT) == "asked"
    [(_, handler_thread, kick), (_, callback_thread, future)] = journal.wait_len(2)
    note = sink.expect(Note, text="answered", timeout=WAIT)
    assert callback_thread is handler_thread
    assert future.get(timeout=0) == Pong(n=1, by="replier")
    assert note.sender == "asker"
    assert note.correlation_id == kick.correlation_id is not None
    assert note.causation_id == kick.id


def test_a_callback_added_to_a_completed_future_in_a_handler_runs_after_the_handler(system):
    journal = Journal()

    class Eager(AgentActor):
        @handler
        def on_note(self, msg: Note) -> None:
            done: Future[int] = Future()
            done.resolve(1)
            done.add_done_callback(lambda f: journal.add("callback"))
            journal.add("handler returns")

    system.spawn(Eager, name="eager").tell(Note())
    assert journal.wait_len(2) == ["handler returns", "callback"]


def test_a_callback_that_raises_in_an_agent_is_a_failure_of_that_agent(system):
    class Fragile(AgentActor):
        @handler
        def on_note(self, msg: Note) -> None:
            done: Future[int] = Future()
            done.resolve(1)
            done.add_done_callback(lambda f: 1 / 0)

    ref = system.spawn(Fragile, name="fragile")
    ref.tell(Note())
    expect_event(system, AgentRestarted, name="fragile", timeout=WAIT)


def test_a_callback_added_before_a_restart_is_not_run_on_the_new_instance(system, logs):
    journal = Journal()
    entered, release = gate("slow")
    system.spawn(SlowReplier, name="replier")
    asker = system.spawn(Asker, journal, name="asker")
    asker.tell(Kick())
    assert entered.wait(WAIT)
    asker.tell(Boom())
    expect_event(system, AgentRestarted, name="asker", timeout=WAIT)
    release.set()
    logs.wait_for(logged("not run on the new instance", level="WARNING"))
    assert [entry[0] for entry in journal.items()] == ["handler"]


def test_a_callback_for_an_agent_that_stopped_is_dropped_with_a_warning(system, logs):
    journal = Journal()
    entered, release = gate("slow")
    system.spawn(SlowReplier, name="replier")
    asker = system.spawn(Asker, journal, name="asker")
    asker.tell(Kick())
    assert entered.wait(WAIT)
    assert asker.stop(timeout=WAIT)
    release.set()
    logs.wait_for(logged("future callback", level="WARNING"))
    assert [entry[0] for entry in journal.items()] == ["handler"]


# -- waiting for many ---------------------------------------------------------------------------


def test_as_completed_yields_every_ask_as_it_completes(system):
    refs = [system.spawn(Recorder, name=f"r{i}") for i in range(5)]
    futures = [ref.ask_future(Ping(n=i), timeout=WAIT) for i, ref in enumerate(refs)]
    linked = [future.as_concurrent() for future in futures]
    replies = {done.result() for done in concurrent.futures.as_completed(linked, timeout=WAIT)}
    assert replies == {Pong(n=i, by=f"r{i}") for i in range(5)}


def test_wait_returns_at_the_first_timeout_among_many_asks(system):
    parked = system.spawn(Blocker, name="parked")
    park(parked, "parked")
    quick = system.spawn(Recorder, name="quick")
    futures = [quick.ask_future(Ping(), timeout=WAIT), parked.ask_future(Ping(), timeout=0.2)]
    done, not_done = concurrent.futures.wait(
        [future.as_concurrent() for future in futures],
        timeout=WAIT,
        return_when=concurrent.futures.FIRST_EXCEPTION,
    )
    assert not not_done
    errors = [type(f.exception()) for f in done]
    assert sorted(e.__name__ for e in errors) == ["AskTimeout", "NoneType"]
