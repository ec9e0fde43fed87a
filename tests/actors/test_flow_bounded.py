"""Bounded mailboxes: capacity, the four overflow policies, and what senders see."""

from __future__ import annotations

import threading
import time

import pytest

from actors import (
    AgentActor,
    AgentCrashed,
    DeadLetter,
    DeadLetterReason,
    Mailbox,
    MailboxFull,
    Message,
    Overflow,
    Priority,
    handler,
)
from actors.testing import expect_event
from tests.helpers import WAIT, park, record_events, tell_from_a_thread, texts
from tests.messages import Block, Blocker, Note, Ping, Pong, gate

pytestmark = pytest.mark.usefixtures("gates_opened")


class Tally(Blocker):
    """A Blocker that releases ``handled`` once per Note it handled."""

    def __init__(self, seen: list, handled: threading.Semaphore) -> None:
        super().__init__(seen)
        self.handled = handled

    @handler
    def on_note(self, msg: Note) -> None:
        self.seen.append((self.name, msg))
        self.handled.release()


def settle(ref, handled: threading.Semaphore, notes: int) -> None:
    """Wait until ``notes`` notes were handled, then for everything queued behind them."""
    for _ in range(notes):
        assert handled.acquire(timeout=5), "the agent did not handle the expected notes"
    ref.ask(Ping(n=0), timeout=5)


def full_letters(system) -> list[Message]:
    return [
        d.envelope.body for d in system.dead_letters() if d.reason is DeadLetterReason.MAILBOX_FULL
    ]


def bounded(system, name: str, seen: list | None = None, **settings):
    """A parked Tally with a bounded mailbox; returns (ref, release, handled)."""
    handled = threading.Semaphore(0)
    ref = system.spawn(
        Tally, seen if seen is not None else [], handled, name=name, mailbox=Mailbox(**settings)
    )
    return ref, park(ref, name), handled


# -- FAIL ---------------------------------------------------------------------------------------


def test_fail_refuses_a_message_at_once_when_full_and_dead_letters_it(system):
    seen: list = []
    ref, release, handled = bounded(system, "strict", seen, capacity=2, overflow=Overflow.FAIL)
    assert ref.tell(Note(text="1")) == 1
    assert ref.tell(Note(text="2")) == 1
    started = time.monotonic()
    with pytest.raises(MailboxFull) as info:
        ref.tell(Note(text="3"))
    assert time.monotonic() - started < 0.5, "FAIL must not wait"
    assert info.value.agent == "strict"
    assert info.value.capacity == 2
    assert info.value.envelope is not None
    assert info.value.envelope.body == Note(text="3")
    assert full_letters(system) == [Note(text="3")]
    release.set()
    settle(ref, handled, 2)
    assert texts(seen) == ["1", "2"]


def test_fail_refuses_an_ask_with_mailbox_full_at_the_caller(system):
    ref, release, _ = bounded(system, "strict", capacity=1, overflow=Overflow.FAIL)
    ref.tell(Note(text="1"))
    with pytest.raises(MailboxFull) as info:
        ref.ask(Ping(n=1), timeout=5)
    assert info.value.agent == "strict"
    assert info.value.capacity == 1
    assert full_letters(system) == [Ping(n=1)]
    release.set()


# -- BLOCK --------------------------------------------------------------------------------------


def test_block_raises_mailbox_full_once_block_timeout_has_passed(system):
    ref, release, _ = bounded(system, "patient", capacity=1, block_timeout=0.2)
    assert ref.tell(Note(text="1")) == 1
    started = time.monotonic()
    with pytest.raises(MailboxFull, match=r"still full after waiting 0\.2s") as info:
        ref.tell(Note(text="2"))
    waited = time.monotonic() - started
    assert 0.2 <= waited < 5
    assert info.value.agent == "patient"
    assert info.value.capacity == 1
    assert full_letters(system) == [Note(text="2")]
    release.set()


def test_block_lets_a_waiting_sender_in_as_soon_as_the_agent_takes_a_message(system):
    seen: list = []
    ref, release_first, _ = bounded(system, "patient", seen, capacity=1, block_timeout=30.0)
    second_entered, release_second = gate("patient-2")
    assert ref.tell(Block(key="patient-2")) == 1  # fills the only place
    sender, done, told = tell_from_a_thread(ref, "late")
    assert not done.wait(0.2), "a tell to a full BLOCK mailbox must wait for room"

    release_first.set()
    assert second_entered.wait(5)  # the agent took the queued Block: there is room now
    assert done.wait(5), "the blocked sender was not let in when room freed up"
    sender.join(5)
    assert told == [1]
    assert ref.mailbox_size() == 1
    release_second.set()
    ref.ask(Ping(n=0), timeout=5)
    assert texts(seen) == ["late"]
    assert full_letters(system) == []


