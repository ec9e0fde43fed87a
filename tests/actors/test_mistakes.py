"""Mistakes in defining agents and messages fail loudly, where they are made."""

from __future__ import annotations

import pydantic
import pytest

from actors import AgentActor, StartFailed, handler
from actors.events import AgentStarted
from tests.helpers import WAIT
from tests.messages import Note, Ping

# -- class creation ---------------------------------------------------------------------------


def test_two_handlers_for_one_type_in_a_class_body_are_refused_naming_both():
    with pytest.raises(TypeError, match=r"Twice\.first and .*Twice\.second both handle Ping"):

        class Twice(AgentActor):
            @handler
            def first(self, msg: Ping) -> None: ...

            @handler
            def second(self, msg: Ping) -> None: ...


def test_a_union_member_that_another_handler_takes_is_refused():
    with pytest.raises(TypeError, match=r"on_either and .*on_note both handle Note"):

        class Overlap(AgentActor):
            @handler
            def on_either(self, msg: Ping | Note) -> None: ...

            @handler
            def on_note(self, msg: Note) -> None: ...


def test_an_explicit_type_that_a_hinted_handler_takes_is_refused():
    with pytest.raises(TypeError, match=r"on_ping and .*explicit both handle Ping"):

        class Explicit(AgentActor):
            @handler
            def on_ping(self, msg: Ping) -> None: ...

            @handler(Ping)
            def explicit(self, msg) -> None: ...  # type: ignore[no-untyped-def]


def test_overriding_on_receive_is_refused_and_points_to_handler():
    with pytest.raises(TypeError, match=r"Legacy overrides on_receive.*@actors\.handler"):

        class Legacy(AgentActor):
            def on_receive(self, message: object) -> None: ...


# -- messages ---------------------------------------------------------------------------------


def test_a_message_with_a_misspelled_field_is_refused():
    with pytest.raises(pydantic.ValidationError, match="texxt"):
        Note(texxt="hello")  # type: ignore[call-arg]


def test_an_event_with_an_unknown_field_is_refused():
    with pytest.raises(pydantic.ValidationError, match="colour"):
        AgentStarted(system="s", name="a", kind="agent", restarts=0, colour="red")  # type: ignore[call-arg]


# -- spawning ---------------------------------------------------------------------------------


class Plain(AgentActor):
    """No __init__ of its own: it takes no arguments."""

    @handler
    def on_ping(self, msg: Ping) -> int:
        return msg.n


class Forgetful(AgentActor):
    """Its __init__ forgets super().__init__()."""

    def __init__(self) -> None:
        self.ready = True


def test_spawn_arguments_the_agent_does_not_take_fail_the_start(system):
    with pytest.raises(StartFailed) as info:
        system.spawn(Plain, 1, x=2, name="plain")
    cause = info.value.__cause__
    assert isinstance(cause, TypeError)
    assert "Plain got arguments its __init__ does not take: (1, x=2)" in str(cause)
    assert system.spawn(Plain, name="plain").ask(Ping(n=3), timeout=WAIT) == 3  # name freed


def test_an_init_that_forgot_super_init_fails_the_start_saying_so(system):
    with pytest.raises(StartFailed) as info:
        system.spawn(Forgetful, name="forgetful")
    cause = info.value.__cause__
    assert isinstance(cause, TypeError)
    assert "Forgetful.__init__ did not call super().__init__()" in str(cause)
