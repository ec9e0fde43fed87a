"""Handler declaration and dispatch by the message's type."""

from __future__ import annotations

import pytest

from actors import AgentActor, DeadLetterReason, Message, handler
from actors.testing import TestProbe
from tests.helpers import WAIT
from tests.messages import Note, Ping


class Base(Message):
    x: int = 0


class Derived(Base):
    pass


class Other(Message):
    pass


class Dispatcher(AgentActor):
    @handler
    def on_ping_or_note(self, msg: Ping | Note) -> str:
        return f"union:{type(msg).__name__}"

    @handler(Other)
    def explicit(self, msg) -> str:  # type: ignore[no-untyped-def]
        return "explicit"

    @handler
    def on_base(self, msg: Base) -> str:
        return f"base:{type(msg).__name__}"


class Child(Dispatcher):
    @handler
    def on_note_again(self, msg: Note) -> str:
        return "child-note"


def test_a_union_hint_registers_every_member(system):
    system.spawn(Dispatcher, name="d")
    assert system.ask("d", Ping(), timeout=5) == "union:Ping"
    assert system.ask("d", Note(), timeout=5) == "union:Note"


def test_explicit_types_need_no_hint(system):
    system.spawn(Dispatcher, name="d")
    assert system.ask("d", Other(), timeout=5) == "explicit"


def test_a_subclass_message_goes_to_its_nearest_base_handler(system):
    system.spawn(Dispatcher, name="d")
    assert system.ask("d", Derived(), timeout=5) == "base:Derived"


def test_subclass_agents_inherit_and_override_handlers(system):
    system.spawn(Child, name="c")
    assert system.ask("c", Note(), timeout=5) == "child-note"
    assert system.ask("c", Ping(), timeout=5) == "union:Ping"
    assert system.ask("c", Other(), timeout=5) == "explicit"


def test_an_unhandled_tell_is_dead_lettered_as_unhandled(system):
    class OnlyPing(AgentActor):
        @handler
        def on_ping(self, msg: Ping) -> None:
            pass

    system.spawn(OnlyPing, name="p")
    system.tell("p", Note(text="nobody handles me"))
    system.ask("p", Ping(), timeout=5)
    [letter] = system.dead_letters()
    assert letter.reason is DeadLetterReason.UNHANDLED
    assert letter.envelope.body == Note(text="nobody handles me")


def test_on_unhandled_can_be_overridden(system):
    got: list[str] = []

    class Catcher(AgentActor):
        def on_unhandled(self, envelope) -> None:  # type: ignore[no-untyped-def]
            got.append(type(envelope.body).__name__)

        @handler
        def on_ping(self, msg: Ping) -> None:
            pass

    system.spawn(Catcher, name="c")
    system.tell("c", Note())
    system.ask("c", Ping(), timeout=5)
    assert got == ["Note"]
    assert system.dead_letters() == []


def test_a_handler_for_a_non_message_type_is_refused_at_class_creation():
    with pytest.raises(TypeError, match=r"not an actors\.Message"):

        class Bad(AgentActor):
            @handler
            def on_str(self, msg: str) -> None:
                pass


def test_a_handler_without_a_hint_is_refused_at_class_creation():
    with pytest.raises(TypeError, match="no type hint"):

        class Bad(AgentActor):
            @handler
            def on_x(self, msg) -> None:  # type: ignore[no-untyped-def]
                pass


def test_an_unresolvable_hint_is_a_clear_error():
    with pytest.raises(TypeError, match="@handler"):

        class Bad(AgentActor):
            @handler
            def on_x(self, msg: DoesNotExist) -> None:  # type: ignore[name-defined]  # noqa: F821
                pass


def test_hints_may_name_classes_local_to_a_function(system):
    class Local(Message):
        value: int

    class UsesLocal(AgentActor):
        @handler
        def on_local(self, msg: Local) -> int:
            return msg.value * 2

    system.spawn(UsesLocal, name="u")
    assert system.ask("u", Local(value=21), timeout=5) == 42


def test_roles_must_be_valid_at_class_creation():
    from actors import InvalidAddress

    with pytest.raises(InvalidAddress):

        class Bad(AgentActor):
            roles = ("Not Valid",)

    with pytest.raises(TypeError, match="tuple"):

        class AlsoBad(AgentActor):
            roles = "coder"  # type: ignore[assignment]


def test_context_describes_the_agent_and_the_current_message(system):
    class Introspective(AgentActor):
        roles = ("probe",)

        @handler
        def on_ping(self, msg: Ping) -> tuple:
            ctx = self.context
            return (ctx.name, sorted(ctx.roles), ctx.sender, ctx.restarts, ctx.message_id)

    system.spawn(Introspective, name="i")
    name, roles, sender, restarts, message_id = system.ask("i", Ping(), timeout=5)
    assert (name, roles, sender, restarts) == ("i", ["probe"], None, 0)
    assert isinstance(message_id, str)


def test_sender_and_causation_are_filled_in_for_sends_from_a_handler(system):
    class Forwarder(AgentActor):
        @handler
        def on_ping(self, msg: Ping) -> str:
            self.tell("sink", Note(text="fwd"))
            return self.context.envelope.id

    sink = TestProbe(system, "sink")
    system.spawn(Forwarder, name="fwd")
    request_id = system.ask("fwd", Ping(), timeout=5)
    envelope = sink.expect(Note, text="fwd", timeout=WAIT)
    assert envelope.sender == "fwd"
    assert envelope.causation_id == request_id
    assert envelope.correlation_id == request_id  # inherited from the ask it was handling
