"""TestProbe: each method passing, and failing with a message that says what did arrive."""

from __future__ import annotations

import pytest

from actors import AgentActor, DeadLetterReason, ExitReason, InvalidConfig, Message, handler
from actors.testing import TestProbe, expect_dead_letter


class Ping(Message):
    n: int = 0


class Pong(Message):
    n: int


class Echo(AgentActor):
    """Answers a Ping with a Pong to its sender (a told reply); an ask gets the Pong too."""

    @handler
    def on_ping(self, ping: Ping) -> None:
        self.reply(Pong(n=ping.n))


def test_expect_returns_the_envelope_of_the_matching_message(actor_system, probe):
    actor_system.spawn(Echo, name="echo")
    probe.send("echo", Ping(n=3))
    envelope = probe.expect(Pong, n=3)
    assert envelope.body == Pong(n=3)
    assert envelope.sender == "echo"


def test_send_makes_the_probe_the_sender_the_agent_sees(actor_system, probe):
    class Who(AgentActor):
        @handler
        def on_ping(self, ping: Ping) -> None:
            self.tell(self.context.sender, Pong(n=len(self.context.sender or "")))

    actor_system.spawn(Who, name="who")
    probe.send("who", Ping())
    probe.expect(Pong, n=len(probe.name))


def test_expect_fails_naming_the_message_that_came_instead(actor_system, probe):
    actor_system.tell(probe.name, Ping(n=1))
    actor_system.tell(probe.name, Ping(n=2))
    with pytest.raises(AssertionError) as failure:
        probe.expect(Pong, n=1)
    text = str(failure.value)
    assert "expected a Pong with n=1 but got Ping(n=1)" in text
    assert "still waiting in the probe:\n  Ping(n=2)" in text


def test_expect_fails_when_a_field_differs(actor_system, probe):
    actor_system.tell(probe.name, Pong(n=2))
    with pytest.raises(AssertionError, match=r"expected a Pong with n=1 but got Pong\(n=2\)"):
        probe.expect(Pong, n=1)


def test_expect_fails_when_nothing_arrives_and_lists_what_came_earlier(actor_system, probe):
    actor_system.tell(probe.name, Ping(n=7))
    probe.expect(Ping)
    with pytest.raises(AssertionError) as failure:
        probe.expect(Pong, timeout=0.05)
    text = str(failure.value)
    assert "expected a Pong within 0.05s but nothing arrived" in text
    assert "earlier it took: \n  Ping(n=7) from outside" in text


def test_expect_no_message_passes_when_nothing_arrives(probe):
    probe.expect_no_message(within=0.02)


def test_expect_no_message_fails_naming_what_arrived(actor_system, probe):
    actor_system.tell(probe.name, Ping(n=9))
    with pytest.raises(AssertionError, match=r"expected no message for 0.5s but got Ping\(n=9\)"):
        probe.expect_no_message(within=0.5)


def test_fish_for_skips_messages_until_one_matches(actor_system, probe):
    for n in range(5):
        actor_system.tell(probe.name, Ping(n=n))
    envelope = probe.fish_for(lambda m: isinstance(m, Ping) and m.n == 3)
    assert envelope.body == Ping(n=3)
    probe.expect(Ping, n=4)  # the ones after the match stay


def test_fish_for_fails_listing_what_it_skipped(actor_system, probe):
    actor_system.tell(probe.name, Ping(n=1))
    with pytest.raises(AssertionError) as failure:
        probe.fish_for(lambda m: isinstance(m, Pong), timeout=0.05)
    assert "no message matched; it skipped:\n  Ping(n=1) from outside" in str(failure.value)


def test_expect_terminated_sees_a_watched_agent_stop(actor_system, probe):
    ref = actor_system.spawn(Echo, name="echo")
    probe.watch("echo")
    assert ref.stop(timeout=5.0)
    terminated = probe.expect_terminated("echo")
    assert terminated.reason == ExitReason.NORMAL


def test_watching_an_agent_that_is_gone_gives_terminated_at_once(probe):
    probe.watch("ghost")
    assert probe.expect_terminated("ghost").reason == ExitReason.NOT_FOUND


def test_expect_terminated_fails_when_another_message_comes_first(actor_system, probe):
    actor_system.spawn(Echo, name="echo")
    probe.watch("echo")
    actor_system.tell(probe.name, Ping(n=1))
    with pytest.raises(AssertionError, match="expected a Terminated with name='echo' but got Ping"):
        probe.expect_terminated("echo", timeout=0.5)


def test_an_unwatched_agent_stopping_sends_nothing(actor_system, probe):
    ref = actor_system.spawn(Echo, name="echo")
    probe.watch("echo")
    probe.unwatch("echo")
    assert ref.stop(timeout=5.0)
    probe.expect_no_message(within=0.05)


def test_reply_answers_the_last_ask_the_probe_took(actor_system, probe):
    future = actor_system.ask_future(probe.name, Ping(n=1), timeout=5.0)
    probe.expect(Ping)
    assert probe.reply(Pong(n=1))
    assert future.get(timeout=5.0) == Pong(n=1)


def test_reply_without_an_ask_fails_saying_so(actor_system, probe):
    actor_system.tell(probe.name, Ping())
    probe.expect(Ping)
    with pytest.raises(AssertionError, match="has taken no ask to reply to"):
        probe.reply(Pong(n=0))


def test_a_probe_with_a_role_takes_role_sends_and_broadcasts(actor_system):
    probe = TestProbe(actor_system, "lead", roles=("qa",))
    actor_system.tell("role:qa", Ping(n=1))
    actor_system.broadcast(Ping(n=2))
    assert [probe.expect(Ping).body.n, probe.expect(Ping).body.n] == [1, 2]
    assert [e.body for e in probe.received] == [Ping(n=1), Ping(n=2)]


def test_probes_without_a_name_get_distinct_ones(actor_system):
    first, second = TestProbe(actor_system), TestProbe(actor_system)
    assert first.name != second.name
    assert first.name.startswith("probe-")


def test_a_bad_timeout_is_an_invalid_config(probe):
    with pytest.raises(InvalidConfig, match="timeout"):
        probe.expect(Ping, timeout=-1)
    with pytest.raises(InvalidConfig, match="within"):
        probe.expect_no_message(within=float("nan"))


def test_what_a_closed_probe_still_gets_is_dead_lettered(actor_system):
    probe = TestProbe(actor_system)
    probe.close()
    actor_system.tell(probe.name, Ping())
    letter = expect_dead_letter(actor_system, DeadLetterReason.STOPPED)
    assert letter.envelope.body == Ping()
