"""Traffic events: MessageSent before MessageHandled, for every message, in order per pair."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    Message,
    MessageHandled,
    MessageOutcome,
    MessageSent,
    handler,
)
from tests.helpers import WAIT, park, record_events, runtime
from tests.messages import Parkable, Ping

pytestmark = pytest.mark.usefixtures("gates_opened")


class Work(Message):
    n: int


class Orphan(Message):
    pass


class Relay(AgentActor):
    """Forwards Work to ``next`` (if any); fails on a negative n; answers Ping."""

    def __init__(self, forward: str | None = None) -> None:
        super().__init__()
        self.forward = forward

    @handler
    def on_work(self, message: Work) -> None:
        if message.n < 0:
            raise ValueError(message.n)
        if self.forward is not None:
            self.tell(self.forward, message)

    @handler
    def on_ping(self, message: Ping) -> int:
        return 1


class Parked(Relay, Parkable):
    pass


def test_every_message_is_announced_sent_then_handled_in_order_per_sender_and_receiver(
    system: ActorSystem,
):
    journal = record_events(system, MessageSent, MessageHandled)
    system.spawn(Relay, "sink", name="relay")
    system.spawn(Relay, name="sink")
    senders, per_sender = 3, 200

    def produce(index: int) -> None:  # the correlation id tells the sending threads apart
        for n in range(per_sender):
            system.tell("relay", Work(n=n), correlation_id=f"thread-{index}")

    threads = [threading.Thread(target=produce, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    expected = senders * per_sender * 2  # to the relay, then relayed to the sink
    events = journal.wait_for(
        lambda items: sum(isinstance(e, MessageHandled) for e in items) >= expected
    )
    sent = {e.envelope_id: i for i, e in enumerate(events) if isinstance(e, MessageSent)}
    thread_of = {e.envelope_id: e.correlation_id for e in events if isinstance(e, MessageSent)}
    handled = [e for e in events if isinstance(e, MessageHandled)]
    assert len(sent) == expected
    assert len(handled) == expected
    by_pair: dict[tuple[str | None, str], list[str]] = defaultdict(list)
    for index, event in enumerate(events):
        if isinstance(event, MessageHandled):
            assert event.envelope_id in sent, "handled before it was announced"
            assert sent[event.envelope_id] < index
            assert event.outcome is MessageOutcome.OK
            assert event.message_type.endswith("Work")
            by_pair[(thread_of[event.envelope_id], event.agent)].append(event.envelope_id)
    assert len(by_pair) == senders * 2
    for ids in by_pair.values():  # each pair's messages are handled in the order announced
        assert ids == sorted(ids, key=sent.__getitem__)
    relayed = [e for e in events if isinstance(e, MessageSent) and e.sender == "relay"]
    assert len(relayed) == senders * per_sender
    assert all(e.causation_id is not None and e.address == "sink" for e in relayed)
    assert all(e.recipients == 1 and e.kind == "event" for e in relayed)


def test_outcomes_failed_unhandled_and_expired_are_reported(system: ActorSystem):
    journal = record_events(system, MessageHandled)
    ref = system.spawn(Parked, name="p")
    release = park(ref, "p")
    ref.tell(Work(n=-1))
    ref.tell(Orphan())
    expiring = system.ask_future("p", Work(n=1), timeout=0.05)
    with pytest.raises(Exception):  # noqa: PT011 - AskTimeout
        expiring.get(timeout=WAIT)
    release.set()
    events = journal.wait_len(4)
    outcomes = [e.outcome for e in events[1:4]]
    assert outcomes == [MessageOutcome.FAILED, MessageOutcome.UNHANDLED, MessageOutcome.EXPIRED]
    failed, unhandled, expired = events[1:4]
    assert failed.duration is not None
    assert failed.duration >= 0.0
    assert unhandled.duration == expired.duration == 0.0
    assert events[0].duration is not None
    assert events[0].duration > 0.0


def test_a_broadcast_and_an_unknown_address_are_announced_with_their_recipient_count(
    system: ActorSystem,
):
    journal = record_events(system, MessageSent)
    for i in range(3):
        system.spawn(Relay, name=f"r{i}")
    system.broadcast(Work(n=1))
    system.tell("nobody", Work(n=2))
    system.ask("r0", Ping(), timeout=WAIT)
    broadcast, unknown, ask = journal.wait_len(3)[:3]
    assert (broadcast.address, broadcast.recipients) == ("*", 3)
    assert (unknown.address, unknown.recipients) == ("nobody", 0)
    assert (ask.kind, ask.recipients, ask.priority) == ("query", 1, "normal")
    assert ask.correlation_id == ask.envelope_id


def test_nothing_is_published_and_the_fast_path_is_kept_when_nobody_subscribes(
    system: ActorSystem,
):
    tap = runtime(system).tap
    assert not (tap.sent)
    assert not (tap.handled)
    assert not (tap.after)
    assert not runtime(system).router.detour
    with system.events.subscribe(lambda event: None, MessageSent):
        assert tap.sent
        assert runtime(system).router.detour
        assert not tap.handled
    assert not tap.sent
    assert not runtime(system).router.detour
    with system.events.subscribe(lambda event: None):  # every event: traffic included
        assert tap.sent
        assert tap.handled
        assert tap.after
    assert not (tap.sent)
    assert not (tap.handled)
    assert not (tap.after)


def test_every_handled_message_is_timed_while_someone_subscribes(system: ActorSystem):
    journal = record_events(system, MessageHandled)
    ref = system.spawn(Relay, name="r")
    for n in range(200):
        ref.tell(Work(n=n))
    events = journal.wait_len(200)
    assert sum(e.duration is None for e in events) <= 1  # the first, if it was not sampled
