"""Envelope decoding on hostile input: an Envelope or InvalidEnvelope, never anything else."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import field_validator, model_validator

from actors import (
    Broadcast,
    DeadLetter,
    DeadLetterReason,
    Direct,
    Envelope,
    InvalidEnvelope,
    Message,
    Priority,
    Role,
)
from tests.messages import Ping


class Report(Message):
    type_name = "hostile.report"
    title: str
    lines: list[str] = []
    score: float | None = None


TOUCHY_ERRORS = (RuntimeError, TypeError, KeyError, ZeroDivisionError, LookupError)


class Touchy(Message):
    """Its validator raises exceptions pydantic does not wrap."""

    type_name = "hostile.touchy"
    code: int = 0

    @field_validator("code")
    @classmethod
    def _explode(cls, code: int) -> int:
        if code < 0:
            raise TOUCHY_ERRORS[-code % len(TOUCHY_ERRORS)]("refused")
        return code


class Pair(Message):
    """Also accepts a two-element list: a body that is not a JSON object must still fail."""

    type_name = "hostile.pair"
    x: int
    y: int

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: object) -> object:
        if isinstance(value, list) and len(value) == 2:
            return {"x": value[0], "y": value[1]}
        return value


def _report_envelope() -> Envelope:
    return Envelope(
        Report(title="t", lines=["a"], score=0.5),
        Broadcast(role="coder", include_self=True),
        sender="orchestrator",
        correlation_id="conv-1",
        causation_id="env-0",
        reply_to=Direct("orchestrator"),
        deadline=1_900_000_000.5,
        priority=Priority.HIGH,
    )


def _valid() -> dict[str, Any]:
    return _report_envelope().to_dict()


BASES = [
    _valid,
    lambda: Envelope(
        Touchy(code=1), Role("coder"), reply_to=Broadcast(include_self=True)
    ).to_dict(),
    lambda: Envelope(Pair(x=1, y=2), Direct("a")).to_dict(),
    lambda: Envelope(
        DeadLetter(system="s", envelope=_report_envelope(), reason=DeadLetterReason.STOPPED),
        Direct("a"),
    ).to_dict(),
]
TYPE_NAMES = ["hostile.report", "hostile.touchy", "hostile.pair", Ping.type_name]
TYPE_NAMES.append(DeadLetter.type_name)
FIELDS = [*_valid(), "reply_to_include_self", "unknown"]


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def _decodes_or_refuses(decode: Any, argument: object) -> None:
    """The property: ``decode(argument)`` returns an Envelope or raises InvalidEnvelope."""
    try:
        envelope = decode(argument)
    except InvalidEnvelope as exc:
        error = exc
    else:
        assert type(envelope) is Envelope
        copy = Envelope.from_json(envelope.to_json())  # whatever is accepted can be written back
        assert (copy.id, copy.to, copy.reply_to) == (envelope.id, envelope.to, envelope.reply_to)
        return
    assert isinstance(error.field, str)
    assert error.field
    assert len(str(error)) < 10_000  # a hostile value is summarised, not echoed


# -- one test per known defect ---------------------------------------------------------------------


def _refused(data: dict[str, Any] | str, field: str) -> InvalidEnvelope:
    decode = Envelope.from_json if isinstance(data, str) else Envelope.from_dict
    with pytest.raises(InvalidEnvelope) as info:
        decode(data)
    assert info.value.field == field
    return info.value


@pytest.mark.parametrize("field", ["created_at", "deadline"])
@pytest.mark.parametrize("value", [2**1024, -(2**1024)])
def test_a_timestamp_too_large_for_a_float_is_an_invalid_envelope(field, value):
    data = _valid()
    data[field] = value
    _refused(json.dumps(data), field)


@pytest.mark.parametrize("field", ["created_at", "deadline"])
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_timestamp_is_an_invalid_envelope(field, literal):
    data = _valid()
    data[field] = float(literal)
    text = json.dumps(data)  # json writes (and reads) the non-standard literals
    assert f'"{field}": {literal}' in text
    _refused(text, field)


@pytest.mark.parametrize("opening", ["[", '{"a":', '{"body":'])
def test_json_nested_too_deeply_for_the_parser_is_an_invalid_envelope(opening):
    error = _refused(opening * 100_000, "<json>")
    assert "nested too deeply" in str(error)


def test_a_null_to_is_an_invalid_envelope_naming_to():
    data = _valid()
    data["to"] = None
    data.pop("include_self")
    assert "'to'" in str(_refused(data, "to"))


@pytest.mark.parametrize("field", ["id", "correlation_id", "causation_id"])
@pytest.mark.parametrize("value", ["", "x" * 129])
def test_ids_must_be_non_empty_strings_of_at_most_128_characters(field, value):
    data = _valid()
    data[field] = "x" * 128
    assert getattr(Envelope.from_dict(data), field) == "x" * 128
    data[field] = value
    _refused(data, field)


def test_a_null_id_is_an_invalid_envelope():
    data = _valid()
    data["id"] = None
    _refused(data, "id")


@pytest.mark.parametrize("code", [-1, -2, -3, -4, -5])
def test_an_exception_from_a_message_validator_is_an_invalid_envelope_on_body(code):
    data = BASES[1]()
    data["body"] = {"code": code}
    error = _refused(data, "body")
    assert type(error.__cause__) is TOUCHY_ERRORS[-code % len(TOUCHY_ERRORS)]


def test_a_body_that_is_not_a_json_object_is_refused_even_if_the_class_would_take_it():
    data = BASES[2]()
    data["body"] = [3, 4]
    _refused(json.dumps(data), "body")
    data["body"] = Pair(x=3, y=4)
    _refused(data, "body")


@pytest.mark.parametrize(
    "field",
    ["id", "type", "sender", "to", "kind", "priority", "correlation_id", "reply_to", "deadline"],
)
def test_a_value_whose_repr_fails_is_still_an_invalid_envelope(field):
    # repr() refuses integers of more than 4300 digits and recursion beyond the stack.
    for value in (10**5000, _nested(20_000)):
        data = _valid()
        data[field] = value
        _refused(data, field)


def test_a_huge_string_is_summarised_in_the_error_message():
    data = _valid()
    data["kind"] = "k" * 1_000_000
    assert len(str(_refused(data, "kind"))) < 200


# -- fuzzing ---------------------------------------------------------------------------------------

# Values at the edges, drawn as often as all the generated ones together.
EDGES = [
    *(None, True, False, 0, -1, -3, 2**1024, -(2**1024), 2**63, -(2**63) - 1, 10**300),
    *(math.nan, math.inf, -math.inf, -0.0, 1e308),
    *("", "*", "*:coder", "role:coder", "role:", "a", "x" * 200, "low", "NaN", "\ud800"),
    *([], {}, [[[]]], {"": None}),
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(300, 4200).map(lambda digits: -(10**digits)),  # repr() stops at 4300
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(TYPE_NAMES),
)
json_values = st.sampled_from(EDGES) | st.one_of(
    st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=20,
    ),
    st.integers(1, 1500).map(_nested),
)


@st.composite
def hostile_documents(draw: st.DrawFn) -> object:
    """A whole arbitrary document, or a valid one with fields replaced, deleted or mutated."""
    shape = draw(st.sampled_from(["whole", "field", "delete", "body", "body-field"]))
    if shape == "whole":
        return draw(json_values)
    data: dict[str, Any] = draw(st.sampled_from(BASES))()
    if shape == "field":
        for field in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3)):
            data[field] = draw(json_values)
    elif shape == "delete":
        for field in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3)):
            data.pop(field, None)
    elif shape == "body":
        data["body"] = draw(json_values)
    else:
        body = data["body"]
        keys = [*body, "extra"]
        for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3)):
            if draw(st.booleans()):
                body[key] = draw(json_values)
            else:
                body.pop(key, None)
    return data


def _to_text(document: object) -> str | None:
    try:
        return json.dumps(document)
    except (ValueError, RecursionError):  # a 5000-digit integer, or nesting json refuses
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_documents())
def test_any_json_value_as_document_or_field_gives_an_envelope_or_invalid_envelope(document):
    _decodes_or_refuses(Envelope.from_dict, document)
    text = _to_text(document)
    if text is not None:
        _decodes_or_refuses(Envelope.from_json, text)


def _spliced(valid: str, cut: int, insert: str) -> str:
    return valid[:cut] + insert + valid[cut:]


texts = st.one_of(
    st.text(),
    st.binary(),
    st.text().map(lambda text: text.encode("utf-16")),
    st.builds(
        lambda opening, depth: opening * depth,
        st.sampled_from(["[", '{"a":']),
        st.integers(0, 5000),
    ),
    st.builds(
        _spliced,
        st.sampled_from([json.dumps(base()) for base in BASES]),
        st.integers(0, 400),
        st.sampled_from(["NaN", "-Infinity", "1e999", "null", '"', "[", "{", ",", "}", "\\ud800"]),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_any_text_or_bytes_gives_an_envelope_or_invalid_envelope(text):
    _decodes_or_refuses(Envelope.from_json, text)
