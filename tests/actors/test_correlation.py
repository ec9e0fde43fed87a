"""Correlation: one id traces a whole conversation; causation links each envelope to its cause."""

from __future__ import annotations

import itertools

import pytest

from actors import AgentActor, Envelope, InvalidEnvelope, Message, handler
from actors.testing import TestProbe
from tests.helpers import WAIT, Journal
from tests.messages import Boom, Crashable, Note, Ping


class Hop(Message):
    left: int


class Chain(AgentActor):
    """Records every envelope it handles; passes a Hop on to the next agent while left > 0."""

    def __init__(self, journal: Journal, next_name: str) -> None:
        super().__init__()
        self.journal = journal
        self.next_name = next_name

    @handler
    def on_hop(self, msg: Hop) -> None:
        envelope = self.context.envelope
        assert envelope is not None
        self.journal.add(envelope)
        if msg.left:
            self.tell(self.next_name, Hop(left=msg.left - 1))

    @handler
    def on_ping(self, msg: Ping) -> int:
        envelope = self.context.envelope
        assert envelope is not None
        self.journal.add(envelope)
        return msg.n


def spawn_chain(system) -> Journal:
    journal = Journal()
    system.spawn(Chain, journal, "b", name="a")
    system.spawn(Chain, journal, "c", name="b")
    system.spawn(Chain, journal, "a", name="c")
    return journal


def assert_one_conversation(envelopes: list[Envelope], correlation: str | None = None) -> None:
    first = envelopes[0]
    expected = correlation if correlation is not None else first.id
    assert [e.correlation_id for e in envelopes] == [expected] * len(envelopes)
    assert first.causation_id is None
    for cause, effect in itertools.pairwise(envelopes):
        assert effect.causation_id == cause.id


@pytest.mark.parametrize("how", ["system.tell", "ref.tell"])
def test_a_tell_from_outside_starts_a_conversation_every_caused_envelope_carries(system, how):
    journal = spawn_chain(system)
    if how == "system.tell":
        system.tell("a", Hop(left=3))
    else:
        system.ref("a").tell(Hop(left=3))
    envelopes = journal.wait_len(4)
    assert envelopes[0].correlation_id is not None
    assert_one_conversation(envelopes)


@pytest.mark.parametrize(
    "send",
    [
        lambda s: s.tell("a", Hop(left=2), correlation_id="order-42"),
        lambda s: s.ref("a").tell(Hop(left=2), correlation_id="order-42"),
        lambda s: s.broadcast(Hop(left=0), role=None, correlation_id="order-42"),
    ],
    ids=["system.tell", "ref.tell", "system.broadcast"],
)
def test_a_given_correlation_id_is_carried_all_the_way(system, send):
    journal = spawn_chain(system)
    send(system)
    envelopes = journal.wait_len(3)
    assert {e.correlation_id for e in envelopes} == {"order-42"}


@pytest.mark.parametrize(
    "ask",
    [
        lambda s: s.ask("a", Ping(n=1), timeout=WAIT, correlation_id="req-7"),
        lambda s: s.ref("a").ask(Ping(n=1), timeout=WAIT, correlation_id="req-7"),
        lambda s: s.ask_future("a", Ping(n=1), timeout=WAIT, correlation_id="req-7").get(),
    ],
    ids=["system.ask", "ref.ask", "system.ask_future"],
)
def test_an_ask_takes_a_correlation_id_too(system, ask):
    journal = spawn_chain(system)
    assert ask(system) == 1
    [envelope] = journal.wait_len(1)
    assert envelope.correlation_id == "req-7"


def test_an_agent_can_start_a_new_conversation_with_its_own_correlation_id(system):
    class Starter(AgentActor):
        @handler
        def on_note(self, msg: Note) -> None:
            self.tell("b", Hop(left=0), correlation_id="fresh")

    system.spawn(Starter, name="starter")
    b = TestProbe(system, "b")
    system.tell("starter", Note())
    envelope = b.expect(Hop, timeout=WAIT)
    assert envelope.correlation_id == "fresh"
    assert envelope.causation_id is not None  # still caused by the Note


@pytest.mark.parametrize("bad", ["", "x" * 129, 42])
def test_a_malformed_correlation_id_is_refused(system, bad):
    system.spawn(Crashable, name="a")
    with pytest.raises(InvalidEnvelope):
        system.tell("a", Ping(), correlation_id=bad)


def test_the_runtimes_log_lines_about_a_message_carry_its_ids(system, logs):
    ref = system.spawn(Crashable, name="fragile")
    ref.tell(Boom(), correlation_id="trace-1")
    system.tell("nobody-home", Note(), correlation_id="trace-2")
    assert ref.ask(Ping(), timeout=WAIT) == 1  # restarted once
    records = logs.items()
    crash = next(r for r in records if r["level"].name == "ERROR" and "failed" in r["message"])
    assert crash["extra"]["correlation_id"] == "trace-1"
    assert crash["extra"]["msg_id"]
    assert "causation_id" in crash["extra"]
    letter = next(r for r in records if "dead letter" in r["message"])
    assert letter["extra"]["correlation_id"] == "trace-2"
    assert "system 'test'" in letter["message"]


def test_a_timer_message_carries_the_ids_of_the_message_that_scheduled_it(system):
    class Later(AgentActor):
        @handler
        def on_note(self, msg: Note) -> None:
            self.schedule(0.01, Hop(left=0), to="b")

    system.spawn(Later, name="later")
    b = TestProbe(system, "b")
    system.tell("later", Note(), correlation_id="scheduled")
    envelope = b.expect(Hop, timeout=WAIT)
    assert envelope.correlation_id == "scheduled"
    assert envelope.causation_id is not None
    assert envelope.sender == "later"
