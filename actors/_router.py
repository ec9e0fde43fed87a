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
through them. A transport to other nodes (`actors.nats`) plugs in here as ``remote`` (the
`actors._remote.Remote` interface) without touching agent code: an address is still resolved
locally first, and only what no local slot settles goes to the other nodes (a name another
node holds; a role whose local pick is busy, when another node holds the role; the other nodes'
share of a broadcast). What arrives from other nodes comes in through `accept`, which resolves
locally only.

Addressing: a name reaches its agent (restarting agents included: their mailbox keeps
queueing); a role reaches exactly one live holder, chosen by the role's strategy
(`actors.routing`: round-robin across all senders unless `set_routing` chose another; a
holder between incarnations only when no other is running); a broadcast
reaches every live agent (optionally only those holding a role) except the sender, unless
``include_self``. Supervisors have names (they are unique with everything else) but no roles and
are never broadcast to. Inboxes (`actors.inbox`) are addressed exactly like agents: by name,
role and broadcast. Whatever cannot be delivered becomes a dead letter.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from actors._deadletters import error_for
from actors.address import (
    NOWHERE,
    AddressLike,
    Broadcast,
    Direct,
    Nowhere,
    Role,
    parse_address,
    validate_name,
)
from actors.envelope import Envelope
from actors.envelope import _id_counter as _ids
from actors.errors import (
    AskError,
    AskToSelf,
    DeliveryError,
    DuplicateName,
    InvalidAddress,
    InvalidConfig,
    InvalidEnvelope,
    InvalidMessage,
    MailboxFull,
    SystemStopped,
)
from actors.events import DeadLetterReason
from actors.future import Future
from actors.messages import Kind, Message, Priority, wire_name
from actors.messages import message_classes as _messages
from actors.request import Request
from actors.routes import Routes
from actors.routing import RoundRobin, Routing, RoutingStrategy, round_robin
from actors.traffic import MessageSent

if TYPE_CHECKING:
    from actors._remote import Remote, RemoteSender
    from actors._runtime import Runtime
    from actors._slot import Slot
    from actors.message_log import MessageLog
    from actors.send_policy import SendPolicy

__all__ = ["RouteTable", "Router"]

_COMPACT_MIN = 32  # removed slots an array may hold before it is worth compacting
# The kinds of slot that hold roles and get broadcasts (supervisors only have names).
_ADDRESSABLE = frozenset({"agent", "inbox"})


class _Holders:
    """An append-only array of slots: the holders of one role, or every agent.

    Written only under the router's writer lock. ``items`` is never shortened in place:
    removed slots stay (a closed slot is not ``alive`` and readers skip it) until they are half
    the array, when a compacted copy replaces it. So every operation is O(1) amortized and a
    reader iterates whatever list it read, without a lock.
    """

    __slots__ = ("dead", "items", "routing")

    def __init__(self) -> None:
        self.items: list[Slot] = []
        self.dead = 0
        self.routing: RoutingStrategy | None = None  # None: round-robin, inlined in _pick

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
        """Every live agent, in registration order (the broadcast targets but the inboxes)."""
        return tuple(
            slot for slot in self._router._agents.items if slot.alive and slot.kind == "agent"
        )

    def holders(self, role: str) -> tuple[Slot, ...]:
        """The live holders of ``role``, in registration order."""
        holders = self._router._roles.get(role)
        return () if holders is None else holders.live()


