"""`Inbox`: a participant that is not an agent (a person, a web handler, a test).

```python
inbox = system.inbox("alice", roles=("human",))
envelope = inbox.get(timeout=60.0)           # in any plain thread
inbox.reply(envelope, Answer(text="yes"))     # answers the ask that reached the inbox
```

An inbox is addressed like an agent: by its name, by any of its roles (it takes its turn in
the round-robin with the agents that hold the role), and by broadcasts. Nothing runs behind
it: envelopes wait in it until a thread takes them with `Inbox.get` (or a coroutine with
`Inbox.get_async`), looks at them with `peek`, or takes them all with `drain`.

Semantics, the same as an agent's wherever they can be:

- **Asks.** An ask that reaches the inbox waits there like any envelope; `Inbox.reply`
  answers it (the asker's future, else ``reply_to``, else the sender, as a ``response`` in
  the same conversation). An answer to an asker who already gave up is dropped
  (``reply`` returns False). The inbox hands out envelopes whatever their deadline.
- **Bounds.** ``capacity=`` and ``overflow=`` bound it as they bound a mailbox (`Overflow`):
  what is refused or dropped is dead-lettered ``mailbox_full``.
- **Closing.** `Inbox.close` (or leaving a ``with`` block) unregisters it: its name is free
  again (a later send to the name is dead-lettered ``unknown_address``, as for a stopped
  agent); what was pending, and anything that still reaches it, is dead-lettered
  ``stopped``; a pending ask fails with `AgentUnavailable`. The system's shutdown closes every
  inbox (reason ``shutdown``; pending asks fail with `SystemStopped`). A reader blocked in
  ``get`` then wakes with `InboxClosed`; ``peek``, ``drain`` and ``clear`` find it empty.
- **Observing.** An inbox is not an agent: `ActorSystem.agents` and `ActorSystem.metrics`
  leave it out, and it is not in the supervision tree. Agents may ``watch`` it: they get
  `Terminated` when it closes; it may `Inbox.watch` agents (and other inboxes) itself.
  Its lifecycle events (``kind="inbox"``) are published as an agent's are.
- **Sending.** `Inbox.tell` sends with the inbox as the sender, so answers come back to it.

Every method may be called from any thread; every blocking call takes a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from actors._inboxes import InboxMailbox, InboxQueue
from actors._lifecycle import SlotState
from actors._mailboxes import CLOSED
from actors._slot import Slot, SlotOptions
from actors._timeouts import check_timeout
from actors._watches import unwatch_name, watch_name
from actors.address import Direct
from actors.envelope import Envelope
from actors.errors import AgentUnavailable, InboxClosed, InboxEmpty, SystemStopped
from actors.events import AgentStarted, DeadLetterReason, ExitReason
from actors.messages import Kind, Message, Priority

if TYPE_CHECKING:
    from collections.abc import Callable

    from actors._runtime import Runtime
    from actors.address import AddressLike

__all__ = ["Inbox"]


class Inbox:
    """A registered mailbox that plain threads read; see the module docstring.

    Made by `ActorSystem.inbox`; thread-safe.
    """

    __slots__ = ("_queue", "_slot")

    def __init__(self, slot: Slot) -> None:
        queue = slot.mailbox
        assert isinstance(queue, InboxQueue)
        self._slot = slot
        self._queue = queue

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self)} pending"
        return f"<Inbox {self.name!r} {state}>"

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def name(self) -> str:
        """The inbox's name (its address)."""
        return self._slot.name

    @property
    def roles(self) -> frozenset[str]:
        """The roles it holds."""
        return self._slot.roles

    @property
    def closed(self) -> bool:
        """True once closed (by `close` or the system's shutdown)."""
        return not self._slot.alive

    @property
    def total_received(self) -> int:
        """How many envelopes it ever accepted (those dropped later by ``DROP_OLDEST`` too)."""
        return self._queue.total

    def __len__(self) -> int:
        """How many envelopes are pending."""
        return self._queue.qsize()

    # -- reading ------------------------------------------------------------------------------

    def get(self, timeout: float) -> Envelope:
        """Take the next envelope, waiting up to ``timeout`` seconds for one.

        Returns:
            The oldest pending envelope (its ``body`` is the message).

        Raises:
            InboxEmpty: if nothing arrived within ``timeout`` (``0`` only looks).
            InboxClosed: if the inbox is closed, or closes while this waits.
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        check_timeout(timeout)
        item = self._queue.take(timeout)
        return self._taken(item, timeout)

    async def get_async(self, timeout: float) -> Envelope:
        """`get` for coroutines: suspends the coroutine and never blocks the event loop.

        No thread is used: the coroutine waits on an asyncio future that the sender's thread
        completes (``call_soon_threadsafe``) when an envelope arrives.

        Raises:
            InboxEmpty, InboxClosed, InvalidConfig: as `get`.
        """
        check_timeout(timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            arrived: asyncio.Future[None] = loop.create_future()
            wake = _waker(loop, arrived)
            item = self._queue.take_or_register(wake)
            if item is not None:
                return self._taken(item, timeout)
            try:
                await asyncio.wait((arrived,), timeout=max(0.0, deadline - loop.time()))
            finally:
                self._queue.forget(wake)  # timed out or cancelled: no wake-up wanted any more
            if not arrived.done():  # timed out; one last look, then give up
                return self._taken(self._queue.take(0.0), timeout)

    def _taken(self, item: object, timeout: float) -> Envelope:
        if type(item) is Envelope:
            return item
        if item is CLOSED:
            msg = f"inbox {self.name!r} is closed"
            raise InboxClosed(msg, self.name)
        msg = f"inbox {self.name!r} got nothing within {timeout:g}s"
        raise InboxEmpty(msg, self.name, timeout)

    def peek(self) -> list[Envelope]:
        """The pending envelopes, oldest first, without taking them."""
        return self._queue.peek()

    def drain(self) -> list[Envelope]:
        """Take every pending envelope at once, oldest first ([] if none); never waits."""
        return self._queue.take_all()

    def clear(self) -> int:
        """Throw away every pending envelope unread; returns how many.

        A pending ask among them fails at once with `AgentUnavailable` (its asker need not
        wait for its timeout). Nothing is dead-lettered: the inbox's reader chose to drop them.
        """
        envelopes = self._queue.take_all()
        for envelope in envelopes:
            future = envelope.future
            if future is not None:
                msg = f"inbox {self.name!r} cleared the ask unanswered"
                future.fail(AgentUnavailable(msg, self.name, envelope))
        return len(envelopes)

    # -- answering ----------------------------------------------------------------------------

    def reply(self, envelope: Envelope, message: Any) -> bool:
        """Answer ``envelope`` (taken from this inbox) with ``message``, as an agent would.

        An ask's future gets ``message`` (any value, as a handler's return value). Otherwise
        ``message`` (then an `actors.Message`) is sent to the envelope's ``reply_to``, else to
        its sender, with kind ``response`` and the envelope's correlation id; with neither,
        it is dead-lettered ``unknown_address``. Works after `close` too (the question was
        taken before).

        Returns:
            True if the answer was delivered; False if it was dropped (the asker already timed
            out or was answered) or dead-lettered.

        Raises:
            InvalidMessage: if a told answer is not an `actors.Message`.
            MailboxFull, PolicyViolation: as for any send.
        """
        future = envelope.future
        if future is not None:
            return future.resolve(message)
        slot = self._slot
        target = envelope.reply_to
        if target is None and envelope.sender is not None:
            target = Direct(envelope.sender)
        correlation = envelope.correlation_id or envelope.id
        if target is None:
            answer = Envelope(message, envelope.to, kind=Kind.RESPONSE, correlation_id=correlation)
            slot.runtime.dead_letters.record(
                answer, DeadLetterReason.UNKNOWN_ADDRESS, "the request has no sender or reply_to"
            )
            return False
        delivered = slot.runtime.router.tell(
            target,
            message,
            slot,
            kind=Kind.RESPONSE,
            correlation_id=correlation,
            causation_id=envelope.id,
        )
        return delivered > 0

    # -- sending ------------------------------------------------------------------------------

    def tell(
        self,
        to: AddressLike,
        message: Message,
        *,
        priority: Priority = Priority.NORMAL,
        kind: str = Kind.EVENT,
        reply_to: AddressLike | None = None,
        correlation_id: str | None = None,
    ) -> int:
        """Send ``message`` with this inbox as its sender, as `ActorSystem.tell` sends.

        The recipient's ``self.context.sender`` is the inbox's name, so what it replies or
        tells back to its sender arrives here.

        Returns:
            How many mailboxes took it (0: it was dead-lettered).

        Raises:
            InvalidMessage, InvalidAddress: for a bad message or address.
            PolicyViolation, MailboxFull: if a send policy or a bounded mailbox refuses it.
        """
        slot = self._slot
        return slot.runtime.router.tell(
            to, message, slot, None, kind, priority, reply_to, correlation_id
        )

    # -- watching -----------------------------------------------------------------------------

    def watch(self, name: str) -> None:
        """Get a `Terminated` envelope when the agent (or inbox) ``name`` stops for good.

        As `AgentActor.watch`: if it is already gone, the notice arrives at once (reason
        ``not_found``). The notice waits in the inbox like any envelope.

        Raises:
            InvalidAddress: if ``name`` is not a valid name.
        """
        watch_name(self._slot, name)

    def unwatch(self, name: str) -> None:
        """Stop watching ``name`` (nothing if it was not watched)."""
        unwatch_name(self._slot, name)

    # -- closing ------------------------------------------------------------------------------

    def close(self) -> None:
        """Unregister the inbox and dead-letter what is pending (``stopped``); idempotent.

        A thread blocked in `get` wakes with `InboxClosed`.
        """
        self._slot.close(ExitReason.NORMAL)


def open_inbox(runtime: Runtime, name: str, roles: frozenset[str], settings: InboxMailbox) -> Inbox:
    """Register a new inbox in ``runtime`` (``name`` and ``roles`` already validated).

    Its slot is registered first (a taken name leaves no trace), then moved through the
    states an agent's first start takes (new -> starting -> running), with no incarnation.

    Raises:
        DuplicateName: if the name is taken.
        SystemStopped: if the system began stopping meanwhile (the inbox is closed again).
    """
    slot = Slot(
        runtime,
        name,
        kind="inbox",
        roles=roles,
        factory=_no_agent,
        mailbox=settings,
        parent=None,
        options=SlotOptions(flight_recorder=0),
    )
    runtime.register([slot])
    slot.transition(SlotState.STARTING)
    slot.transition(SlotState.RUNNING)
    runtime.publish(AgentStarted, name=name, kind=slot.kind, restarts=0)
    if runtime.closing:  # the shutdown's sweep over the inboxes may have missed this one
        slot.close(ExitReason.SHUTDOWN)
        msg = f"system {runtime.name!r} is shut down; it opens no new inboxes"
        raise SystemStopped(msg)
    slot.log.debug("inbox {!r} opened", name)
    return Inbox(slot)


def _no_agent() -> Any:
    msg = "an inbox runs no agent"
    raise TypeError(msg)


def _waker(loop: asyncio.AbstractEventLoop, arrived: asyncio.Future[None]) -> Callable[[], None]:
    """A callback any thread may call to complete ``arrived`` in its loop."""

    def wake() -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_complete, arrived)

    return wake


def _complete(arrived: asyncio.Future[None]) -> None:
    if not arrived.done():
        arrived.set_result(None)
