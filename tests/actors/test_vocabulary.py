"""One vocabulary: tell, ask, ask_future, ask_async and broadcast mean the same everywhere.

The system, a ref and an agent (``self.`` in a handler) share the verbs; inside an agent ``ask``
blocks like the outside one. The reason enums share one ``str``-valued base.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentFailed,
    AgentRef,
    AskTimeout,
    DeadLetterReason,
    ExitReason,
    Future,
    Message,
    StopReason,
    UnknownAddress,
    handler,
)
from actors.events import Reason
from actors.testing import TestProbe
from tests.helpers import WAIT, Journal
from tests.messages import Block, Blocker, Boom, Note, Ping, Pong, Recorder, gate

pytestmark = pytest.mark.usefixtures("gates_opened")


class Ask(Message):
    """Ask ``to`` for ``body`` (with ``timeout``, if given) from inside a handler."""

    to: str
    body: Ping | Boom = Ping(n=42)
    timeout: float | None = None


class Asker(AgentActor):
    """Answers an Ask with what its own ``self.ask`` returned, or the error it raised."""

    def __init__(self, journal: Journal | None = None) -> None:
        super().__init__()
        self.journal = journal

    @handler
    def on_ask(self, msg: Ask) -> Any:
        if self.journal is not None:
            self.journal.add("asking")
        try:
            return self.ask(msg.to, msg.body, timeout=msg.timeout)
        except Exception as exc:  # noqa: BLE001 - the test inspects what the ask raised
            return exc


class FutureAsker(AgentActor):
    """Answers an Ask with the future ``self.ask_future`` returned."""

    @handler
    def on_ask(self, msg: Ask) -> Future[Any]:
        return self.ask_future(msg.to, msg.body, timeout=WAIT)


class AsyncAsker(AgentActor):
    """Answers an Ask, in an async handler, with what ``await self.ask_async`` returned."""

    @handler
    async def on_ask(self, msg: Ask) -> Any:
        try:
            return await self.ask_async(msg.to, msg.body, timeout=msg.timeout)
        except Exception as exc:  # noqa: BLE001 - the test inspects what the ask raised
            return exc


class Forwarder(AgentActor):
    """Tells the agent named in a Note a Ping."""

    @handler
    def on_note(self, msg: Note) -> int:
        return self.tell(msg.text, Ping(n=9))


# -- tell ---------------------------------------------------------------------------------------


def test_tell_inside_a_handler_delivers_with_the_agent_as_sender(system):
    sink = TestProbe(system, "sink")
    system.spawn(Forwarder, name="fwd")
    assert system.ask("fwd", Note(text="sink"), timeout=WAIT) == 1
    assert sink.expect(Ping, n=9, timeout=WAIT).sender == "fwd"


def test_an_agent_has_no_send_and_a_leftover_call_names_tell():
    class Leftover(AgentActor):
        pass

    assert not hasattr(AgentActor, "send")
    with pytest.raises(AttributeError, match=r"renamed tell"):
        Leftover().send  # noqa: B018 - reading the attribute is what must fail


# -- ask (blocking) -----------------------------------------------------------------------------


def test_ask_inside_a_handler_returns_the_reply_itself(system):
    system.spawn(Recorder, name="backend")
    system.spawn(Asker, name="asker")
    assert system.ask("asker", Ask(to="backend"), timeout=WAIT) == Pong(n=42, by="backend")


def test_ask_inside_a_handler_waits_while_the_recipient_is_busy(system):
    entered, release = gate("vocab-busy")
    journal = Journal()
    system.spawn(Blocker, name="busy")
    asker = system.spawn(Asker, journal, name="asker")
    system.tell("busy", Block(key="vocab-busy"))
    assert entered.wait(WAIT)
    answer = asker.ask_future(Ask(to="busy", timeout=WAIT), timeout=WAIT)
    journal.wait_len(1)
    assert not answer.done()  # the asker is still inside self.ask: busy holds its request
    release.set()
    assert answer.get(timeout=WAIT) == Pong(n=42, by="busy")


def test_ask_inside_a_handler_raises_ask_timeout_as_the_outside_ask_does(system):
    entered, _ = gate("vocab-timeout")
    system.spawn(Blocker, name="busy")
    system.spawn(Asker, name="asker")
    system.tell("busy", Block(key="vocab-timeout"))
    assert entered.wait(WAIT)
    with pytest.raises(AskTimeout):
        system.ask("busy", Ping(), timeout=0.1)
    error = system.ask("asker", Ask(to="busy", timeout=0.1), timeout=WAIT)
    assert isinstance(error, AskTimeout)
    assert error.timeout == 0.1


def test_ask_inside_a_handler_waits_the_systems_ask_timeout_when_given_none():
    entered, release = gate("vocab-default")
    with ActorSystem("short", ask_timeout=0.1) as system:
        system.spawn(Blocker, name="busy")
        system.spawn(Asker, name="asker")
        system.tell("busy", Block(key="vocab-default"))
        assert entered.wait(WAIT)
        error = system.ask("asker", Ask(to="busy"), timeout=WAIT)
        release.set()
    assert isinstance(error, AskTimeout)
    assert error.timeout == 0.1


def test_ask_inside_a_handler_raises_agent_failed_as_the_outside_ask_does(system):
    system.spawn(Recorder, name="worker")
    system.spawn(Asker, name="asker")
    with pytest.raises(AgentFailed):
        system.ask("worker", Boom(reason="outside"), timeout=WAIT)
    error = system.ask("asker", Ask(to="worker", body=Boom(reason="inside")), timeout=WAIT)
    assert isinstance(error, AgentFailed)
    assert error.agent == "worker"
    assert str(error.__cause__) == "inside"


def test_ask_inside_a_handler_raises_unknown_address_as_the_outside_ask_does(system):
    system.spawn(Asker, name="asker")
    with pytest.raises(UnknownAddress):
        system.ask("nobody", Ping(), timeout=WAIT)
    error = system.ask("asker", Ask(to="nobody"), timeout=WAIT)
    assert isinstance(error, UnknownAddress)


# -- ask_future and ask_async -------------------------------------------------------------------


def test_ask_future_inside_a_handler_returns_the_future_of_the_reply(system):
    system.spawn(Recorder, name="backend")
    system.spawn(FutureAsker, name="asker")
    future = system.ask("asker", Ask(to="backend"), timeout=WAIT)
    assert isinstance(future, Future)
    assert future.get(timeout=WAIT) == Pong(n=42, by="backend")


def test_ask_async_in_an_async_handler_returns_the_reply(system):
    system.spawn(Recorder, name="backend")
    system.spawn(AsyncAsker, name="asker")
    reply = system.ask("asker", Ask(to="backend", timeout=WAIT), timeout=WAIT)
    assert reply == Pong(n=42, by="backend")


def test_ask_async_in_an_async_handler_raises_as_ask_does(system):
    system.spawn(Recorder, name="worker")
    system.spawn(AsyncAsker, name="asker")
    error = system.ask("asker", Ask(to="worker", body=Boom(reason="inside")), timeout=WAIT)
    assert isinstance(error, AgentFailed)
    assert error.agent == "worker"


# -- the shared surface -------------------------------------------------------------------------

ASKS = ("ask", "ask_future", "ask_async")


def keywords(cls: type, verb: str) -> list[str]:
    parameters = inspect.signature(getattr(cls, verb)).parameters.values()
    return [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]


@pytest.mark.parametrize("verb", ["tell", *ASKS])
def test_the_system_a_ref_and_an_agent_take_the_same_keywords_for_each_verb(verb):
    assert keywords(ActorSystem, verb) == keywords(AgentActor, verb) == keywords(AgentRef, verb)


def test_ask_async_is_a_coroutine_function_on_the_system_a_ref_and_an_agent():
    for cls in (ActorSystem, AgentRef, AgentActor):
        assert inspect.iscoroutinefunction(cls.ask_async), cls


def test_the_system_and_an_agent_broadcast_but_a_ref_addresses_one_agent():
    assert callable(ActorSystem.broadcast)
    assert callable(AgentActor.broadcast)
    assert not hasattr(AgentRef, "broadcast")


# -- reasons ------------------------------------------------------------------------------------


@pytest.mark.parametrize("reasons", [DeadLetterReason, ExitReason, StopReason])
def test_every_reason_enum_derives_from_reason_and_its_members_are_their_values(reasons):
    assert issubclass(reasons, Reason)
    for member in reasons:
        assert isinstance(member, str)
        assert member == member.value
        assert f"{member}" == member.value
