"""Deadlines: an ask's timeout stamps its envelope; an envelope past it is skipped, not handled."""

from __future__ import annotations

import pytest

from actors import AgentActor, AskTimeout, DeadLetterReason, Mailbox, Priority, handler
from tests.helpers import open_every_gate, park
from tests.messages import Blocker, Note, Ping, Pong


@pytest.fixture(autouse=True)
def _open_every_gate_after_the_test(manual_system):
    yield
    open_every_gate()


class DeadlineReader(AgentActor):
    @handler
    def on_ping(self, msg: Ping) -> float | None:
        envelope = self.context.envelope
        assert envelope is not None
        return envelope.deadline


def expired(system) -> list:
    return [d.envelope.body for d in system.dead_letters() if d.reason is DeadLetterReason.EXPIRED]


def test_an_ask_stamps_its_envelope_with_a_deadline_from_its_timeout(manual_system, clock):
    ref = manual_system.spawn(DeadlineReader, name="reader")

    assert ref.ask(Ping(), timeout=7.0) == clock.time() + 7.0
    assert manual_system.ask("reader", Ping(), timeout=3.0) == clock.time() + 3.0


def test_an_ask_future_without_timeout_carries_no_deadline(manual_system):
    ref = manual_system.spawn(DeadlineReader, name="reader")

    assert ref.ask_future(Ping()).get(timeout=5) is None


def test_an_ask_whose_deadline_passed_while_queued_is_skipped_and_dead_lettered(
    manual_system, clock
):
    seen: list = []
    ref = manual_system.spawn(Blocker, seen, name="slow")
    release = park(ref, "slow")
    late = ref.ask_future(Ping(n=1), timeout=30.0)

    clock.advance(31.0)
    release.set()

    with pytest.raises(AskTimeout, match="expired"):
        late.get(timeout=5)
    assert ref.ask(Ping(n=2), timeout=5) == Pong(n=2, by="slow")
    assert [m for _, m in seen] == [Ping(n=2)], "the expired ask's handler ran"
    assert expired(manual_system) == [Ping(n=1)]


def test_an_ask_still_within_its_deadline_is_handled(manual_system, clock):
    ref = manual_system.spawn(Blocker, name="slow")
    release = park(ref, "slow")
    in_time = ref.ask_future(Ping(n=1), timeout=30.0)

    clock.advance(29.0)
    release.set()

    assert in_time.get(timeout=5) == Pong(n=1, by="slow")
    assert expired(manual_system) == []


def test_only_the_expired_asks_among_queued_messages_are_skipped(manual_system, clock):
    seen: list = []
    ref = manual_system.spawn(Blocker, seen, name="slow")
    release = park(ref, "slow")
    short = ref.ask_future(Ping(n=1), timeout=5.0)
    ref.tell(Note(text="told"))
    long = ref.ask_future(Ping(n=2), timeout=60.0)

    clock.advance(10.0)
    release.set()

    assert long.get(timeout=5) == Pong(n=2, by="slow")
    with pytest.raises(AskTimeout):
        short.get(timeout=5)
    assert [m for _, m in seen] == [Note(text="told"), Ping(n=2)]
    assert expired(manual_system) == [Ping(n=1)]


def test_a_told_message_never_expires(manual_system, clock):
    seen: list = []
    ref = manual_system.spawn(Blocker, seen, name="slow")
    release = park(ref, "slow")
    ref.tell(Note(text="old news"))

    clock.advance(10**6)
    release.set()

    ref.ask(Ping(n=0), timeout=5)
    assert [m for _, m in seen] == [Note(text="old news"), Ping(n=0)]
    assert expired(manual_system) == []


def test_an_expired_ask_in_a_priority_mailbox_is_skipped_too(manual_system, clock):
    seen: list = []
    ref = manual_system.spawn(Blocker, seen, name="slow", mailbox=Mailbox(priority=True))
    release = park(ref, "slow")
    late = ref.ask_future(Ping(n=1), timeout=1.0, priority=Priority.CRITICAL)

    clock.advance(2.0)
    release.set()

    with pytest.raises(AskTimeout):
        late.get(timeout=5)
    ref.ask(Ping(n=2), timeout=5)
    assert [m for _, m in seen] == [Ping(n=2)]
    assert expired(manual_system) == [Ping(n=1)]