class Router:
    """Resolves addresses and delivers envelopes; see the module docstring.

    Thread-safe: every method may be called from any thread.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._write = threading.Lock()
        self._names: dict[str, Slot] = {}
        self._names_view = MappingProxyType(self._names)
        self._agents = _Holders()
        self._roles: dict[str, _Holders] = {}
        self._round_robin: dict[str, Iterator[int]] = {}
        # Names of closed inboxes (until a new registration takes the name): a send to one is
        # dead-lettered "stopped", as the inbox's close promises, not "unknown_address".
        self._closed_inboxes: set[str] = set()
        self._table = RouteTable(self)
        self._policy: SendPolicy | None = None
        self.routes = Routes()  # publish by type (actors.routes)
        self._tap = runtime.tap  # traffic subscribers: MessageSent wanted?
        # One flag for "a plain tell to a known slot cannot go straight to its mailbox" (a
        # send policy, a MessageSent subscriber or a message log): the fast path tests nothing
        # else.
        self.detour = False
        self.log: MessageLog | None = None  # see `keep_log`
        totals = runtime.totals
        self._sent = totals.sent  # one next() per send: exact from any thread
        self._missed = totals.missed
        self.open = True  # False once the system shuts down: outside senders are refused
        self.remote: Remote | None = None  # the transport to other nodes (actors._remote)

    @property
    def policy(self) -> SendPolicy | None:
        """The send policy every send is checked against, or None."""
        return self._policy

    @policy.setter
    def policy(self, policy: SendPolicy | None) -> None:
        self._policy = policy
        self.follow_tap()

    def follow_tap(self) -> None:
        """Recompute `detour` (the policy, the traffic subscribers or the log changed)."""
        self.detour = self._policy is not None or self._tap.sent or self._tap.log

    def keep_log(self, log: MessageLog) -> None:
        """Log every send in ``log`` from now on (`_deliver` appends each envelope)."""
        self.log = log
        self._tap.log = True
        self.follow_tap()

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
                    system = self._runtime.name
                    msg = f"the name {slot.name!r} is already taken in system {system!r}"
                    raise DuplicateName(msg, slot.name)
                seen.add(slot.name)
            if self.remote is not None:
                self.remote.claim(slots)  # cluster-wide, all or none (raises NameTaken)
            else:
                _no_durable(slots)
            for slot in slots:
                names[slot.name] = slot
                self._closed_inboxes.discard(slot.name)
                if slot.kind not in _ADDRESSABLE:
                    continue
                self._agents.add(slot)
                for role in slot.roles:
                    holders = self._roles.get(role)
                    if holders is None:
                        holders = self._roles[role] = _Holders()
                    holders.add(slot)

    def set_routing(self, role: str, strategy: RoutingStrategy) -> None:
        """Make sends to ``role`` pick their recipient with ``strategy`` (see `actors.routing`).

        Raises:
            InvalidAddress: for a malformed role.
            InvalidConfig: if ``strategy`` is not a `RoutingStrategy`.
        """
        validate_name(role, "role")
        if not isinstance(strategy, RoutingStrategy):
            msg = (
                f"routing for role {role!r} must be a RoutingStrategy (Routing.ROUND_ROBIN, "
                f"Routing.LEAST_BUSY, Routing.consistent_hash(key)), got {strategy!r:.80}"
            )
            raise InvalidConfig(msg)
        with self._write:
            holders = self._roles.get(role)
            if holders is None:
                holders = self._roles[role] = _Holders()
            holders.routing = None if isinstance(strategy, RoundRobin) else strategy

    def routing(self, role: str) -> RoutingStrategy:
        """The strategy sends to ``role`` use (`Routing.ROUND_ROBIN` unless set)."""
        holders = self._roles.get(role)
        strategy = None if holders is None else holders.routing
        return _ROUND_ROBIN if strategy is None else strategy

    def unregister(self, slots: list[Slot]) -> None:
        """Remove ``slots`` (already closed) from the table; unknown ones are ignored."""
        removed: list[Slot] = []
        with self._write:
            names = self._names
            for slot in slots:
                if names.get(slot.name) is not slot:
                    continue
                del names[slot.name]
                removed.append(slot)
                if slot.kind == "inbox":
                    self._closed_inboxes.add(slot.name)
                if slot.kind not in _ADDRESSABLE:
                    continue
                self._agents.remove()
                for role in slot.roles:
                    self._roles[role].remove()
        if removed and self.remote is not None:
            self.remote.release(removed)

    # -- sends: any thread ---------------------------------------------------------------------

    def tell(  # noqa: PLR0917 - positional on purpose: refs call it on every send
        self,
        to: AddressLike,
        body: Message,
        sender: Slot | None,
        target: Slot | None = None,
        kind: str = Kind.EVENT,
        priority: Priority = Priority.NORMAL,
        reply_to: AddressLike | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        deadline: float | None = None,
        detached: bool = False,
        future: Future[Any] | None = None,
    ) -> int:
        """The send path: resolve, stamp, build the envelope, put. Every send goes through it.

        ``target`` (used by `AgentRef`) names the slot directly: no lookup, and a closed slot
        means a dead letter with reason ``stopped``. ``detached`` (timers): the send is not
        made while the sender handles its current message, so it takes no ids from it.
        ``future`` makes the send an ask (see `ask`): it needs exactly one recipient, and an
        address nobody holds raises instead of only leaving a dead letter.

        Returns:
            How many mailboxes took the envelope (0: it was dead-lettered).

        Raises:
            InvalidMessage: if ``body`` is not a `Message`.
            InvalidAddress: if ``to`` or ``reply_to`` is malformed (or an ask is broadcast).
            UnknownAddress, AgentUnavailable, AskToSelf: for an ask that cannot be delivered.
            PolicyViolation: if a send policy refuses it.
            MailboxFull: if a bounded mailbox with ``FAIL`` or ``BLOCK`` refuses it.
            SystemStopped: for a sender outside the system once it shuts down.
        """
        if type(body) not in _messages:
            _not_a_message(body)
        if priority is not _NORMAL and priority.__class__ is not Priority:
            priority = Priority.parse(priority)
        # Stamp: the conversation goes on (the id of the message in hand, formatted lazily).
        corr: str | int | None = correlation_id
        if corr is not None:
            _check_correlation(corr)
        if sender is None:
            if not self.open:
                self._refuse()
            sender_name = None
        else:
            sender_name = sender.name
            current = None if detached else sender.current
            if current is not None:
                if causation_id is None:
                    causation_id = current.id
                if corr is None:
                    corr = current._corr
        # Resolve: a ref's own slot or a plain name needs no address parsing.
        slot = target if target is not None else self._names.get(to) if type(to) is str else None
        # Build: the one place the send path makes envelopes (field by field: a constructor
        # call with keywords would cost a fifth of the whole send).
        envelope = _new(Envelope)
        envelope._id = seq = next(_ids)
        envelope.sender = sender_name
        envelope.to = parse_address(to) if slot is None else slot.address
        envelope.body = body
        envelope.kind = kind
        envelope.priority = priority
        envelope._corr = seq if corr is None else corr  # no conversation yet: it starts one
        envelope.causation_id = causation_id
        envelope.reply_to = None if reply_to is None else parse_address(reply_to)
        envelope.created_at = _time()
        envelope.deadline = deadline
        envelope.future = future
        next(self._sent)
        if future is not None:
            future.sent_id = seq  # a request's envelope id (formatted when read)
        if slot is None or future is not None or self.detour:
            return self._route(envelope, slot, sender)  # anything but a plain tell to a slot
        try:
            if slot.mailbox.put(envelope):  # the common case: a plain name, or a ref's slot
                return 1
        except BaseException:
            next(self._missed)
            raise
        next(self._missed)
        return 0

    def publish(self, body: Message, sender: Slot | None, *, detached: bool = False) -> int:
        """Send ``body`` where the route for its class says (see `actors.routes`).

        Returns:
            How many mailboxes took it (0: recorded only, or dead-lettered ``no_route``).

        Raises:
            InvalidMessage: if ``body`` is not a `Message`; else as `tell`.
        """
        if type(body) not in _messages:
            _not_a_message(body)
        route = self.routes.resolve(type(body))
        if route is not None:
            to = NOWHERE if route.address is None else route.address
            return self.tell(to, body, sender, detached=detached)
        if sender is None and not self.open:
            self._refuse()
        current = None if sender is None or detached else sender.current
        envelope = Envelope(
            body,
            NOWHERE,
            sender=None if sender is None else sender.name,
            correlation_id=None if current is None else current.correlation_id,
            causation_id=None if current is None else current.id,
        )
        next(self._sent)
        next(self._missed)
        detail = f"no route for {wire_name(body)}"
        self._runtime.dead_letters.record(envelope, DeadLetterReason.NO_ROUTE, detail)
        return 0

    def _route(self, envelope: Envelope, slot: Slot | None, sender: Slot | None) -> int:
        """Resolve, check, announce and put an envelope: every send but the plainest."""
        try:
            delivered = self._deliver(envelope, slot, sender)
        except BaseException:
            next(self._missed)
            raise
        if delivered != 1:
            if delivered:
                self._runtime.totals.add_fanout(delivered - 1)
            else:
                next(self._missed)
        return delivered

    def _deliver(self, envelope: Envelope, slot: Slot | None, sender: Slot | None) -> int:
        recipients = self._resolve(envelope, slot, sender)
        if type(recipients) is int:  # handed to another node
            if self._tap.sent:
                self._announce(envelope, recipients)
            if self._tap.log:
                self.log.append(envelope)  # type: ignore[union-attr]  # set with tap.log
            return recipients
        assert type(recipients) is tuple
        policy = self._policy
        if recipients and policy is not None:
            recipients = policy.check(envelope, recipients, sender, self._runtime)
        if self._tap.sent:  # before any mailbox: its MessageHandled cannot come first
            self._announce(envelope, len(recipients))
        if self._tap.log:  # once per send (a broadcast too), dead letters included
            self.log.append(envelope)  # type: ignore[union-attr]  # set with tap.log
        if not recipients:
            return 0
        if type(envelope.to) is Broadcast:
            return self._put_all(envelope, recipients)
        return 1 if recipients[0].mailbox.put(envelope) else 0

    def _announce(self, envelope: Envelope, recipients: int) -> None:
        """Publish `MessageSent` (someone subscribed to it)."""
        self._runtime.publish(
            MessageSent,
            envelope_id=envelope.id,
            sender=envelope.sender,
            address=str(envelope.to),
            recipients=recipients,
            message_type=wire_name(envelope.body),
            kind=str(envelope.kind),
            priority=envelope.priority.name.lower(),
            correlation_id=envelope.correlation_id,
            causation_id=envelope.causation_id,
        )

    def request(
        self, to: AddressLike, body: Message, sender: Slot | None, **options: Any
    ) -> Request[Any]:
        """`ask`, returning the future as the `actors.Request` it is (``options``: as `ask`)."""
        request = self.ask(to, body, sender, request=True, **options)
        assert isinstance(request, Request)
        return request

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
        request: bool = False,
        causation_id: str | None = None,
        detached: bool = False,
    ) -> Future[Any]:
        """Send ``body`` to exactly one agent (through `tell`) and return the future of its reply.

        ``timeout`` also stamps the envelope's deadline: if it is still queued when the
        deadline passes, it is skipped and dead-lettered (reason ``expired``). And it arms the
        future's own deadline (real time, whatever the clock): a future still pending then
        fails with `AskTimeout`, so callbacks and ``await`` see the timeout; a later reply is
        dropped. ``request``: the future is an `actors.Request`. ``causation_id`` and
        ``detached`` are as for `tell` (a gather sends from whichever thread frees a place).

        Raises:
            InvalidMessage, InvalidAddress: for a bad body or address (or a broadcast).
            UnknownAddress: at once, if no agent has the name or holds the role.
            AgentUnavailable: at once, if ``target`` is closed.
            AskToSelf: if an agent asks itself from inside a handler.
            PolicyViolation, MailboxFull: as for `tell`.
        """
        deadline = None if timeout is None else self._runtime.clock.time() + timeout
        future: Future[Any] = (
            Request(timeout=timeout, what=to) if request else Future(timeout=timeout, what=to)
        )
        self.tell(
            to, body, sender, target, kind, priority, None, correlation_id, causation_id,
            deadline, detached, future,
        )  # fmt: skip

        deadline_at = future._deadline
        if deadline_at is not None and not future.done():
            self._runtime.timers.expire(future, deadline_at)
        return future

    def accept(self, envelope: Envelope, sender: RemoteSender | None) -> int:
        """Deliver an envelope that came from another node (the transport's thread calls it).

        It is resolved among this node's slots only (never sent on to other nodes), checked
        against the send policy with ``sender`` (its name and roles) and put. What cannot be
        delivered is dead-lettered here; an ask's future fails with the error instead.

        Returns:
            How many mailboxes took it.
        """
        try:
            recipients = self._resolve(envelope, None, None, incoming=True)
            assert type(recipients) is tuple
            policy = self._policy
            if recipients and policy is not None:
                recipients = policy.check(envelope, recipients, sender, self._runtime)  # type: ignore[arg-type]  # has what a rule reads
            if not recipients:
                return 0
            if type(envelope.to) is Broadcast:
                return self._put_all(envelope, recipients)
            return 1 if recipients[0].mailbox.put(envelope) else 0
        except (DeliveryError, AskError):
            return 0  # dead-lettered (and an ask's future failed) where it was raised

    def _remote(self, envelope: Envelope, sender: Slot | None) -> int:
        """Hand ``envelope`` to the other nodes; 1 once handed over (asks included)."""
        remote = self.remote
        assert remote is not None
        if envelope.future is None:
            return remote.tell(envelope, sender)
        remote.ask(envelope, sender)
        return 1

    def _resolve(
        self,
        envelope: Envelope,
        slot: Slot | None,
        sender: Slot | None,
        *,
        incoming: bool = False,
    ) -> tuple[Slot, ...] | int:
        """The recipients of ``envelope`` (``slot``: already looked up); () if undeliverable.

        An int instead: the envelope went to another node (``incoming``: it came from one, so
        it is resolved locally only). What cannot be delivered is dead-lettered here (and, for
        an ask, raised).
        """
        address = envelope.to
        asking = envelope.future is not None
        remote = None if incoming else self.remote
        if slot is not None:  # an ask to a known slot
            if not slot.alive:
                self._undeliverable(envelope, DeadLetterReason.STOPPED)
                return ()
        elif type(address) is Direct:
            slot = self._names.get(address.name)
            if slot is None:
                if remote is not None and remote.knows(address.name):
                    return self._remote(envelope, sender)
                gone = address.name in self._closed_inboxes
                reason = DeadLetterReason.STOPPED if gone else DeadLetterReason.UNKNOWN_ADDRESS
                self._undeliverable(envelope, reason)
                return ()
        elif type(address) is Role:
            if remote is not None and not asking and remote.durable(address.role):
                return remote.tell(envelope, sender)  # the role's stream, shared by its members
            slot = self._pick(address.role, sender if asking else None, envelope.body)
            if (
                remote is not None
                and (slot is None or slot.current is not None or slot.mailbox.qsize())
                and remote.wants(address.role)
            ):  # no idle local holder, and another node holds the role: its queue group
                return self._remote(envelope, sender)
            if slot is None:
                self._undeliverable(envelope, DeadLetterReason.NO_ROLE_MEMBER)
                return ()
        elif type(address) is Nowhere:
            if asking:
                msg = "cannot ask '-' (nobody): an ask needs exactly one recipient"
                raise InvalidAddress(msg, "-")
            return ()  # recorded only: nobody gets it, and it is no dead letter
        else:
            return self._broadcast_recipients(envelope, sender, remote, incoming=incoming)
        if asking:
            if slot is sender:
                msg = f"agent {slot.name!r} asked itself from inside a handler; it can never reply"
                raise AskToSelf(msg, slot.name)
            envelope.future.target = slot  # type: ignore[union-attr]  # asking: it is set
        return (slot,)

    def _broadcast_recipients(
        self,
        envelope: Envelope,
        sender: Slot | None,
        remote: Remote | None,
        *,
        incoming: bool = False,
    ) -> tuple[Slot, ...]:
        """Every local live agent a broadcast reaches; () (and a dead letter) if none at all.

        ``remote``: the other nodes get it too, if any holds the role (or any is alive).
        ``incoming``: it came from another node, which has its own recipients: none here is
        no dead letter.
        """
        address = envelope.to
        assert isinstance(address, Broadcast)
        if envelope.future is not None:
            msg = f"cannot ask {address!s}: an ask needs exactly one recipient (a name or role)"
            raise InvalidAddress(msg, str(address))
        holders = self._agents if address.role is None else self._roles.get(address.role)
        pool = () if holders is None else holders.items
        recipients = tuple(c for c in pool if c.alive and (address.include_self or c is not sender))
        if remote is not None and remote.wants(address.role) and remote.tell(envelope, sender):
            return recipients  # other nodes have recipients: none here is no dead letter
        if not recipients and not incoming:
            reason = (
                DeadLetterReason.UNKNOWN_ADDRESS
                if address.role is None
                else DeadLetterReason.NO_ROLE_MEMBER
            )
            self._undeliverable(envelope, reason, "no recipients")
        return recipients

    @staticmethod
    def _put_all(envelope: Envelope, recipients: tuple[Slot, ...]) -> int:
        """Put a broadcast in every mailbox: one full mailbox must not starve the rest."""
        delivered = 0
        for slot in recipients:
            try:
                if slot.mailbox.put(envelope):
                    delivered += 1
            except MailboxFull:
                pass  # the mailbox dead-lettered its copy already
        return delivered

    def _pick(self, role: str, avoid: Slot | None, body: Message) -> Slot | None:
        """The holder of ``role`` that gets ``body``, by the role's strategy (default round-robin).

        ``avoid`` (an asking agent) is picked only if no other holder is alive.
        """
        holders = self._roles.get(role)
        if holders is None:
            return None
        items = holders.items
        if not items:
            return None
        counter = self._round_robin.get(role)
        if counter is None:
            counter = self._round_robin.setdefault(role, itertools.count())
        routing = holders.routing
        if routing is None:
            return round_robin(items, next(counter), avoid)
        return routing.pick(items, next(counter), avoid, body)

    def _refuse(self) -> None:
        msg = f"system {self._runtime.name!r} is shut down; it takes no new messages from outside"
        raise SystemStopped(msg)

    def _undeliverable(
        self, envelope: Envelope, reason: DeadLetterReason, detail: str | None = None
    ) -> None:
        """Dead-letter ``envelope``; an ask raises the error its future fails with."""
        if envelope.future is None:
            self._runtime.dead_letters.record(envelope, reason, detail)
            return
        error = error_for(envelope, reason, detail)
        self._runtime.dead_letters.record(envelope, reason, detail, error)
        raise error


_NORMAL = Priority.NORMAL
_ROUND_ROBIN = Routing.ROUND_ROBIN
_new = object.__new__
_time = time.time


def _no_durable(slots: list[Slot]) -> None:
    """Refuse durable slots in a system without a transport (nothing could back them)."""
    for slot in slots:
        if slot.options.durable:
            msg = (
                f"agent {slot.name!r} is durable, but the system has no transport: durable "
                "mailboxes are JetStream streams (ActorSystem(transport=NatsTransport(...)))"
            )
            raise InvalidConfig(msg)


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
