"""Control lane: stop and restart orders and death-watch notices overtake queued user messages.

To know *when* a stop order has reached an agent's control lane (``ref.stop`` blocks until the
agent has stopped, and the agent is parked on a gate meanwhile), the agents here use a
`SignallingMailbox`: the real queue classes, plus a `threading.Event` set after every control
item is queued. There is no public way to observe that moment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from actors import (
    DeadLetterReason,
    ExitReason,
    Mailbox,
    MailboxFull,
    Overflow,
    Terminated,
    handler,
)
from actors._mailboxes import MailboxQueue, Reject
from supervision import ChildSpec, SupervisorSpec
from tests.helpers import dead_letter_count, park, tell_from_a_thread
from tests.messages import Blocker, Note, Ping, Recorder, Watch

pytestmark = pytest.mark.usefixtures("gates_opened")

QUEUED = 100_000
HANDFUL = 5

CONTROL_QUEUED: dict[str, threading.Event] = {}  # agent name -> set once a control item queued
LAST_NOTE = threading.Event()  # a WatchingBlocker handled Note(text="last")


class _SignallingQueue:
    """Wraps the queue `Mailbox.build` made, telling the test when a control item is queued."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def put_control(self, item: object) -> bool:
        queued: bool = self._real.put_control(item)
        event = CONTROL_QUEUED.get(self._real.owner)
        if event is not None:
            event.set()
        return queued

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class SignallingMailbox(Mailbox):
    """The same mailbox as `Mailbox`, telling the test when a control item was queued."""

    __slots__ = ()

    def build(self, owner: str, reject: Reject) -> MailboxQueue:
        return _SignallingQueue(Mailbox.build(self, owner, reject))  # type: ignore[return-value]


MAILBOXES = {
    "default": {},
    "priority": {"priority": True},
    "bounded": {"capacity": 2 * QUEUED},
}


class WatchingBlocker(Blocker):
    """A Blocker that watches agents on request, recording Terminated notices among its Notes."""

    @handler
    def on_watch(self, msg: Watch) -> None:
        self.watch(msg.name)

    @handler
    def on_terminated(self, msg: Terminated) -> None:
        self.seen.append((self.name, msg))

    @handler
    def on_note(self, msg: Note) -> None:
        self.seen.append((self.name, msg))
        if msg.text == "last":
            LAST_NOTE.set()


class Stamper(Blocker):
    """Records which incarnation handled each Note."""

    @handler
    def on_note(self, msg: Note) -> None:
        self.seen.append((self.name, Note(text=f"{self.context.restarts}:{msg.text}")))


def in_thread(action: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``action`` in a new thread; the list gets its result."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(action()), name="test-stopper")
    thread.start()
    return thread, result


def order_past_the_gate(
    order: str, action: Callable[[], Any], queued: threading.Event, release: threading.Event
) -> list[Any]:
    """Run ``action``, an order to a parked agent, in a new thread; release the agent once the
    order is in its control lane. Returns the list that gets what ``action`` returned.
    """
    thread, result = in_thread(action)
    assert queued.wait(10), f"the {order} order never reached the control lane"
    release.set()
    thread.join(30)
    return result


def notes(seen: list) -> list[Note]:
    return [m for _, m in seen if isinstance(m, Note)]


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(MAILBOXES))
def test_a_stop_overtakes_a_hundred_thousand_queued_messages(system, kind):
    name = f"busy-{kind}"
    ordered = CONTROL_QUEUED[name] = threading.Event()
    seen: list = []
    ref = system.spawn(Blocker, seen, name=name, mailbox=SignallingMailbox(**MAILBOXES[kind]))
    release = park(ref, name)
    note = Note(text="queued")
    for _ in range(QUEUED):
        ref.tell(note)
    assert ref.mailbox_size() == QUEUED

    stopped = order_past_the_gate("stop", lambda: ref.stop(timeout=30), ordered, release)

    assert stopped == [True]
    assert not ref.is_alive()
    handled = len(notes(seen))
    assert handled <= HANDFUL, f"the agent handled {handled} queued messages before stopping"
    assert dead_letter_count(system, DeadLetterReason.STOPPED) == QUEUED - handled


