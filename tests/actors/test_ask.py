"""Ask: replies, errors at once, timeouts, ask-to-self, asyncio."""

from __future__ import annotations

import asyncio
import time

import pytest

from actors import (
    AgentActor,
    AgentFailed,
    AskTimeout,
    AskToSelf,
    Future,
    InvalidAddress,
    UnhandledMessage,
    UnknownAddress,
    handler,
)
from actors.testing import TestProbe, expect_dead_letter
from tests.helpers import WAIT, park
from tests.messages import Blocker, Boom, Note, Ping, Pong, Recorder


def test_ask_returns_the_handlers_return_value(system):
    ref = system.spawn(Recorder, name="a")
    assert ref.ask(Ping(n=7), timeout=5) == Pong(n=7, by="a")
    assert system.ask("a", Ping(n=8), timeout=5) == Pong(n=8, by="a")


def test_ask_future_completes_with_the_reply(system):
    ref = system.spawn(Recorder, name="a")
    future = ref.ask_future(Ping(n=1))
    assert isinstance(future, Future)
    assert future.get(timeout=5) == Pong(n=1, by="a")
    assert future.done()


def test_a_failing_handler_answers_the_asker_at_once_naming_the_agent(system):
    ref = system.spawn(Recorder, name="worker-7")
    started = time.monotonic()
    with pytest.raises(AgentFailed) as info:
        ref.ask(Boom(reason="bad input"), timeout=30)
    assert time.monotonic() - started < 10, "the error must come at once, not at the timeout"
    assert info.value.agent == "worker-7"
    assert "worker-7" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert str(info.value.__cause__) == "bad input"


def test_after_a_failed_ask_the_agent_keeps_its_state_and_serves(system):
    seen: list = []
    ref = system.spawn(Recorder, seen, name="a")
    ref.ask(Ping(n=1), timeout=5)
    with pytest.raises(AgentFailed):
        ref.ask(Boom(), timeout=5)
    assert ref.ask(Ping(n=2), timeout=5).n == 2
    assert [m.n for _, m in seen] == [1, 2]
    assert system.tree().find("a").restarts == 0


def test_an_ask_that_gets_no_reply_in_time_raises_ask_timeout(system):
    ref = system.spawn(Blocker, name="slow")
    release = park(ref, "slow")
    started = time.monotonic()
    with pytest.raises(AskTimeout) as info:
        ref.ask(Ping(), timeout=0.2)
    assert time.monotonic() - started >= 0.2
    assert info.value.timeout == 0.2
    assert isinstance(info.value, TimeoutError)
    release.set()


def test_an_ask_to_an_unknown_name_raises_at_once(system):
    with pytest.raises(UnknownAddress) as info:
        system.ask("nobody", Ping(), timeout=30)
    assert info.value.address == "nobody"
    expect_dead_letter(system, "unknown_address", message_type=Ping)


def test_an_ask_to_a_role_nobody_holds_raises_at_once(system):
    with pytest.raises(UnknownAddress) as info:
        system.ask("role:ghost", Ping(), timeout=30)
    assert info.value.reason == "no_role_member"


def test_a_broadcast_cannot_be_asked(system):
    system.spawn(Recorder, name="a")
    with pytest.raises(InvalidAddress, match="exactly one recipient"):
        system.ask("*", Ping(), timeout=1)


def test_an_unhandled_ask_fails_at_once_and_is_dead_lettered(system):
    class Mute(AgentActor):
        pass

    system.spawn(Mute, name="mute")
    with pytest.raises(UnhandledMessage) as info:
        system.ask("mute", Ping(), timeout=30)
    assert info.value.message_type is Ping
    expect_dead_letter(system, "unhandled", message_type=Ping)


class SelfAsker(AgentActor):
    roles = ("solo",)

    @handler
    def on_ping(self, msg: Ping) -> str:
        target = self.name if msg.n == 0 else "role:solo"
        try:
            self.ask(target, Note(), timeout=30)
        except AskToSelf as exc:
            return f"refused: {exc.agent}"
        return "asked"

    @handler
    def on_note(self, msg: Note) -> str:
        return "never"


def test_an_ask_to_oneself_from_a_handler_raises_at_once(system):
    system.spawn(SelfAsker, name="solo-1")
    started = time.monotonic()
    assert system.ask("solo-1", Ping(n=0), timeout=30) == "refused: solo-1"
    assert system.ask("solo-1", Ping(n=1), timeout=30) == "refused: solo-1"
    assert time.monotonic() - started < 10


class Relay(AgentActor):
    """Asks the agent named in the Note and returns its answer."""

    @handler
    def on_note(self, msg: Note) -> Pong:
        reply: Pong = self.ask(msg.text, Ping(n=42), timeout=5)
        return reply


def test_an_agent_can_ask_another_agent(system):
    system.spawn(Recorder, name="backend")
    system.spawn(Relay, name="relay")
    assert system.ask("relay", Note(text="backend"), timeout=5) == Pong(n=42, by="backend")


def test_a_tells_return_value_goes_to_reply_to_as_a_correlated_response(system):
    client = TestProbe(system, "client")
    system.spawn(Recorder, name="server")
    assert system.tell("server", Ping(n=3), reply_to="client") == 1
    reply = client.expect(Pong, n=3, by="server", timeout=WAIT)
    assert reply.kind == "response"
    assert reply.sender == "server"
    assert reply.correlation_id is not None
    assert reply.causation_id == reply.correlation_id  # the request's id


def test_ask_async_suspends_only_the_awaiting_task(system):
    ref = system.spawn(Blocker, name="slow")
    release = park(ref, "async")

    async def scenario() -> tuple[int, Pong]:
        ticks = 0
        reply_task = asyncio.create_task(ref.ask_async(Ping(n=9), timeout=10))

        async def ticker() -> None:
            nonlocal ticks
            while not reply_task.done():
                ticks += 1
                if ticks == 20:
                    release.set()  # let the agent go only once the loop has proven it is free
                await asyncio.sleep(0.005)

        await asyncio.gather(ticker(), reply_task)
        return ticks, reply_task.result()

    ticks, reply = asyncio.run(scenario())
    assert reply == Pong(n=9, by="slow")
    assert ticks >= 20


def test_ask_async_times_out_with_ask_timeout(system):
    ref = system.spawn(Blocker, name="slow")
    release = park(ref, "async-timeout")

    async def scenario() -> None:
        await ref.ask_async(Ping(), timeout=0.1)

    with pytest.raises(AskTimeout):
        asyncio.run(scenario())
    release.set()


def test_a_future_can_be_awaited_directly(system):
    ref = system.spawn(Recorder, name="a")

    async def scenario() -> Pong:
        return await ref.ask_future(Ping(n=4))

    assert asyncio.run(scenario()) == Pong(n=4, by="a")


def test_system_ask_async_works_with_roles(system):
    system.spawn(Recorder, name="a", roles=("echo",))

    async def scenario() -> Pong:
        return await system.ask_async("role:echo", Ping(n=2), timeout=5)

    assert asyncio.run(scenario()).by == "a"
