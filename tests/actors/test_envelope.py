import json

import pytest

from actors import Broadcast, Direct, Envelope, InvalidEnvelope, Kind, Message, Priority, Role
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


@pytest.mark.parametrize("role", [None, "coder"])
def test_a_broadcast_keeps_include_self_through_json_for_both_values(role):
    for include_self in (False, True):
        address = Broadcast(role=role, include_self=include_self)
        original = Envelope(Ping(n=1), address, reply_to=address)
        copy = Envelope.from_json(original.to_json())
        assert copy.to == address
        assert copy.reply_to == address
        assert copy == original


@pytest.mark.parametrize("role", [None, "coder"])
def test_include_self_is_an_extra_key_only_when_set(role):
    plain = json.loads(Envelope(Ping(), Broadcast(role=role), reply_to=Broadcast()).to_json())
    data = json.loads(
        Envelope(
            Ping(),
            Broadcast(role=role, include_self=True),
            reply_to=Broadcast(include_self=True),
        ).to_json()
    )
    assert data["to"] == plain["to"] == ("*" if role is None else f"*:{role}")
    assert data["reply_to"] == plain["reply_to"] == "*"
    assert data["include_self"] is True
    assert data["reply_to_include_self"] is True
    assert "include_self" not in plain
    assert "reply_to_include_self" not in plain


def test_envelopes_differing_only_in_include_self_are_not_equal():
    first = Envelope(Ping(), Broadcast(role="coder"), id="e-1", created_at=1.0)
    second = Envelope(Ping(), Broadcast(role="coder", include_self=True), id="e-1", created_at=1.0)
    third = Envelope(Ping(), Broadcast(role="coder"), id="e-1", created_at=1.0)
    third.reply_to = Broadcast(include_self=True)
    assert first != second
    assert first != third
    assert first == Envelope(Ping(), Broadcast(role="coder"), id="e-1", created_at=1.0)


@pytest.mark.parametrize(
    ("to", "reply_to", "flag", "value"),
    [
        ("a", None, "include_self", True),
        ("role:coder", None, "include_self", True),
        ("*", "a", "reply_to_include_self", True),
        ("*", None, "reply_to_include_self", True),
        ("*", "*", "include_self", 1),
        ("*", "*", "reply_to_include_self", "true"),
        ("*", "*", "include_self", None),
    ],
)
def test_include_self_must_be_a_boolean_on_a_broadcast(to, reply_to, flag, value):
    data = _valid()
    data.update(to=to, reply_to=reply_to)
    data[flag] = value
    with pytest.raises(InvalidEnvelope) as info:
        Envelope.from_json(json.dumps(data))
    assert info.value.field == flag
