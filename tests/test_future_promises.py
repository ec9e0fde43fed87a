"""Futures keep their promises: deadlines fail them, callbacks run where they were added,
and the standard library can wait for many of them.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from loguru import logger

from actors import (
    AgentActor,
    AskTimeout,
    Future,
    Message,
    handler,
)
from tests.helpers import WAIT, Journal
from tests.messages import ENTERED, GATES, Boom, Note, Ping, Pong, Recorder, gate

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


class Sink(AgentActor):
    """Records every envelope it handles."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    @handler
    def on_note(self, msg: Note) -> None:
        self.journal.add(self.context.envelope)


class Asker(AgentActor):
    """On Kick: asks ``to`` and, from a callback, tells the sink what came back."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    @handler
    def on_kick(self, msg: Kick) -> str:
        self.journal.add(("handler", threading.current_thread(), self.context.envelope))
        future = self.ask(msg.to, Ping(n=1), timeout=WAIT)
        future.add_done_callback(self._answered)
        return "asked"

    def _answered(self, future: Future[Pong]) -> None:
        self.journal.add(("callback", threading.current_thread(), future))
        self.send("sink", Note(text="answered"))

    @handler
    def on_boom(self, msg: Boom) -> None:
        raise RuntimeError(msg.reason)


def capture_warnings() -> tuple[Journal, int]:
    journal = Journal()
    sink_id = logger.add(lambda m: journal.add(m.record["message"]), level="WARNING")
    return journal, sink_id


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
    timers = system.timers
    assert len(timers._inbox) + len(timers._deadlines) <= 4096
