"""The router: the address table and the one seam every message goes through.

Two halves, as in ``shared/design.md`` section 1:

- **Writes** (register, unregister) are handled by the router's own actor (`RegistryActor`,
  one thread per system), one at a time; each publishes a new immutable `RouteTable`.
- **Sends** run in the sender's own thread: read the current table (one attribute read),
  resolve the address, build one envelope, put it in the mailbox(es). No thread hop.

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
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actors.address import AddressLike, Broadcast, Direct, Role, parse_address
from actors.agent import AgentActor
from actors.deadletters import error_for
from actors.envelope import Envelope, make_envelope
from actors.envelope import _id_counter as _ids
from actors.errors import AskToSelf, DuplicateName, InvalidAddress, InvalidMessage, MailboxFull
from actors.events import DeadLetterReason
from actors.future import Future
from actors.messages import Kind, Message, Priority
from actors.messages import message_classes as _messages

if TYPE_CHECKING:
    from actors._cell import Cell
    from actors.send_policy import SendPolicy
    from actors.system import ActorSystem

__all__ = ["RegistryActor", "RouteTable", "Router"]


@dataclass(frozen=True, slots=True)
class RouteTable:
    """An immutable snapshot of a system's addresses."""

    names: Mapping[str, Cell]  # every registered slot: agents and supervisors
    roles: Mapping[str, tuple[Cell, ...]]  # role -> holders, in registration order
    agents: tuple[Cell, ...]  # broadcast targets: every agent, in registration order
    version: int


_EMPTY = RouteTable(names={}, roles={}, agents=(), version=0)


def _with(table: RouteTable, added: list[Cell], removed: set[Cell]) -> RouteTable:
    names = {name: cell for name, cell in table.names.items() if cell not in removed}
    names.update((cell.name, cell) for cell in added)
    agents = tuple(c for c in table.agents if c not in removed) + tuple(
        c for c in added if c.kind == "agent"
    )
    roles: dict[str, tuple[Cell, ...]] = {}
    for cell in agents:
        for role in sorted(cell.roles):
            roles[role] = (*roles.get(role, ()), cell)
    return RouteTable(names=names, roles=roles, agents=agents, version=table.version + 1)


