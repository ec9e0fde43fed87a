"""JSON Schemas of the wire format: the envelope and every registered message type.

`schema_catalog` returns one JSON Schema (draft 2020-12) document: ``$defs`` holds the schema
of every registered `Message` class, and the top level describes an envelope as
`Envelope.to_json` writes it, its ``type`` and ``body`` tied together (``oneOf`` one branch per
message type: ``type`` is the class's ``type_name``, ``body`` refers to its schema). Use it to
document a protocol, to write clients in other languages, or to build LLM tool definitions;
`AgentActor.protocol` gives the schemas of the types one agent class handles.

The catalog describes what is registered when it is called (import the modules that define
your messages first). A class whose fields have no JSON form (a field holding an `Envelope`
or a `Gather`, as runtime events do) cannot travel in JSON and is left out, and so is
`UnknownMessage`, which stands for types not registered here. An envelope whose ``type`` is
not in the catalog does not validate, as ``Envelope.from_json(text)`` refuses it by default.
"""

from __future__ import annotations

from typing import Any

from pydantic.errors import PydanticInvalidForJsonSchema
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from actors.messages import Message, Priority, UnknownMessage, registered_types

__all__ = ["message_schema", "schema_catalog"]

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_MODE: JsonSchemaMode = "validation"  # what a reader accepts

# The same limits `Envelope.from_dict` checks (actors._decode).
_ID = {"type": "string", "minLength": 1, "maxLength": 128}
_NULLABLE_ID = {"anyOf": [_ID, {"type": "null"}]}
_ADDRESS = {
    "type": "string",
    "minLength": 1,
    "maxLength": 69,
    "description": 'an address: "name", "role:name", "*" or "*:role"',
}
_NUMBER = {"type": "number"}

_UNKNOWN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "the raw body of a message type not registered in this process (actors.UnknownMessage)"
    ),
}


def message_schema(message_class: type[Message]) -> dict[str, Any]:
    """The JSON Schema of one message class's body, self-contained (its own ``$defs``).

    For `UnknownMessage` it is "any JSON object": the body it stands for is unknown.

    Raises:
        pydantic.errors.PydanticInvalidForJsonSchema: if a field has no JSON form.
    """
    if issubclass(message_class, UnknownMessage):
        return dict(_UNKNOWN_SCHEMA)
    return message_class.model_json_schema(mode=_MODE)


def _describable(message_class: type[Message]) -> bool:
    try:
        message_class.model_json_schema(mode=_MODE)
    except PydanticInvalidForJsonSchema:
        return False
    return True


def _envelope_properties() -> dict[str, Any]:
    priorities = [member.name.lower() for member in Priority]
    return {
        "id": _ID,
        "type": {
            "type": "string",
            "minLength": 1,
            "description": "the type_name of the body's message class",
        },
        "body": {"type": "object", "description": "the message, as its type's schema says"},
        "sender": {
            "anyOf": [{"type": "string", "minLength": 1, "maxLength": 64}, {"type": "null"}],
            "description": "the sending agent's name; null from outside the system",
        },
        "to": _ADDRESS,
        "include_self": {
            "type": "boolean",
            "description": "written only when true, for a broadcast in 'to'",
        },
        "kind": {"type": "string", "minLength": 1, "maxLength": 64},
        "priority": {
            "anyOf": [
                {"enum": priorities},
                {"type": "integer", "minimum": 0, "maximum": len(priorities) - 1},
            ]
        },
        "correlation_id": _NULLABLE_ID,
        "causation_id": _NULLABLE_ID,
        "reply_to": {"anyOf": [_ADDRESS, {"type": "null"}]},
        "reply_to_include_self": {
            "type": "boolean",
            "description": "written only when true, for a broadcast in 'reply_to'",
        },
        "created_at": {**_NUMBER, "description": "seconds since the epoch"},
        "deadline": {
            "anyOf": [_NUMBER, {"type": "null"}],
            "description": "seconds since the epoch, or null",
        },
    }


def schema_catalog() -> dict[str, Any]:
    """One JSON Schema document for the envelope and every registered message type.

    Returns:
        A draft 2020-12 schema: ``$defs`` has one entry per message class (pydantic's schema
        of it, references rewritten into this document); the top level is the envelope, with
        a ``oneOf`` that ties each ``type`` to its body's schema. Unknown envelope keys are
        allowed (newer writers may add fields), unknown ``type`` values are not. See the
        module docstring for the classes left out.
    """
    classes = sorted(
        (
            cls
            for cls in registered_types().values()
            if not cls.__module__.startswith(("actors._", "supervision._")) and _describable(cls)
        ),
        key=lambda cls: cls.type_name,
    )
    refs, top = models_json_schema(
        [(cls, _MODE) for cls in classes], ref_template="#/$defs/{model}"
    )
    branches = [
        {
            "properties": {
                "type": {"const": cls.type_name},
                "body": refs[(cls, _MODE)],
            },
        }
        for cls in classes
    ]
    return {
        "$schema": _DIALECT,
        "title": "regiment envelope",
        "description": "An actors.Envelope as Envelope.to_json writes it.",
        "type": "object",
        "properties": _envelope_properties(),
        "required": ["id", "type", "body", "to", "kind", "priority", "created_at"],
        "oneOf": branches,
        "$defs": top.get("$defs", {}),
    }
