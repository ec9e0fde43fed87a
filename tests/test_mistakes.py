"""Mistakes in defining agents and messages fail loudly, where they are made."""

from __future__ import annotations

import pydantic
import pytest

from actors.events import AgentStarted
from tests.messages import Note

# -- messages ---------------------------------------------------------------------------------


def test_a_message_with_a_misspelled_field_is_refused():
    with pytest.raises(pydantic.ValidationError, match="texxt"):
        Note(texxt="hello")  # type: ignore[call-arg]


def test_an_event_with_an_unknown_field_is_refused():
    with pytest.raises(pydantic.ValidationError, match="colour"):
        AgentStarted(system="s", name="a", kind="agent", restarts=0, colour="red")  # type: ignore[call-arg]
