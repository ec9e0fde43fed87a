"""The router: the address table and the one seam every message goes through.

Two halves, as in ``shared/design.md`` section 1:

- **Writes** (register, unregister) run in the caller's thread under the router's writer lock,
  one at a time. Each costs O(1) amortized, however many agents the system holds: names live
  in a dict, and the holders of each role (and the broadcast list) in append-only arrays
  (`_Holders`) whose removed slots are skipped and compacted away once they are half the array.
- **Sends** run in the sender's own thread and never take a lock: read the name dict or a
  holders array (one attribute read), resolve the address, build one envelope, put it in the
  mailbox(es). No thread hop. A compaction builds a new array and swaps it in, so a sender
  that already read the old one keeps iterating a list nobody changes any more.

`Router.tell` and `Router.ask` are that seam: agents, `AgentRef`s and the system all send
through them, so a transport to other processes can later be plugged in here without touching
agent code.

Addressing: a name reaches its agent (restarting agents included: their mailbox keeps
queueing); a role reaches exactly one live holder, round-robin across all senders; a broadcast
reaches every live agent (optionally only those holding a role) except the sender, unless
``include_self``. Supervisors have names (they are unique with everything else) but no roles and
are never broadcast to. Whatever cannot be delivered becomes a dead letter.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from actors._deadletters import error_for
from actors.address import AddressLike, Broadcast, Direct, Role, parse_address
from actors.envelope import Envelope, make_envelope
from actors.envelope import _id_counter as _ids
from actors.errors import (
    AskToSelf,
    DuplicateName,
    InvalidAddress,
    InvalidEnvelope,
    InvalidMessage,
    MailboxFull,
    SystemStopped,
)
from actors.events import DeadLetterReason
from actors.future import Future
from actors.messages import Kind, Message, Priority
from actors.messages import message_classes as _messages

if TYPE_CHECKING:
    from actors._slot import Slot
    from actors.send_policy import SendPolicy
    from actors.system import ActorSystem

__all__ = ["RouteTable", "Router"]

_COMPACT_MIN = 32  # removed slots an array may hold before it is worth compacting


class _Holders:
    """An append-only array of slots: the holders of one role, or every agent.

    Written only under the router's writer lock. ``items`` is never shortened in place:
    removed slots stay (a closed slot is not ``alive`` and readers skip it) until they are half
    the array, when a compacted copy replaces it. So every operation is O(1) amortized and a
    reader iterates whatever list it read, without a lock.
    """

    __slots__ = ("dead", "items")

    def __init__(self) -> None:
        self.items: list[Slot] = []
        self.dead = 0

    def add(self, slot: Slot) -> None:
        self.items.append(slot)

    def remove(self) -> None:
        """Count one slot of the array as removed (it is closed); compact when worth it."""
        self.dead += 1
        if self.dead > _COMPACT_MIN and self.dead * 2 > len(self.items):
            self.items = [slot for slot in self.items if slot.alive]
            self.dead = 0

    def live(self) -> tuple[Slot, ...]:
        return tuple(slot for slot in self.items if slot.alive)


class RouteTable:
    """A read-only view of a system's addresses; it follows registrations as they happen."""

    __slots__ = ("_router",)

    def __init__(self, router: Router) -> None:
        self._router = router

    @property
    def names(self) -> Mapping[str, Slot]:
        """Every registered slot by name: agents and supervisors."""
        return self._router._names_view

    @property
    def agents(self) -> tuple[Slot, ...]:
        """Every live agent (the broadcast targets), in registration order."""
        return self._router._agents.live()

    def holders(self, role: str) -> tuple[Slot, ...]:
        """The live holders of ``role``, in registration order."""
        holders = self._router._roles.get(role)
        return () if holders is None else holders.live()