@pytest.mark.slow
def test_a_supervisors_stop_child_overtakes_a_hundred_thousand_queued_messages(system):
    name = "crew-busy"
    ordered = CONTROL_QUEUED[name] = threading.Event()
    seen: list = []
    spec = ChildSpec(Blocker, seen, name=name, mailbox=SignallingMailbox())
    crew = system.start_tree(SupervisorSpec("crew", children=[spec]))
    ref = system.ref(name)
    release = park(ref, name)
    for i in range(QUEUED):
        ref.tell(Note(text=str(i)))

    stopped = order_past_the_gate(
        "stop", lambda: crew.stop_child(name, timeout=30), ordered, release
    )

    assert stopped == [True]
    assert not ref.is_alive()
    assert crew.children() == []
    handled = len(notes(seen))
    assert handled <= HANDFUL
    assert dead_letter_count(system, DeadLetterReason.STOPPED) == QUEUED - handled


def test_a_restart_order_overtakes_queued_messages_which_the_next_incarnation_handles(system):
    name = "stamper"
    ordered = CONTROL_QUEUED[name] = threading.Event()
    seen: list = []
    spec = ChildSpec(Stamper, seen, name=name, mailbox=SignallingMailbox())
    keepers = system.start_tree(SupervisorSpec("keepers", children=[spec]))
    ref = system.ref(name)
    release = park(ref, name)
    for i in range(1000):
        ref.tell(Note(text=str(i)))

    restarted = order_past_the_gate(
        "restart", lambda: keepers.restart_child(name, timeout=30), ordered, release
    )
    assert restarted == [True]
    ref.ask(Ping(n=0), timeout=10)  # queued behind every note

    assert [m.text for m in notes(seen)] == [f"1:{i}" for i in range(1000)]


@pytest.mark.parametrize("kind", list(MAILBOXES))
def test_a_death_watch_notice_overtakes_queued_user_messages(system, kind):
    seen: list = []
    target = system.spawn(Recorder, name="target")
    watcher = system.spawn(
        WatchingBlocker, seen, name="watcher", mailbox=Mailbox(**MAILBOXES[kind])
    )
    watcher.ask(Watch(name="target"), timeout=5)
    release = park(watcher, f"watch-{kind}")
    for i in range(100):
        watcher.tell(Note(text=str(i)))

    assert target.stop(timeout=5)  # the notice is queued once stop returns
    release.set()
    watcher.ask(Ping(n=0), timeout=5)  # handled after the queued notes

    bodies = [m for _, m in seen]
    assert bodies[0] == Terminated(name="target", reason=ExitReason.NORMAL)
    assert [m.text for m in bodies[1:101]] == [str(i) for i in range(100)]


def test_a_death_watch_notice_gets_through_a_full_bounded_mailbox(system):
    seen: list = []
    target = system.spawn(Recorder, name="target")
    watcher = system.spawn(
        WatchingBlocker, seen, name="watcher", mailbox=Mailbox(capacity=3, overflow=Overflow.FAIL)
    )
    watcher.ask(Watch(name="target"), timeout=5)
    release = park(watcher, "watch-full")
    for text in ("0", "1", "last"):
        assert watcher.tell(Note(text=text)) == 1
    with pytest.raises(MailboxFull):
        watcher.tell(Note(text="one too many"))
    LAST_NOTE.clear()

    assert target.stop(timeout=5)
    release.set()
    assert LAST_NOTE.wait(5)

    bodies = [m for _, m in seen]
    assert bodies == [
        Terminated(name="target", reason=ExitReason.NORMAL),
        Note(text="0"),
        Note(text="1"),
        Note(text="last"),
    ]


def test_stopping_an_agent_releases_a_sender_blocked_on_its_full_mailbox(system):
    name = "jammed"
    ordered = CONTROL_QUEUED[name] = threading.Event()
    ref = system.spawn(
        Blocker, name=name, mailbox=SignallingMailbox(capacity=1, block_timeout=30.0)
    )
    release = park(ref, name)
    assert ref.tell(Note(text="fill")) == 1
    sender, done, told = tell_from_a_thread(ref, "late")
    assert not done.wait(0.2), "a tell to a full BLOCK mailbox must wait for room"

    stopper, stopped = in_thread(lambda: ref.stop(timeout=30))
    assert ordered.wait(10)
    release.set()
    assert done.wait(5), "the blocked sender was not released when the agent stopped"
    sender.join(5)
    stopper.join(30)

    assert stopped == [True]
    assert told == [0]
    letters = [(d.envelope.body, d.reason) for d in system.dead_letters()]
    assert (Note(text="fill"), DeadLetterReason.STOPPED) in letters
    assert (Note(text="late"), DeadLetterReason.STOPPED) in letters
