"""Fuzzing `Envelope.from_json` at volume: only `InvalidEnvelope` ever escapes, and a system
routes normally afterwards.

`tests/actors/test_envelope_hostile.py` holds the strategies and the per-defect tests; here
they run at the suite's size (``--full``: 100,000 examples each) together with structural
mutations of valid envelopes: renamed, retyped and duplicated fields, a wrong or foreign
``type``, huge strings and deep nesting inside the body.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors import ActorSystem, AgentActor, Envelope, InvalidEnvelope, handler
from tests.actors.test_envelope_hostile import (
    BASES,
    FIELDS,
    TYPE_NAMES,
    hostile_documents,
    json_values,
    texts,
)
from tests.reliability.ledger import Work

pytestmark = pytest.mark.slow


def checked(text: str | bytes) -> None:
    """The property: an Envelope that writes back, or an InvalidEnvelope naming a field."""
    try:
        envelope = Envelope.from_json(text)
    except InvalidEnvelope as exc:
        error = exc
    else:
        assert type(envelope) is Envelope
        assert Envelope.from_json(envelope.to_json()).id == envelope.id
        return
    assert isinstance(error.field, str)
    assert error.field
    assert len(str(error)) < 10_000


HUGE = ["x" * 1_000_000, "\u00e9" * 200_000, "1" * 5_000]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid envelope's JSON with one structural mutation."""
    data: dict[str, Any] = draw(st.sampled_from(BASES))()
    field = draw(st.sampled_from(FIELDS))
    how = draw(
        st.sampled_from(["rename", "retype", "type", "huge", "nest", "body-key", "duplicate"])
    )
    if how == "rename" and field in data:
        data[draw(st.text(max_size=12))] = data.pop(field)
    elif how == "retype" and field in data:
        value = data[field]
        data[field] = draw(
            st.sampled_from([[value], {"value": value}, str(value), 0, 1.5, True, None])
        )
    elif how == "type":
        data["type"] = draw(
            st.sampled_from(TYPE_NAMES) | st.text(max_size=30) | st.sampled_from(["", "Work", "*"])
        )
    elif how == "huge":
        data[field] = draw(st.sampled_from(HUGE))
    elif how == "nest":
        data["body"] = "<nest>"  # spliced into the text below: deeper than json.dumps goes
    elif how == "body-key":
        data["body"] = {**data["body"], draw(st.text(max_size=12)): draw(json_values)}
    text = json.dumps(data)
    if how == "nest":
        depth = draw(st.integers(1, 20_000))
        text = text.replace('"<nest>"', '{"x": ' + "[" * depth + "]" * depth + "}")
    if how == "duplicate":  # JSON allows repeated keys; the last one wins
        text = text[:-1] + f", {json.dumps(field)}: {json.dumps(draw(json_values))}" + "}"
    return text


def to_text(document: object) -> str | None:
    try:
        return json.dumps(document)
    except (ValueError, RecursionError):
        return None


class Echo(AgentActor):
    @handler
    def on_work(self, work: Work) -> int:
        return work.id


def routes_normally() -> None:
    with ActorSystem("after-fuzz") as system:
        system.spawn(Echo, name="echo")
        assert system.ask("echo", Work(id=42), timeout=10) == 42
        assert system.dead_letter_counts() == {}


@pytest.mark.timeout(60)
def test_fuzzing_from_json_with_arbitrary_documents_raises_only_invalid_envelope(size):
    @settings(
        max_examples=size.fuzz_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(hostile_documents())
    def fuzz(document: object) -> None:
        text = to_text(document)
        if text is not None:
            checked(text)

    fuzz()
    routes_normally()


@pytest.mark.timeout(60)
def test_fuzzing_from_json_with_mutated_valid_envelopes_raises_only_invalid_envelope(size):
    @settings(
        max_examples=size.fuzz_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(mutated())
    def fuzz(text: str) -> None:
        checked(text)

    fuzz()
    routes_normally()


@pytest.mark.timeout(60)
def test_fuzzing_from_json_with_arbitrary_text_and_bytes_raises_only_invalid_envelope(size):
    @settings(
        max_examples=size.fuzz_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(texts)
    def fuzz(text: str | bytes) -> None:
        checked(text)

    fuzz()
    routes_normally()
