"""Priority mailboxes: CRITICAL > HIGH > NORMAL > LOW, FIFO within a level."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

from actors import InvalidConfig, Mailbox, Message, Priority, handler
from supervision import ChildSpec
from tests.helpers import park, texts
from tests.messages import Blocker, Note, Ping, Pong

pytestmark = pytest.mark.usefixtures("gates_opened")

SENDERS = 6
PER_SENDER = 400


class Numbered(Message):
    sender: int
    seq: int


class Sorter(Blocker):
    """Records each Numbered message with the priority its envelope carried."""

    def __init__(self, seen: list, order: list | None = None) -> None:
        super().__init__(seen)
        self.order = order if order is not None else []

    @handler
    def on_numbered(self, msg: Numbered) -> None:
        envelope = self.context.envelope
        assert envelope is not None
        self.order.append((envelope.priority, msg.sender, msg.seq))

    @handler
    def on_note(self, msg: Note) -> None:
        self.seen.append((self.name, msg))


class DeclaredPriority(Blocker):
    mailbox = Mailbox(priority=True)


def send_one_of_each_level(ref) -> None:
    """LOW, NORMAL, HIGH, CRITICAL, in that (worst) order."""
    ref.tell(Note(text="low"), priority=Priority.LOW)
    ref.tell(Note(text="normal"))
    ref.tell(Note(text="high"), priority=Priority.HIGH)
    ref.tell(Note(text="critical"), priority=Priority.CRITICAL)


def test_priority_order_across_levels_and_fifo_within_a_level_under_concurrent_senders(system):
    order: list = []
    ref = system.spawn(Sorter, [], order, name="sorter", mailbox=Mailbox(priority=True))
    release = park(ref, "sorter")
    start = threading.Barrier(SENDERS)

    def send(sender: int) -> None:
        rng = random.Random(sender)
        start.wait(5)
        for seq in range(PER_SENDER):
            level = rng.choice(list(Priority))
            assert ref.tell(Numbered(sender=sender, seq=seq), priority=level) == 1

    with ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="test-sender") as pool:
        for future in [pool.submit(send, s) for s in range(SENDERS)]:
            future.result(timeout=30)
    assert ref.mailbox_size() == SENDERS * PER_SENDER
    last = ref.ask_future(Ping(n=-1), priority=Priority.LOW, timeout=30)  # behind every LOW
    release.set()
    assert last.get(timeout=30) == Pong(n=-1, by="sorter")

    assert len(order) == SENDERS * PER_SENDER
    levels = [level for level, _, _ in order]
    assert set(levels) == set(Priority)
    assert levels == sorted(levels, reverse=True), "a lower level came out before a higher one"
    by_sender_and_level: dict[tuple[Priority, int], list[int]] = defaultdict(list)
    for level, sender, seq in order:
        by_sender_and_level[level, sender].append(seq)
    for (level, sender), seqs in by_sender_and_level.items():
        assert seqs == sorted(seqs), f"sender {sender} lost its order at {level.name}"
    assert sorted((s, q) for _, s, q in order) == [
        (s, q) for s in range(SENDERS) for q in range(PER_SENDER)
    ]


@pytest.mark.parametrize("chosen_by", ["spawn", "child_spec", "class_attribute"])
def test_a_priority_mailbox_can_be_chosen_by_spawn_child_spec_or_class(system, chosen_by):
    seen: list = []
    if chosen_by == "spawn":
        ref = system.spawn(Blocker, seen, name="prio", mailbox=Mailbox(priority=True))
    elif chosen_by == "child_spec":
        spec = ChildSpec(Blocker, seen, name="prio", mailbox=Mailbox(priority=True))
        ref = system.spawn(spec)
    else:
        ref = system.spawn(DeclaredPriority, seen, name="prio")
    release = park(ref, f"prio-{chosen_by}")
    send_one_of_each_level(ref)
    release.set()
    ref.ask(Ping(n=0), priority=Priority.LOW, timeout=5)

    assert texts(seen) == ["critical", "high", "normal", "low"]


def test_a_spawn_mailbox_overrides_the_class_attribute(system):
    seen: list = []
    ref = system.spawn(DeclaredPriority, seen, name="plain", mailbox=Mailbox())
    release = park(ref, "override")
    send_one_of_each_level(ref)
    release.set()
    ref.ask(Ping(n=0), timeout=5)

    assert texts(seen) == ["low", "normal", "high", "critical"]


@pytest.mark.parametrize(
    "mailbox", [Mailbox(), Mailbox(capacity=100)], ids=["default", "bounded_fifo"]
)
def test_a_mailbox_without_priority_keeps_send_order_whatever_the_priority(system, mailbox):
    seen: list = []
    ref = system.spawn(Blocker, seen, name="fifo", mailbox=mailbox)
    release = park(ref, f"fifo-{mailbox.capacity}")
    send_one_of_each_level(ref)
    release.set()
    ref.ask(Ping(n=0), timeout=5)

    assert texts(seen) == ["low", "normal", "high", "critical"]


def test_an_ask_at_critical_priority_overtakes_queued_normal_messages(system):
    seen: list = []
    ref = system.spawn(Blocker, seen, name="prio", mailbox=Mailbox(priority=True))
    release = park(ref, "critical-ask")
    for i in range(50):
        ref.tell(Note(text=str(i)))
    urgent = ref.ask_future(Ping(n=99), priority=Priority.CRITICAL, timeout=10)
    release.set()
    assert urgent.get(timeout=10) == Pong(n=99, by="prio")
    ref.ask(Ping(n=100), timeout=5)

    handled = [m for _, m in seen]
    assert handled[0] == Ping(n=99)
    assert [m.text for m in handled[1:51]] == [str(i) for i in range(50)]


def test_tell_stamps_the_given_priority_on_the_envelope_and_accepts_names(system):
    order: list = []
    ref = system.spawn(Sorter, [], order, name="stamps")
    ref.tell(Numbered(sender=0, seq=0))
    ref.tell(Numbered(sender=0, seq=1), priority=Priority.HIGH)
    ref.tell(Numbered(sender=0, seq=2), priority="critical")  # type: ignore[arg-type]
    system.tell("stamps", Numbered(sender=0, seq=3), priority=Priority.LOW)
    ref.ask(Ping(n=0), timeout=5)

    assert [level for level, _, _ in order] == [
        Priority.NORMAL,
        Priority.HIGH,
        Priority.CRITICAL,
        Priority.LOW,
    ]


def test_an_unknown_priority_is_refused_at_the_sender(system):
    ref = system.spawn(Blocker, name="picky", mailbox=Mailbox(priority=True))
    with pytest.raises(ValueError, match="invalid priority"):
        ref.tell(Note(), priority="urgent")  # type: ignore[arg-type]
    assert ref.mailbox_size() == 0


def test_mailbox_settings_are_validated():
    with pytest.raises(InvalidConfig):
        Mailbox(capacity=0)
    with pytest.raises(InvalidConfig):
        Mailbox(capacity=10, block_timeout=0)
    with pytest.raises(InvalidConfig):
        Mailbox(capacity=10, block_timeout=float("inf"))
    with pytest.raises(InvalidConfig):
        Mailbox(capacity=10, overflow="drop")  # type: ignore[arg-type]


def test_a_handler_reads_the_priority_of_its_message_from_its_context(actor_system, probe):
    from actors import AgentActor, Message, Priority, handler

    class Job(Message):
        pass

    class Seen(Message):
        priority: Priority | None

    class Reader(AgentActor):
        @handler
        def on_job(self, _: Job) -> None:
            self.reply(Seen(priority=self.context.priority))

    actor_system.spawn(Reader, name="reader")
    probe.send("reader", Job(), priority=Priority.HIGH)
    probe.expect(Seen, priority=Priority.HIGH)
