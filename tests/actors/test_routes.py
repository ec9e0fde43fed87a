"""Publish by message type: routes along the class hierarchy, record-only, no_route."""

from __future__ import annotations

import pytest

from actors import (
    NOWHERE,
    ActorSystem,
    AgentActor,
    DeadLetterReason,
    Envelope,
    InvalidAddress,
    InvalidConfig,
    Message,
    MessageSent,
    Route,
    handler,
)
from tests.helpers import WAIT, Journal, dead_letter_counts, record_events
from tests.messages import Ping


class Artifact(Message):
    name: str


class Diagram(Artifact):
    """An artifact with a route of its own."""


class Listing(Artifact):
    """An artifact without one: Artifact's route covers it."""


class Question(Message):
    text: str


class Status(Message):
    ok: bool


class Stray(Message):
    pass


class Member(AgentActor):
    def __init__(self, seen: Journal) -> None:
        super().__init__()
        self.seen = seen

    @handler
    def on_artifact(self, message: Artifact) -> None:
        self.seen.add((self.name, type(message).__name__))

    @handler
    def on_question(self, message: Question) -> None:
        self.seen.add((self.name, "question"))

    @handler
    def on_status(self, message: Status) -> None:
        self.seen.add((self.name, "status"))

    @handler
    def on_ping(self, message: Ping) -> None:
        self.publish(Question(text="from inside"))


def build(seen: Journal) -> ActorSystem:
    system = ActorSystem(
        "broker",
        routes=[
            Route(Artifact, to="*"),
            Route(Diagram, to="role:drawing"),
            Route(Question, to="supervisor-inbox"),
            Route(Status, to=None),
        ],
    )
    system.spawn(Member, seen, name="a", roles=("drawing",))
    system.spawn(Member, seen, name="b")
    system.spawn(Member, seen, name="supervisor-inbox")
    return system


def settle(system: ActorSystem) -> None:
    for name in ("a", "b", "supervisor-inbox"):
        system.ask(name, Status(ok=True), timeout=WAIT)  # queued behind what was sent before


def test_the_most_specific_route_along_the_class_hierarchy_wins():
    seen = Journal()
    with build(seen) as system:
        assert system.publish(Artifact(name="spec")) == 3
        assert system.publish(Listing(name="code")) == 3  # Artifact's route covers it
        assert system.publish(Diagram(name="arch")) == 1  # its own route
        assert system.publish(Question(text="ok?")) == 1
        seen.wait_len(8)
        settle(system)
    items = seen.items()
    assert sorted(n for n, kind in items if kind == "Artifact") == ["a", "b", "supervisor-inbox"]
    assert sorted(n for n, kind in items if kind == "Listing") == ["a", "b", "supervisor-inbox"]
    assert [n for n, kind in items if kind == "Diagram"] == ["a"]
    assert [n for n, kind in items if kind == "question"] == ["supervisor-inbox"]


def test_a_record_only_route_delivers_to_nobody_but_is_counted_and_announced():
    seen = Journal()
    with build(seen) as system:
        sent = record_events(system, MessageSent)
        assert system.publish(Status(ok=True)) == 0
        (event,) = sent.wait_len(1)
        assert (event.address, event.recipients) == ("-", 0)
        assert system.metrics().system.sent == 1
        assert dead_letter_counts(system) == {}
        settle(system)
    statuses = [item for item in seen.items() if item[1] == "status"]
    assert len(statuses) == 3, "only the three settling asks: the published one reached nobody"


def test_a_type_with_no_route_is_dead_lettered_no_route(system: ActorSystem):
    assert system.publish(Stray()) == 0
    assert dead_letter_counts(system)[DeadLetterReason.NO_ROUTE] == 1
    (letter,) = system.dead_letters()
    assert letter.envelope.to is NOWHERE
    assert letter.detail is not None
    assert "no route" in letter.detail


def test_an_agent_publishes_from_a_handler_as_the_sender_in_its_conversation():
    seen = Journal()
    with build(seen) as system:
        sent = record_events(system, MessageSent)
        system.tell("a", Ping(), correlation_id="conv-7")
        seen.wait_for(lambda items: ("supervisor-inbox", "question") in items)
        published = [e for e in sent.items() if e.message_type.endswith("Question")]
        assert published[0].sender == "a"
        assert published[0].correlation_id == "conv-7"


def test_routes_can_be_added_and_removed_at_run_time(system: ActorSystem):
    seen = Journal()
    system.spawn(Member, seen, name="m")
    assert system.publish(Question(text="?")) == 0
    system.routes.add(Route(Question, to="m"))
    assert Question in system.routes
    assert system.publish(Question(text="?")) == 1
    assert system.routes.remove(Question)
    assert not system.routes.remove(Question)
    assert system.publish(Question(text="?")) == 0
    assert dead_letter_counts(system)[DeadLetterReason.NO_ROUTE] == 2


def test_bad_routes_are_refused_with_clear_errors():
    with pytest.raises(InvalidConfig, match="Message subclass"):
        Route(int, to="*")  # type: ignore[arg-type]
    with pytest.raises(InvalidAddress):
        Route(Status, to="Not A Name")


def test_nowhere_round_trips_through_json():
    envelope = Envelope(Status(ok=True), NOWHERE)
    again = Envelope.from_json(envelope.to_json())
    assert again.to is NOWHERE
    assert again == envelope
