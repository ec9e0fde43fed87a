"""``async def`` handlers and hooks: run to completion on the agent's own event loop."""

from __future__ import annotations

import asyncio

import pytest

from actors import AgentActor, AgentFailed, AgentRestarted, Message, handler
from actors.testing import expect_event
from tests.helpers import WAIT, Journal
from tests.messages import Boom, Note, Ping


class Sleepy(AgentActor):
    """Async handlers: Ping awaits a sleep and answers; Note is journaled; Boom raises."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    @handler
    async def on_ping(self, msg: Ping) -> int:
        await asyncio.sleep(0.001)
        return msg.n * 2

    @handler
    async def on_note(self, msg: Note) -> None:
        await asyncio.sleep(0)
        self.journal.add(msg.text)

    @handler
    async def on_boom(self, msg: Boom) -> None:
        await asyncio.sleep(0)
        raise RuntimeError(msg.reason)


class LoopProbe(Message):
    """Asks an agent for its running event loop."""


class Prober(AgentActor):
    """Answers LoopProbe with its event loop, leaving a task pending on it; Boom raises."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    @handler
    async def on_probe(self, msg: LoopProbe) -> asyncio.AbstractEventLoop:
        task = asyncio.get_running_loop().create_task(asyncio.sleep(3600))
        task.add_done_callback(
            lambda t: self.journal.add(("pending task cancelled", t.cancelled()))
        )
        return asyncio.get_running_loop()

    @handler
    async def on_boom(self, msg: Boom) -> None:
        raise RuntimeError(msg.reason)


class Hooked(AgentActor):
    """Async on_start and on_stop that await before recording."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    async def on_start(self) -> None:
        await asyncio.sleep(0.001)
        self.journal.add(("on_start", self.context.restarts))

    async def on_stop(self) -> None:
        await asyncio.sleep(0.001)
        self.journal.add(("on_stop", self.context.restarts))

    @handler
    async def on_boom(self, msg: Boom) -> None:
        raise RuntimeError(msg.reason)


def test_an_async_handler_awaiting_a_sleep_answers_an_ask(system):
    ref = system.spawn(Sleepy, Journal(), name="sleepy")
    assert ref.ask(Ping(n=21), timeout=WAIT) == 42


def test_an_async_handler_takes_told_messages_one_at_a_time_in_order(system):
    journal = Journal()
    ref = system.spawn(Sleepy, journal, name="sleepy")
    for text in ("a", "b", "c"):
        ref.tell(Note(text=text))
    assert journal.wait_len(3) == ["a", "b", "c"]


def test_an_async_handler_that_raises_restarts_the_agent(system):
    ref = system.spawn(Sleepy, Journal(), name="sleepy")
    ref.tell(Boom())
    expect_event(system, AgentRestarted, name="sleepy", timeout=WAIT)
    assert ref.ask(Ping(n=1), timeout=WAIT) == 2


def test_an_asker_of_an_async_handler_that_raises_gets_agent_failed(system):
    ref = system.spawn(Sleepy, Journal(), name="sleepy")
    with pytest.raises(AgentFailed) as info:
        ref.ask(Boom(reason="no luck"), timeout=WAIT)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert str(info.value.__cause__) == "no luck"


def test_async_on_start_and_on_stop_run_to_completion(system):
    journal = Journal()
    ref = system.spawn(Hooked, journal, name="hooked")
    assert journal.items() == [("on_start", 0)]  # spawn returned after on_start finished
    assert ref.stop(timeout=WAIT)
    assert journal.items() == [("on_start", 0), ("on_stop", 0)]


def test_an_async_on_stop_and_on_start_run_around_a_restart_by_default(system):
    journal = Journal()
    ref = system.spawn(Hooked, journal, name="hooked")
    ref.tell(Boom())
    journal.wait_len(3)
    assert journal.items() == [("on_start", 0), ("on_stop", 0), ("on_start", 1)]


def test_the_event_loop_is_closed_and_its_tasks_cancelled_when_the_agent_stops(system):
    journal = Journal()
    ref = system.spawn(Prober, journal, name="prober")
    loop = ref.ask(LoopProbe(), timeout=WAIT)
    assert not loop.is_closed()
    assert ref.stop(timeout=WAIT)
    assert loop.is_closed()
    assert journal.items() == [("pending task cancelled", True)]


def test_each_incarnation_gets_its_own_event_loop_and_closes_it(system):
    ref = system.spawn(Prober, Journal(), name="prober")
    first = ref.ask(LoopProbe(), timeout=WAIT)
    ref.tell(Boom())
    expect_event(system, AgentRestarted, name="prober", timeout=WAIT)
    second = ref.ask(LoopProbe(), timeout=WAIT)
    assert first.is_closed()
    assert second is not first
    assert not second.is_closed()


class Relay(AgentActor):
    """Answers a Ping by awaiting another agent's answer and a blocking call in a thread."""

    @handler
    async def on_ping(self, msg: Ping) -> int:
        doubled = await self.system.ref("sleepy").ask_async(msg, timeout=WAIT)
        return await asyncio.to_thread(lambda: doubled + 1)


def test_an_async_handler_can_await_another_agents_answer_and_a_thread(system):
    system.spawn(Sleepy, Journal(), name="sleepy")
    relay = system.spawn(Relay, name="relay")
    assert relay.ask(Ping(n=5), timeout=WAIT) == 11
    assert relay.stop(timeout=WAIT)
