"""Tolerant wire format and schemas: unknown types kept and passed on, the schema catalog."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import jsonschema
import pytest

import actors
from actors import (
    AgentActor,
    Broadcast,
    DeadLetterReason,
    Direct,
    Envelope,
    InvalidEnvelope,
    Kind,
    Message,
    Priority,
    Role,
    UnknownMessage,
    handler,
)
from actors.messages import message_type
from tests.helpers import Journal


class Order(Message):
    type_name: ClassVar[str] = "wire.Order"

    item: str
    quantity: int = 1


class Line(Message):
    type_name: ClassVar[str] = "wire.Line"

    sku: str
    price: float


class Invoice(Message):
    type_name: ClassVar[str] = "wire.Invoice"

    number: int
    lines: list[Line]
    note: str | None = None


class SpecialOrder(Order):
    type_name: ClassVar[str] = "wire.SpecialOrder"


NEWER_TYPE = "wire.ShippingLabel"  # a type a newer writer sends; never registered here


def newer_envelope_json(**changes: Any) -> str:
    """A JSON envelope of a type this process does not know, as a newer writer sends it."""
    data = Envelope(
        Order(item="x"),
        Direct("forwarder"),
        sender="writer",
        kind=Kind.ARTIFACT,
        priority=Priority.HIGH,
        correlation_id="conv-1",
        deadline=None,
    ).to_dict()
    data["type"] = NEWER_TYPE
    data["body"] = {"carrier": "ups", "weight_kg": 2.5, "parcels": [{"id": 1, "fragile": True}]}
    data.update(changes)
    return json.dumps(data, separators=(",", ":"))


# --- decoding unknown types ----------------------------------------------------------------


def test_an_unknown_type_is_refused_by_default():
    assert message_type(NEWER_TYPE) is None
    with pytest.raises(InvalidEnvelope) as caught:
        Envelope.from_json(newer_envelope_json())
    assert caught.value.field == "type"
    with pytest.raises(InvalidEnvelope):
        Envelope.from_json(newer_envelope_json(), unknown="error")


def test_keep_makes_an_unknown_message_that_reserialises_unchanged():
    text = newer_envelope_json()
    envelope = Envelope.from_json(text, unknown="keep")
    body = envelope.body
    assert type(body) is UnknownMessage
    assert body.wire_type == NEWER_TYPE
    assert body.fields == json.loads(text)["body"]
    assert envelope.to_json() == text
    assert Envelope.from_dict(envelope.to_dict(), unknown="keep") == envelope


def test_keep_still_decodes_registered_types_into_their_classes():
    original = Envelope(Order(item="tea", quantity=3), Role("shop"))
    decoded = Envelope.from_json(original.to_json(), unknown="keep")
    assert decoded.body == Order(item="tea", quantity=3)
    assert decoded == original


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": ""}, "id"),
        ({"to": "Not An Address"}, "to"),
        ({"priority": "urgent"}, "priority"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"body": [1, 2]}, "body"),
        ({"body": None}, "body"),
        ({"type": 7}, "type"),
    ],
)
def test_keep_still_checks_every_field(changes, field):
    with pytest.raises(InvalidEnvelope) as caught:
        Envelope.from_json(newer_envelope_json(**changes), unknown="keep")
    assert caught.value.field == field


def test_keep_does_not_excuse_a_bad_body_of_a_known_type():
    data = Envelope(Order(item="tea"), Direct("shop")).to_dict()
    data["body"] = {"item": "tea", "quantity": "many"}
    with pytest.raises(InvalidEnvelope) as caught:
        Envelope.from_dict(data, unknown="keep")
    assert caught.value.field == "body.quantity"


def test_unknown_messages_own_type_name_is_not_a_registered_type():
    data = json.loads(newer_envelope_json())
    data["type"] = UnknownMessage.type_name
    data["body"] = {"wire_type": "wire.Order", "fields": {"item": "smuggled"}}
    assert message_type(UnknownMessage.type_name) is None
    with pytest.raises(InvalidEnvelope) as caught:
        Envelope.from_dict(data)
    assert caught.value.field == "type"
    kept = Envelope.from_dict(data, unknown="keep")
    assert kept.body == UnknownMessage(wire_type=UnknownMessage.type_name, fields=data["body"])
    assert kept.to_dict()["type"] == UnknownMessage.type_name
    assert kept.to_dict()["body"] == data["body"]


def test_a_bad_unknown_policy_is_a_value_error():
    with pytest.raises(ValueError, match="unknown"):
        Envelope.from_json(newer_envelope_json(), unknown="drop")  # type: ignore[arg-type]


def test_an_unknown_message_holds_json_values_only():
    made = UnknownMessage(wire_type="wire.X", fields={"a": [1, {"b": None}], "c": 1.5})
    assert Envelope(made, Direct("x")).to_dict()["body"] == {"a": [1, {"b": None}], "c": 1.5}
    with pytest.raises(ValueError, match="fields"):
        UnknownMessage(wire_type="wire.X", fields={"a": object()})
    with pytest.raises(ValueError, match="wire_type"):
        UnknownMessage(wire_type="", fields={})


# --- passing unknown types through agents --------------------------------------------------


class Forwarder(AgentActor):
    """Passes on whatever it does not understand."""

    @handler
    def on_unknown(self, msg: UnknownMessage) -> None:
        self.tell("receiver", msg)


class Receiver(AgentActor):
    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    @handler
    def on_unknown(self, msg: UnknownMessage) -> None:
        envelope = self.context.envelope
        assert envelope is not None
        self.journal.add((msg, envelope.to_json()))


def test_a_forwarding_agent_passes_an_unknown_message_on_unchanged(system):
    journal = Journal()
    system.spawn(Forwarder, name="forwarder")
    system.spawn(Receiver, journal, name="receiver")
    text = newer_envelope_json()
    incoming = Envelope.from_json(text, unknown="keep")

    assert system.tell("forwarder", incoming.body) == 1

    [(received, received_json)] = journal.wait_len(1)
    assert received == incoming.body
    original, passed_on = json.loads(text), json.loads(received_json)
    assert passed_on["type"] == original["type"] == NEWER_TYPE
    assert passed_on["body"] == original["body"]
    assert json.dumps(passed_on["body"]) == json.dumps(original["body"])  # same key order too
    assert passed_on["sender"] == "forwarder"
    assert passed_on["to"] == "receiver"
    # And a reader that knows the type still cannot be fooled: the next hop refuses it too.
    with pytest.raises(InvalidEnvelope):
        Envelope.from_json(received_json)


def test_events_and_recordings_show_an_unknown_message_under_its_wire_type(system):
    from tests.helpers import record_events

    journal = Journal()
    events = record_events(system, actors.MessageSent, actors.MessageHandled)
    system.spawn(Receiver, journal, name="receiver")
    incoming = Envelope.from_json(newer_envelope_json(), unknown="keep")
    assert system.tell("receiver", incoming.body) == 1
    journal.wait_len(1)
    sent, handled = events.wait_len(2)[:2]
    assert sent.message_type == handled.message_type == NEWER_TYPE
    assert system.ref("receiver").recent()[-1].type == NEWER_TYPE


def test_an_agent_without_a_handler_for_unknown_messages_gets_on_unhandled(system):
    class OrdersOnly(AgentActor):
        @handler
        def on_order(self, msg: Order) -> str:
            return msg.item

    system.spawn(OrdersOnly, name="orders")
    body = Envelope.from_json(newer_envelope_json(), unknown="keep").body
    system.tell("orders", body)
    assert system.ask("orders", Order(item="sync"), timeout=5) == "sync"
    [letter] = system.dead_letters()
    assert letter.reason is DeadLetterReason.UNHANDLED
    assert letter.envelope.body == body
    assert letter.envelope.to_dict()["type"] == NEWER_TYPE


# --- the schema catalog --------------------------------------------------------------------


@pytest.fixture
def catalog() -> dict[str, Any]:
    schema = actors.schema_catalog()
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def wire(envelope: Envelope) -> Any:
    return json.loads(envelope.to_json())


def valid_envelopes() -> list[Envelope]:
    return [
        Envelope(Order(item="tea"), Direct("shop")),
        Envelope(
            Invoice(number=7, lines=[Line(sku="a", price=1.5), Line(sku="b", price=2)]),
            Broadcast("billing", include_self=True),
            sender="shop",
            kind="custom-kind",
            priority=Priority.CRITICAL,
            correlation_id="conv-9",
            causation_id="cause-1",
            reply_to=Broadcast(None, include_self=True),
            deadline=1e10,
        ),
        Envelope(SpecialOrder(item="cake", quantity=2), Role("bakery"), kind=Kind.QUERY),
        Envelope(
            actors.AgentStarted(system="s", name="a1", kind="agent", restarts=0), Direct("observer")
        ),
    ]


@pytest.mark.parametrize("envelope", valid_envelopes(), ids=lambda e: type(e.body).__name__)
def test_the_catalog_validates_real_envelopes(catalog, envelope):
    jsonschema.validate(instance=wire(envelope), schema=catalog)


def broken(**changes: Any) -> dict[str, Any]:
    data = wire(Envelope(Order(item="tea"), Direct("shop")))
    for key, value in changes.items():
        if value is _DELETE:
            del data[key]
        else:
            data[key] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    "instance",
    [
        broken(body={"item": "tea", "quantity": "many"}),  # wrong field type
        broken(body={"quantity": 2}),  # a required field missing
        broken(body={"item": "tea", "colour": "red"}),  # a field the class forbids
        broken(type="wire.Invoice"),  # the body of another type
        broken(type=NEWER_TYPE),  # a type not registered here
        broken(id=_DELETE),
        broken(priority="urgent"),
        broken(to=None),
        broken(body="tea"),
    ],
    ids=[
        "wrong-field-type",
        "missing-field",
        "extra-field",
        "mismatched-type",
        "unknown-type",
        "no-id",
        "bad-priority",
        "null-to",
        "body-not-object",
    ],
)
def test_the_catalog_rejects_a_broken_envelope(catalog, instance):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(instance=instance, schema=catalog)


def test_the_catalog_allows_keys_a_newer_writer_adds(catalog):
    jsonschema.validate(instance=broken(trace_id="abc"), schema=catalog)


def test_the_catalog_has_one_branch_per_json_describable_registered_type(catalog):
    types = {branch["properties"]["type"]["const"] for branch in catalog["oneOf"]}
    assert {"wire.Order", "wire.Invoice", "wire.SpecialOrder", "wire.Line"} <= types
    assert actors.AgentStarted.type_name in types
    assert UnknownMessage.type_name not in types
    assert actors.DeadLetter.type_name not in types  # holds an Envelope: no JSON schema
    assert catalog["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"Order", "Invoice", "Line"} <= set(catalog["$defs"])
    assert all(ref["$ref"].startswith("#/$defs/") for ref in _refs(catalog))


def _refs(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if "$ref" in node else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


# --- protocol() ----------------------------------------------------------------------------


class Shop(AgentActor):
    @handler
    def on_order(self, msg: Order) -> str:
        return msg.item

    @handler
    def on_invoice(self, msg: Invoice | Line) -> None:
        pass


class TolerantShop(Shop):
    @handler
    def on_unknown(self, msg: UnknownMessage) -> None:
        pass


def test_protocol_lists_the_handled_types_with_their_schemas():
    protocol = Shop.protocol()
    assert list(protocol) == ["wire.Invoice", "wire.Line", "wire.Order"]
    assert protocol["wire.Order"] == Order.model_json_schema()
    assert protocol["wire.Invoice"]["properties"]["lines"]["items"] == {"$ref": "#/$defs/Line"}
    jsonschema.validate(instance={"number": 1, "lines": []}, schema=protocol["wire.Invoice"])


def test_protocol_includes_inherited_handlers_and_unknown_messages():
    protocol = TolerantShop.protocol()
    assert set(protocol) == {"wire.Invoice", "wire.Line", "wire.Order", UnknownMessage.type_name}
    assert protocol[UnknownMessage.type_name]["type"] == "object"
    assert AgentActor.protocol() == {}


def test_protocol_does_not_grow_as_subclass_messages_are_dispatched(system):
    system.spawn(Shop, name="shop")
    assert system.ask("shop", SpecialOrder(item="cake"), timeout=5) == "cake"
    assert "wire.SpecialOrder" not in Shop.protocol()