def test_an_agent_telling_itself_into_its_own_full_block_mailbox_fails_at_once(system):
    class SelfTeller(AgentActor):
        mailbox = Mailbox(capacity=1, block_timeout=30.0)

        @handler
        def on_ping(self, msg: Ping) -> tuple:
            self.tell(self.name, Note(text="first"))
            started = time.monotonic()
            try:
                self.tell(self.name, Note(text="second"))
            except MailboxFull as exc:
                return ("MailboxFull", exc.agent, exc.capacity, time.monotonic() - started)
            return ("no error",)

        @handler
        def on_note(self, msg: Note) -> None:
            pass

    ref = system.spawn(SelfTeller, name="narcissus")
    outcome = ref.ask(Ping(), timeout=10)
    assert outcome[:3] == ("MailboxFull", "narcissus", 1)
    assert outcome[3] < 1.0, "the agent waited for room only it could make"
    assert full_letters(system) == [Note(text="second")]


class Flood(Message):
    peer: str
    count: int = 3


FLOODS_DONE: dict[str, threading.Event] = {}


class Flooder(Blocker):
    """Sends ``count`` notes to its peer from one handler."""

    mailbox = Mailbox(capacity=1, block_timeout=0.5)

    @handler
    def on_flood(self, msg: Flood) -> None:
        try:
            for i in range(msg.count):
                self.tell(msg.peer, Note(text=f"{self.name}-{i}"))
        finally:
            FLOODS_DONE[self.name].set()


def test_two_full_agents_telling_each_other_do_not_deadlock(system):
    left = system.spawn(Flooder, name="left")
    right = system.spawn(Flooder, name="right")
    FLOODS_DONE["left"], FLOODS_DONE["right"] = threading.Event(), threading.Event()
    release_left, release_right = park(left, "left"), park(right, "right")
    left.tell(Flood(peer="right"))  # each mailbox is now full
    right.tell(Flood(peer="left"))
    release_left.set()
    release_right.set()

    # Unless a sender gives up on the full mailbox, the agents are deadlocked.
    expect_event(system, AgentCrashed, error_type="actors.errors.MailboxFull", timeout=WAIT)
    assert FLOODS_DONE["left"].wait(10)
    assert FLOODS_DONE["right"].wait(10)
    assert left.ask(Ping(n=1), timeout=10) == Pong(n=1, by="left")
    assert right.ask(Ping(n=2), timeout=10) == Pong(n=2, by="right")
    failed = [d for d in system.dead_letters() if d.reason is DeadLetterReason.HANDLER_FAILED]
    assert failed, "the failing Flood handler should have been dead-lettered"
    assert all("MailboxFull" in (d.detail or "") for d in failed)
    assert any("still full after waiting 0.5s" in (d.detail or "") for d in failed)


# -- DROP_NEWEST / DROP_OLDEST ------------------------------------------------------------------


def test_drop_newest_dead_letters_the_new_message_and_tell_returns_zero(system):
    seen: list = []
    ref, release, handled = bounded(
        system, "lossy", seen, capacity=2, overflow=Overflow.DROP_NEWEST
    )
    assert ref.tell(Note(text="1")) == 1
    assert ref.tell(Note(text="2")) == 1
    assert ref.tell(Note(text="3")) == 0
    assert full_letters(system) == [Note(text="3")]
    release.set()
    settle(ref, handled, 2)
    assert texts(seen) == ["1", "2"]


def test_drop_oldest_dead_letters_the_oldest_message_and_tell_returns_one(system):
    seen: list = []
    ref, release, handled = bounded(
        system, "lossy", seen, capacity=2, overflow=Overflow.DROP_OLDEST
    )
    assert ref.tell(Note(text="1")) == 1
    assert ref.tell(Note(text="2")) == 1
    assert ref.tell(Note(text="3")) == 1
    assert full_letters(system) == [Note(text="1")]
    assert ref.mailbox_size() == 2
    release.set()
    settle(ref, handled, 2)
    assert texts(seen) == ["2", "3"]


def test_drop_oldest_in_a_priority_mailbox_drops_the_oldest_of_the_lowest_level(system):
    seen: list = []
    ref, release, handled = bounded(
        system, "triage", seen, capacity=3, priority=True, overflow=Overflow.DROP_OLDEST
    )
    ref.tell(Note(text="high"), priority=Priority.HIGH)
    ref.tell(Note(text="low-1"), priority=Priority.LOW)
    ref.tell(Note(text="low-2"), priority=Priority.LOW)
    assert ref.tell(Note(text="normal")) == 1
    assert full_letters(system) == [Note(text="low-1")]
    release.set()
    settle(ref, handled, 3)
    assert texts(seen) == ["high", "normal", "low-2"]