class Router:
    """Resolves addresses and delivers envelopes; see the module docstring.

    Thread-safe: every method may be called from any thread.
    """

    def __init__(self, system: ActorSystem) -> None:
        self._system = system
        self._write = threading.Lock()
        self._names: dict[str, Slot] = {}
        self._names_view = MappingProxyType(self._names)
        self._agents = _Holders()
        self._roles: dict[str, _Holders] = {}
        self._round_robin: dict[str, Iterator[int]] = {}
        self._table = RouteTable(self)
        self.policy: SendPolicy | None = None
        self.open = True  # False once the system shuts down: outside senders are refused

    @property
    def table(self) -> RouteTable:
        """A read-only view of the addresses."""
        return self._table

    # -- writes: any thread, one at a time ------------------------------------------------------

    def register(self, slots: list[Slot]) -> None:
        """Register ``slots`` (a new subtree) all at once, or none of them.

        Raises:
            DuplicateName: if a name is taken (nothing is registered then).
        """
        with self._write:
            names = self._names
            seen: set[str] = set()
            for slot in slots:
                if slot.name in names or slot.name in seen:
                    msg = f"the name {slot.name!r} is already taken in system {self._system.name!r}"
                    raise DuplicateName(msg, slot.name)
                seen.add(slot.name)
            for slot in slots:
                names[slot.name] = slot
                if slot.kind != "agent":
                    continue
                self._agents.add(slot)
                for role in slot.roles:
                    holders = self._roles.get(role)
                    if holders is None:
                        holders = self._roles[role] = _Holders()
                    holders.add(slot)

    def unregister(self, slots: list[Slot]) -> None:
        """Remove ``slots`` (already closed) from the table; unknown ones are ignored."""
        with self._write:
            names = self._names
            for slot in slots:
                if names.get(slot.name) is not slot:
                    continue
                del names[slot.name]
                if slot.kind != "agent":
                    continue
                self._agents.remove()
                for role in slot.roles:
                    self._roles[role].remove()

    # -- sends: any thread ---------------------------------------------------------------------

    def tell(
        self,
        to: AddressLike,
        body: Message,
        sender: Slot | None,
        *,
        kind: str = Kind.EVENT,
        priority: Priority = Priority.NORMAL,
        reply_to: AddressLike | None = None,
        correlation_id: str | None = None,
        deadline: float | None = None,
        causation_id: str | None = None,
        target: Slot | None = None,
        detached: bool = False,
    ) -> int:
        """Deliver ``body`` to ``to``; returns how many mailboxes took it (0: dead-lettered).

        ``target`` (used by `AgentRef`) names the slot directly: no lookup, and a closed slot
        means a dead letter with reason ``stopped``. ``detached`` (timers): the send is not
        made while the sender handles its current message, so it takes no ids from it.

        Raises:
            InvalidMessage: if ``body`` is not a `Message`.
            InvalidAddress: if ``to`` or ``reply_to`` is malformed.
            PolicyViolation: if a send policy refuses it.
            MailboxFull: if a bounded mailbox with ``FAIL`` or ``BLOCK`` refuses it.
        """
        if type(body) not in _messages:
            _not_a_message(body)
        if sender is None and not self.open:
            self._refuse()
        if priority.__class__ is not Priority:
            priority = Priority.parse(priority)
        if correlation_id is not None:
            _check_correlation(correlation_id)
        corr: str | int | None = correlation_id
        if sender is not None:
            sender_name: str | None = sender.name
            current = None if detached else sender.current
            if current is not None:
                if causation_id is None:
                    causation_id = current.id
                if corr is None:
                    corr = current._corr  # the conversation goes on (id formatted lazily)
        else:
            sender_name = None
        back = None if reply_to is None else parse_address(reply_to)
        slot = target if target is not None else self._names.get(to) if type(to) is str else None
        envelope = make_envelope(
            body,
            parse_address(to) if slot is None else slot.address,
            sender_name,
            kind,
            priority,
            corr,
            causation_id,
            back,
            deadline,
            None,
        )
        if slot is None:
            return self._deliver(envelope, sender)  # a role, a broadcast, or an unknown name
        if self.policy is not None:  # the common case: a plain name (or a ref's own slot)
            self.policy.check(envelope, (slot,), sender, self._system)
        return 1 if slot.mailbox.put(envelope) else 0

    def post(self, slot: Slot, body: Message, sender: Slot | None) -> int:
        """`tell` with every default, to a known slot: the path of ``AgentRef.tell(msg)``.

        Same behaviour as ``tell(slot.name, body, sender, target=slot)``, without the keyword
        handling (the send path is what agents do most).
        """
        if type(body) not in _messages:
            _not_a_message(body)
        if sender is None and not self.open:
            self._refuse()
        # make_envelope, inlined: this is the most frequent call in the framework.
        envelope = _new(Envelope)
        envelope._id = seq = next(_ids)
        envelope.to = slot.address
        envelope.body = body
        envelope.kind = _EVENT
        envelope.priority = _NORMAL
        envelope.reply_to = None
        envelope.created_at = _time()
        envelope.deadline = None
        envelope.future = None
        current = None if sender is None else sender.current
        if current is None:
            envelope.sender = None if sender is None else sender.name
            envelope._corr = seq  # a new conversation: its own id (formatted lazily)
            envelope.causation_id = None
        else:
            envelope.sender = sender.name  # type: ignore[union-attr]  # current implies sender
            envelope._corr = current._corr
            envelope.causation_id = current.id
        if self.policy is not None:
            self.policy.check(envelope, (slot,), sender, self._system)
        return 1 if slot.mailbox.put(envelope) else 0

    def _deliver(self, envelope: Envelope, sender: Slot | None) -> int:
        """Resolve the envelope's address and put it in every recipient's mailbox."""
        address = envelope.to
        if isinstance(address, Direct):
            slot = self._names.get(address.name)
            if slot is None:
                self._undeliverable(envelope, DeadLetterReason.UNKNOWN_ADDRESS)
                return 0
            recipients: tuple[Slot, ...] = (slot,)
        elif isinstance(address, Role):
            picked = self._pick(address.role, None)
            if picked is None:
                self._undeliverable(envelope, DeadLetterReason.NO_ROLE_MEMBER)
                return 0
            recipients = (picked,)
        else:
            holders = self._agents if address.role is None else self._roles.get(address.role)
            pool = () if holders is None else holders.items
            recipients = tuple(
                c for c in pool if c.alive and (address.include_self or c is not sender)
            )
            if not recipients:
                reason = (
                    DeadLetterReason.UNKNOWN_ADDRESS
                    if address.role is None
                    else DeadLetterReason.NO_ROLE_MEMBER
                )
                self._undeliverable(envelope, reason, "no recipients")
                return 0
        if self.policy is not None:
            recipients = self.policy.check(envelope, recipients, sender, self._system)
        if not isinstance(address, Broadcast):
            return 1 if recipients[0].mailbox.put(envelope) else 0
        delivered = 0
        for slot in recipients:  # a broadcast: one full mailbox must not starve the rest
            try:
                if slot.mailbox.put(envelope):
                    delivered += 1
            except MailboxFull:
                pass  # the mailbox dead-lettered its copy already
        return delivered

    def ask(
        self,
        to: AddressLike,
        body: Message,
        sender: Slot | None,
        *,
        timeout: float | None,
        priority: Priority = Priority.NORMAL,
        kind: str = Kind.QUERY,
        correlation_id: str | None = None,
        target: Slot | None = None,
    ) -> Future[Any]:
        """Send ``body`` to exactly one agent and return the future of its reply.

        ``timeout`` also stamps the envelope's deadline: if it is still queued when the
        deadline passes, it is skipped and dead-lettered (reason ``expired``). And it arms the
        future's own deadline (real time, whatever the clock): a future still pending then
        fails with `AskTimeout`, so callbacks and ``await`` see the timeout; a later reply is
        dropped.

        Raises:
            InvalidMessage, InvalidAddress: for a bad body or address (or a broadcast).
            UnknownAddress: at once, if no agent has the name or holds the role.
            AskToSelf: if an agent asks itself from inside a handler.
            PolicyViolation, MailboxFull: as for `tell`.
        """
        if type(body) not in _messages:
            _not_a_message(body)
        if sender is None and not self.open:
            self._refuse()
        if priority.__class__ is not Priority:
            priority = Priority.parse(priority)
        address = parse_address(to)
        current = sender.current if sender is not None else None
        if correlation_id is not None:
            _check_correlation(correlation_id)
        corr: str | int | None = correlation_id
        if corr is None and current is not None:
            corr = current._corr
        deadline = None if timeout is None else self._system.clock.time() + timeout
        future: Future[Any] = Future(timeout=timeout, what=address)
        envelope = make_envelope(
            body,
            address,
            None if sender is None else sender.name,
            kind,
            priority,
            corr,
            None if current is None else current.id,
            None,
            deadline,
            future,
        )
        if target is not None:
            slot = target if target.alive else None
            reason = DeadLetterReason.STOPPED
        elif isinstance(address, Direct):
            slot = self._names.get(address.name)
            reason = DeadLetterReason.UNKNOWN_ADDRESS
        elif isinstance(address, Role):
            slot = self._pick(address.role, sender)
            reason = DeadLetterReason.NO_ROLE_MEMBER
        else:
            msg = f"cannot ask {address!s}: an ask needs exactly one recipient (use a name or role)"
            raise InvalidAddress(msg, str(address))
        if slot is None:
            error = error_for(envelope, reason, None)
            self._system.dead_letter_office.record(envelope, reason, None, error)
            raise error
        if slot is sender:
            msg = f"agent {slot.name!r} asked itself from inside a handler; it could never reply"
            raise AskToSelf(msg, slot.name)
        if self.policy is not None:
            self.policy.check(envelope, (slot,), sender, self._system)
        slot.mailbox.put(envelope)
        deadline_at = future._deadline
        if deadline_at is not None and not future.done():
            self._system.timers.expire(future, deadline_at)
        return future

    def _pick(self, role: str, avoid: Slot | None) -> Slot | None:
        """Round-robin over the live holders of ``role``, skipping ``avoid`` if others exist."""
        holders = self._roles.get(role)
        if holders is None:
            return None
        items = holders.items
        count = len(items)
        if not count:
            return None
        counter = self._round_robin.get(role)
        if counter is None:
            counter = self._round_robin.setdefault(role, itertools.count())
        start = next(counter)
        fallback = None
        for step in range(count):
            slot = items[(start + step) % count]
            if not slot.alive:
                continue
            if slot is avoid:
                fallback = slot
                continue
            return slot
        return fallback

    def _refuse(self) -> None:
        msg = f"system {self._system.name!r} is shut down; it takes no new messages from outside"
        raise SystemStopped(msg)

    def _undeliverable(
        self, envelope: Envelope, reason: DeadLetterReason, detail: str | None = None
    ) -> None:
        self._system.dead_letter_office.record(envelope, reason, detail)


_EVENT = Kind.EVENT
_NORMAL = Priority.NORMAL
_new = object.__new__
_time = time.time


def _check_correlation(value: object) -> None:
    if type(value) is not str or not 0 < len(value) <= 128:
        msg = f"correlation_id must be a string of 1-128 characters, got {value!r:.80}"
        raise InvalidEnvelope(msg, "correlation_id")


def _not_a_message(body: object) -> None:
    if isinstance(body, Message):  # a subclass built in an unusual way: fine after all
        _messages.add(type(body))
        return
    msg = (
        f"messages must be actors.Message instances (frozen pydantic models), "
        f"got {type(body).__name__}: {body!r}"
    )
    raise InvalidMessage(msg, body)
