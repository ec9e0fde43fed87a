import json

import pytest

from actors import Direct, Envelope, InvalidEnvelope, Kind, Message, Priority, Role
from tests.messages import Ping


class Report(Message):
    title: str
    lines: list[str] = []
    score: float | None = None


class Renamed(Message):
    type_name = "report.v2"
    body: str


@pytest.mark.parametrize("kind", [*list(Kind), "review-request"])
def test_json_round_trip_keeps_every_field_for_every_kind(kind):
    original = Envelope(
        Report(title="t", lines=["a", "b"], score=0.5),
        Role("coder"),
        sender="orchestrator",
        kind=kind,
        priority=Priority.HIGH,
        correlation_id="conv-1",
        causation_id="env-0",
        reply_to=Direct("orchestrator"),
        deadline=1_900_000_000.5,
    )
    copy = Envelope.from_json(original.to_json())
    assert copy == original
    assert copy.to_dict() == original.to_dict()
    assert type(copy.body) is Report
    assert copy.body == original.body
    assert copy.kind == kind
    assert copy.priority is Priority.HIGH
    assert copy.to == Role("coder")
    assert copy.reply_to == Direct("orchestrator")


def test_the_type_field_names_the_registered_message_class():
    data = json.loads(Envelope(Ping(n=1), Direct("a")).to_json())
    assert data["type"] == Ping.type_name
    assert data["type"].endswith("Ping")
    assert json.loads(Envelope(Renamed(body="x"), Direct("a")).to_json())["type"] == "report.v2"


def test_a_message_class_can_choose_its_type_name():
    copy = Envelope.from_json(Envelope(Renamed(body="x"), Direct("a")).to_json())
    assert copy.body == Renamed(body="x")


def test_envelope_ids_are_unique():
    ids = {Envelope(Ping(), Direct("a")).id for _ in range(1000)}
    assert len(ids) == 1000


def _valid() -> dict:
    return json.loads(Envelope(Report(title="t"), Direct("a"), sender="b").to_json())


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(type="no.such.Message"), "type"),
        (lambda d: d.pop("type"), "type"),
        (lambda d: d["body"].update(title=None), "body.title"),
        (lambda d: d["body"].pop("title"), "body.title"),
        (lambda d: d["body"].update(lines="not a list"), "body.lines"),
        (lambda d: d.update(to="Not Valid"), "to"),
        (lambda d: d.pop("to"), "to"),
        (lambda d: d.update(reply_to="role:"), "reply_to"),
        (lambda d: d.update(sender="UPPER"), "sender"),
        (lambda d: d.update(priority="urgent"), "priority"),
        (lambda d: d.update(created_at="yesterday"), "created_at"),
        (lambda d: d.update(deadline=True), "deadline"),
        (lambda d: d.update(kind=""), "kind"),
        (lambda d: d.update(id=7), "id"),
        (lambda d: d.update(correlation_id=["x"]), "correlation_id"),
    ],
)
def test_from_json_names_the_bad_field(mutate, field):
    data = _valid()
    mutate(data)
    with pytest.raises(InvalidEnvelope) as info:
        Envelope.from_json(json.dumps(data))
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]", "42", b"\xff\xfe"])
def test_malformed_json_is_a_typed_error(text):
    with pytest.raises(InvalidEnvelope) as info:
        Envelope.from_json(text)
    assert info.value.field == "<json>"


def test_messages_are_frozen():
    from pydantic import ValidationError

    msg = Ping(n=1)
    with pytest.raises(ValidationError):
        msg.n = 2  # type: ignore[misc]
