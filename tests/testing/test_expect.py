"""expect_event and expect_dead_letter: what a system published, before or after the call."""

from __future__ import annotations

import threading

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentCrashed,
    AgentStarted,
    DeadLetter,
    DeadLetterReason,
    Message,
    MessageHandled,
    handler,
)
from actors.testing import expect_dead_letter, expect_event


class Ping(Message):
    n: int = 0


class Other(Message):
    pass


class Quiet(AgentActor):
    @handler
    def on_ping(self, ping: Ping) -> None:
        pass


def test_expect_event_finds_an_event_published_before_the_call(actor_system):
    actor_system.spawn(Quiet, name="quiet")
    started = expect_event(actor_system, AgentStarted, name="quiet")
    assert started.kind == "agent"


def test_expect_event_waits_for_an_event_published_after_the_call(actor_system):
    # the spawn happens in another thread while expect_event waits
    spawner = threading.Thread(target=lambda: actor_system.spawn(Quiet, name="late"))
    spawner.start()
    try:
        assert expect_event(actor_system, AgentStarted, timeout=5.0, name="late").name == "late"
    finally:
        spawner.join(5.0)


def test_each_expectation_takes_its_own_event(actor_system):
    actor_system.spawn(Quiet, name="a")
    actor_system.spawn(Quiet, name="b")
    first = expect_event(actor_system, AgentStarted, kind="agent")
    second = expect_event(actor_system, AgentStarted, kind="agent")
    assert {first.name, second.name} == {"a", "b"}
    with pytest.raises(AssertionError):
        expect_event(actor_system, AgentStarted, timeout=0.02, kind="agent")


def test_expect_event_fails_listing_the_events_of_that_type(actor_system):
    actor_system.spawn(Quiet, name="quiet")
    with pytest.raises(AssertionError) as failure:
        expect_event(actor_system, AgentStarted, timeout=0.02, name="nobody")
    text = str(failure.value)
    assert "expected a AgentStarted event with name='nobody' within 0.02s" in text
    assert "AgentStarted(name='quiet', kind='agent', restarts=0)" in text


def test_expect_event_says_when_no_event_of_the_type_came_at_all(actor_system):
    with pytest.raises(AssertionError, match="the system published no AgentCrashed at all"):
        expect_event(actor_system, AgentCrashed, timeout=0.01)


def test_traffic_events_are_seen_from_their_first_expectation_on(actor_system):
    actor_system.spawn(Quiet, name="quiet")
    actor_system.ask("quiet", Ping(), timeout=5.0)  # not recorded: nobody expected traffic yet
    with pytest.raises(AssertionError):
        expect_event(actor_system, MessageHandled, timeout=0.01)
    actor_system.ask("quiet", Ping(n=1), timeout=5.0)
    handled = expect_event(actor_system, MessageHandled, agent="quiet", timeout=5.0)
    assert handled.message_type.endswith(".Ping")


def test_expect_dead_letter_takes_one_by_reason(actor_system):
    actor_system.spawn(Quiet, name="quiet")
    actor_system.tell("quiet", Other())
    actor_system.tell("nobody", Ping())
    letter = expect_dead_letter(actor_system, "unhandled", timeout=5.0)
    assert isinstance(letter.envelope.body, Other)
    unknown = expect_dead_letter(actor_system, DeadLetterReason.UNKNOWN_ADDRESS)
    assert unknown.envelope.body == Ping()


def test_expect_dead_letter_can_ask_for_a_message_type(actor_system):
    actor_system.tell("nobody", Ping())
    actor_system.tell("nobody", Other())
    letter = expect_dead_letter(actor_system, "unknown_address", message_type=Other)
    assert isinstance(letter.envelope.body, Other)
    expect_dead_letter(actor_system, "unknown_address", message_type=Ping)


def test_expect_dead_letter_fails_listing_the_dead_letters_there_were(actor_system):
    actor_system.tell("nobody", Ping())
    with pytest.raises(AssertionError) as failure:
        expect_dead_letter(actor_system, "unhandled", timeout=0.02)
    text = str(failure.value)
    assert "expected a DeadLetter event with reason='unhandled'" in text
    assert "reason=<DeadLetterReason.UNKNOWN_ADDRESS: 'unknown_address'>" in text
    expect_dead_letter(actor_system, "unknown_address")


def test_expect_dead_letter_refuses_an_unknown_reason(actor_system):
    with pytest.raises(ValueError, match="lost"):
        expect_dead_letter(actor_system, "lost")


def test_a_system_of_ones_own_records_from_its_first_expectation(logs):
    with ActorSystem("own") as system:
        system.testing.record()
        system.tell("nobody", Ping())
        assert isinstance(expect_dead_letter(system, "unknown_address"), DeadLetter)


def test_an_event_subclass_defined_later_is_recorded_once(actor_system):
    class Special(AgentCrashed):  # defined after the record began: AgentCrashed covers it
        pass

    with pytest.raises(AssertionError):
        expect_event(actor_system, Special, timeout=0.01)
    actor_system.events.publish(
        Special(system="test", name="x", error="e", error_type="builtins.RuntimeError")
    )
    expect_event(actor_system, Special, timeout=1.0)
    with pytest.raises(AssertionError):
        expect_event(actor_system, Special, timeout=0.01)
    assert len(actor_system.testing.record().events(Special)) == 1
