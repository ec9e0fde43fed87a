"""reply(): answering explicitly, to an ask or to a tell's sender / reply_to."""

from __future__ import annotations

import threading

import pytest

from actors import AgentActor, DeadLetterReason, Kind, RegimentError, handler
from tests.helpers import Journal, Watcher
from tests.messages import Note, Ping, Pong, Unwatch, Watch


class Explicit(AgentActor):
    """Replies with reply() before returning something else."""

    @handler
    def on_ping(self, msg: Ping) -> str:
        self.reply(Pong(n=msg.n, by=self.name))
        return "ignored: reply() already answered"


class Client(AgentActor):
    got: list = []
    arrived = threading.Event()

    @handler
    def on_note(self, msg: Note) -> None:
        self.tell("server", Ping(n=int(msg.text)))

    @handler
    def on_pong(self, msg: Pong) -> None:
        Client.got.append((msg, self.context.envelope.kind, self.context.sender))
        Client.arrived.set()


def test_reply_answers_an_ask_and_the_return_value_is_ignored(system):
    system.spawn(Explicit, name="server")
    assert system.ask("server", Ping(n=4), timeout=5) == Pong(n=4, by="server")


def test_reply_to_a_tell_goes_back_to_the_sending_agent_as_a_response(system):
    Client.got, Client.arrived = [], threading.Event()
    system.spawn(Explicit, name="server")
    system.spawn(Client, name="client")
    system.tell("client", Note(text="7"))
    assert Client.arrived.wait(5)
    assert Client.got == [(Pong(n=7, by="server"), Kind.RESPONSE, "server")]


def test_reply_to_a_tell_from_outside_without_reply_to_is_a_dead_letter(system):
    system.spawn(Explicit, name="server")
    system.tell("server", Ping(n=1))
    system.ask("server", Ping(n=2), timeout=5)  # the tell was handled before this ask
    [letter] = system.dead_letters()
    assert letter.reason is DeadLetterReason.UNKNOWN_ADDRESS
    assert letter.envelope.body == Pong(n=1, by="server")


def test_reply_outside_a_handler_is_an_error(system):
    errors: list[BaseException] = []

    class Early(AgentActor):
        def on_start(self) -> None:
            try:
                self.reply(Note())
            except RegimentError as exc:
                errors.append(exc)

    system.spawn(Early, name="early")
    assert len(errors) == 1
    assert "outside a handler" in str(errors[0])


def test_unwatch_stops_the_terminated_notice(system):
    notices = Journal()
    system.spawn(Watcher, notices, name="watcher")
    first = system.spawn(Explicit, name="first")
    second = system.spawn(Explicit, name="second")
    for request in (Watch(name="first"), Watch(name="second"), Unwatch(name="first")):
        system.ask("watcher", request, timeout=5)
    assert first.stop(timeout=5)
    assert second.stop(timeout=5)
    notices.wait_len(1)
    system.ask("watcher", Unwatch(name="second"), timeout=5)  # notices overtake this ask
    assert [notice.name for notice in notices.items()] == ["second"]


def test_messages_cannot_be_sent_from_an_agent_outside_a_system():
    class Loose(AgentActor):
        pass

    loose = Loose()
    with pytest.raises(RegimentError, match="not running in an ActorSystem"):
        loose.tell("anyone", Note())