class Router:
    """Resolves addresses and delivers envelopes; see the module docstring.

    Thread-safe: `tell` and `ask` may be called from any thread.
    """

    def __init__(self, system: ActorSystem) -> None:
        self._system = system
        self._table = _EMPTY
        self._round_robin: dict[str, Iterator[int]] = {}
        self.policy: SendPolicy | None = None

    @property
    def table(self) -> RouteTable:
        """The current snapshot."""
        return self._table

    # -- writes: only ever called in the registry actor's thread -----------------------------

    def _add(self, cells: list[Cell]) -> None:
        table = self._table
        seen: set[str] = set()
        for cell in cells:
            if cell.name in table.names or cell.name in seen:
                msg = f"the name {cell.name!r} is already taken in system {self._system.name!r}"
                raise DuplicateName(msg, cell.name)
            seen.add(cell.name)
        self._table = _with(table, cells, set())

    def _remove(self, cells: list[Cell]) -> None:
        table = self._table
        gone = {cell for cell in cells if table.names.get(cell.name) is cell}
        if gone:
            self._table = _with(table, [], gone)

    # -- sends: any thread ---------------------------------------------------------------------

    def tell(
        self,
        to: AddressLike,
        body: Message,
        sender: Cell | None,
        *,
        kind: str = Kind.EVENT,
        priority: Priority = Priority.NORMAL,
        reply_to: AddressLike | None = None,
        correlation_id: str | None = None,
        deadline: float | None = None,
        causation_id: str | None = None,
        target: Cell | None = None,
    ) -> int:
        """Deliver ``body`` to ``to``; returns how many mailboxes took it (0: dead-lettered).

        ``target`` (used by `AgentRef`) names the slot directly: no lookup, and a closed slot
        means a dead letter with reason ``stopped``.

        Raises:
            InvalidMessage: if ``body`` is not a `Message`.
            InvalidAddress: if ``to`` or ``reply_to`` is malformed.
            PolicyViolation: if a send policy refuses it.
            MailboxFull: if a bounded mailbox with ``FAIL`` or ``BLOCK`` refuses it.
        """
        if type(body) not in _messages:
            _not_a_message(body)
        if priority.__class__ is not Priority:
            priority = Priority.parse(priority)
        if sender is not None:
            sender_name: str | None = sender.name
            current = sender.current
            if current is not None:
                if causation_id is None:
                    causation_id = current.id
                if correlation_id is None:
                    correlation_id = current.correlation_id
        else:
            sender_name = None
        back = None if reply_to is None else parse_address(reply_to)
        cell = (
            target if target is not None else self._table.names.get(to) if type(to) is str else None
        )
        envelope = make_envelope(
            body,
            parse_address(to) if cell is None else cell.address,
            sender_name,
            kind,
            priority,
            correlation_id,
            causation_id,
            back,
            deadline,
            None,
        )
        if cell is None:
            return self._deliver(envelope, sender)  # a role, a broadcast, or an unknown name
        if self.policy is not None:  # the common case: a plain name (or a ref's own slot)
            self.policy.check(envelope, (cell,), sender, self._system)
        return 1 if cell.mailbox.put(envelope) else 0

    def post(self, cell: Cell, body: Message, sender: Cell | None) -> int:
        """`tell` with every default, to a known slot: the path of ``AgentRef.tell(msg)``.

        Same behaviour as ``tell(cell.name, body, sender, target=cell)``, without the keyword
        handling (the send path is what agents do most).
        """
        if type(body) not in _messages:
            _not_a_message(body)
        # make_envelope, inlined: this is the most frequent call in the framework.
        envelope = _new(Envelope)
        envelope._id = next(_ids)
        envelope.to = cell.address
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
            envelope.correlation_id = None
            envelope.causation_id = None
        else:
            envelope.sender = sender.name  # type: ignore[union-attr]  # current implies sender
            envelope.correlation_id = current.correlation_id
            envelope.causation_id = current.id
        if self.policy is not None:
            self.policy.check(envelope, (cell,), sender, self._system)
        return 1 if cell.mailbox.put(envelope) else 0

    def _deliver(self, envelope: Envelope, sender: Cell | None) -> int:
        """Resolve the envelope's address and put it in every recipient's mailbox."""
        address = envelope.to
        table = self._table
        if isinstance(address, Direct):
            cell = table.names.get(address.name)
            if cell is None:
                self._undeliverable(envelope, DeadLetterReason.UNKNOWN_ADDRESS)
                return 0
            recipients: tuple[Cell, ...] = (cell,)
        elif isinstance(address, Role):
            picked = self._pick(table, address.role, None)
            if picked is None:
                self._undeliverable(envelope, DeadLetterReason.NO_ROLE_MEMBER)
                return 0
            recipients = (picked,)
        else:
            pool = table.agents if address.role is None else table.roles.get(address.role, ())
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
        for cell in recipients:  # a broadcast: one full mailbox must not starve the rest
            try:
                if cell.mailbox.put(envelope):
                    delivered += 1
            except MailboxFull:
                pass  # the mailbox dead-lettered its copy already
        return delivered

    def ask(
        self,
        to: AddressLike,
        body: Message,
        sender: Cell | None,
        *,
        timeout: float | None,
        priority: Priority = Priority.NORMAL,
        kind: str = Kind.QUERY,
        correlation_id: str | None = None,
        target: Cell | None = None,
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
        if priority.__class__ is not Priority:
            priority = Priority.parse(priority)
        address = parse_address(to)
        table = self._table
        current = sender.current if sender is not None else None
        if correlation_id is None and current is not None:
            correlation_id = current.correlation_id
        deadline = None if timeout is None else self._system.clock.time() + timeout
        future: Future[Any] = Future(timeout=timeout, what=address)
        envelope = make_envelope(
            body,
            address,
            None if sender is None else sender.name,
            kind,
            priority,
            correlation_id,
            None if current is None else current.id,
            None,
            deadline,
            future,
        )
        if correlation_id is None:
            envelope.correlation_id = envelope.id  # an ask starts a conversation
        if target is not None:
            cell = target if target.alive else None
            reason = DeadLetterReason.STOPPED
        elif isinstance(address, Direct):
            cell = table.names.get(address.name)
            reason = DeadLetterReason.UNKNOWN_ADDRESS
        elif isinstance(address, Role):
            cell = self._pick(table, address.role, sender)
            reason = DeadLetterReason.NO_ROLE_MEMBER
        else:
            msg = f"cannot ask {address!s}: an ask needs exactly one recipient (use a name or role)"
            raise InvalidAddress(msg, str(address))
        if cell is None:
            error = error_for(envelope, reason, None)
            self._system.dead_letter_office.record(envelope, reason, None, error)
            raise error
        if cell is sender:
            msg = f"agent {cell.name!r} asked itself from inside a handler; it could never reply"
            raise AskToSelf(msg, cell.name)
        if self.policy is not None:
            self.policy.check(envelope, (cell,), sender, self._system)
        cell.mailbox.put(envelope)
        deadline_at = future._deadline
        if deadline_at is not None and not future.done():
            self._system.timers.expire(future, deadline_at)
        return future

    def _pick(self, table: RouteTable, role: str, avoid: Cell | None) -> Cell | None:
        """Round-robin over the live holders of ``role``, skipping ``avoid`` if others exist."""
        holders = table.roles.get(role)
        if not holders:
            return None
        counter = self._round_robin.get(role)
        if counter is None:
            counter = self._round_robin.setdefault(role, itertools.count())
        start = next(counter)
        count = len(holders)
        fallback = None
        for step in range(count):
            cell = holders[(start + step) % count]
            if not cell.alive:
                continue
            if cell is avoid:
                fallback = cell
                continue
            return cell
        return fallback

    def _undeliverable(
        self, envelope: Envelope, reason: DeadLetterReason, detail: str | None = None
    ) -> None:
        self._system.dead_letter_office.record(envelope, reason, detail)


_EVENT = Kind.EVENT
_NORMAL = Priority.NORMAL
_new = object.__new__
_time = time.time


def _not_a_message(body: object) -> None:
    if isinstance(body, Message):  # a subclass built in an unusual way: fine after all
        _messages.add(type(body))
        return
    msg = (
        f"messages must be actors.Message instances (frozen pydantic models), "
        f"got {type(body).__name__}: {body!r}"
    )
    raise InvalidMessage(msg, body)


class RegistryActor(AgentActor):
    """The router's actor: the one thread that writes a system's address table.

    Registrations and unregistrations reach it as calls in its control lane
    (``Cell.call``) and run one at a time, each publishing a new `RouteTable`.
    """