def test_a_dropped_newest_ask_fails_its_future_with_mailbox_full(system):
    ref, release, _ = bounded(system, "lossy", capacity=1, overflow=Overflow.DROP_NEWEST)
    ref.tell(Note(text="1"))
    future = ref.ask_future(Ping(n=1), timeout=30)
    with pytest.raises(MailboxFull):
        future.get(timeout=5)
    assert full_letters(system) == [Ping(n=1)]
    release.set()


def test_an_ask_pushed_out_by_drop_oldest_fails_its_future_with_mailbox_full(system):
    seen: list = []
    ref, release, handled = bounded(
        system, "lossy", seen, capacity=1, overflow=Overflow.DROP_OLDEST
    )
    future = ref.ask_future(Ping(n=1), timeout=30)
    assert ref.tell(Note(text="newer")) == 1
    with pytest.raises(MailboxFull):
        future.get(timeout=5)
    assert full_letters(system) == [Ping(n=1)]
    release.set()
    settle(ref, handled, 1)
    assert [m for _, m in seen] == [Note(text="newer"), Ping(n=0)]


@pytest.mark.parametrize("overflow", [Overflow.DROP_NEWEST, Overflow.DROP_OLDEST])
def test_a_dropped_asks_mailbox_full_names_the_agent_and_its_capacity(system, overflow):
    ref, release, _ = bounded(system, "lossy", capacity=2, overflow=overflow)
    first = ref.ask_future(Ping(n=1), timeout=30)
    ref.tell(Note(text="2"))
    last = ref.ask_future(Ping(n=3), timeout=30)
    dropped = first if overflow is Overflow.DROP_OLDEST else last
    with pytest.raises(MailboxFull) as info:
        dropped.get(timeout=5)
    assert info.value.agent == "lossy"
    assert info.value.capacity == 2
    release.set()


def test_a_dropped_ask_sent_to_a_role_names_the_agent_in_its_mailbox_full(system):
    handled = threading.Semaphore(0)
    ref = system.spawn(
        Tally,
        [],
        handled,
        name="archivist-1",
        roles=("archivist",),
        mailbox=Mailbox(capacity=1, overflow=Overflow.DROP_NEWEST),
    )
    park(ref, "archivist-1")
    ref.tell(Note(text="1"))
    future = system.ask_future("role:archivist", Ping(n=2), timeout=30)
    with pytest.raises(MailboxFull) as info:
        future.get(timeout=5)
    assert info.value.agent == "archivist-1"


def test_dropped_messages_are_published_as_dead_letter_events(system):
    letters = record_events(system, DeadLetter)
    ref, release, _ = bounded(system, "lossy", capacity=1, overflow=Overflow.DROP_NEWEST)
    ref.tell(Note(text="kept"))
    ref.tell(Note(text="dropped"))
    assert [(d.reason, d.envelope.body, str(d.envelope.to)) for d in letters.items()] == [
        (DeadLetterReason.MAILBOX_FULL, Note(text="dropped"), "lossy")
    ]
    release.set()


@pytest.mark.parametrize("overflow", [Overflow.FAIL, Overflow.DROP_NEWEST])
def test_a_broadcast_still_reaches_the_agents_after_one_whose_mailbox_is_full(system, overflow):
    seen: list = []
    handled = threading.Semaphore(0)
    system.spawn(Tally, seen, handled, name="first")
    full = system.spawn(
        Tally, seen, handled, name="full", mailbox=Mailbox(capacity=1, overflow=overflow)
    )
    system.spawn(Tally, seen, handled, name="last")
    release = park(full, "full")
    full.tell(Note(text="filler"))

    assert system.broadcast(Note(text="all hands")) == 2

    assert full_letters(system) == [Note(text="all hands")]
    system.ask("first", Ping(n=0), timeout=5)
    system.ask("last", Ping(n=0), timeout=5)
    got = sorted(who for who, m in seen if m == Note(text="all hands"))
    assert got == ["first", "last"], "recipients after the full mailbox were skipped"
    release.set()


# -- observing depth and capacity ---------------------------------------------------------------


def test_mailbox_size_and_the_tree_show_depth_and_capacity(system):
    ref, release, _ = bounded(system, "gauge", capacity=5)
    for i in range(3):
        ref.tell(Note(text=str(i)))
    unbounded = system.spawn(Blocker, name="open")

    assert ref.mailbox_size() == 3
    node = system.tree().find("gauge")
    assert node is not None
    assert (node.mailbox, node.capacity) == (3, 5)
    assert "gauge [agent] running restarts=0 mailbox=3/5" in str(system.tree())
    open_node = system.tree().find("open")
    assert open_node is not None
    assert (open_node.mailbox, open_node.capacity) == (0, None)
    assert unbounded.mailbox_size() == 0
    release.set()
    ref.ask(Ping(n=0), timeout=5)
    assert ref.mailbox_size() == 0
