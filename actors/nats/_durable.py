"""Durable mailboxes: an agent's messages through a JetStream stream, acked once handled.

One stream per cluster, ``<cluster>_durable`` on subjects ``<cluster>.durable.<name>``, with
work-queue retention (a message is gone once acknowledged). Each durable agent has a durable
pull consumer ``d-<name>`` filtered on its subject, so whichever node spawns the name next
binds to the same consumer and gets what was never acknowledged.

A **durable role** (a role some durable agent holds) has one more subject,
``<cluster>.durable._r.<role>`` (``_`` starts no name, so it never meets a name's subject),
and one consumer ``r-<role>`` that every node with a durable holder of the role pulls from:
each message goes to one node, which hands it to one of its durable holders (round-robin);
if that node dies, what it did not acknowledge goes to another member.

The agent's mailbox stays the ordinary queue, with two methods overridden (its class is
swapped for a subclass with the same layout, so other agents pay nothing):

- ``put`` of a tell publishes the envelope to the stream instead of queueing it (asks, which
  need their reply future, are queued directly: an ask is at-most-once);
- ``get`` acknowledges the previous message before taking the next: the loop asks for the next
  message only once the previous one's handler returned or raised (or it was skipped as
  expired). A message still queued when the agent stops is not acknowledged: it stays in the
  stream for the next spawn of the name (``nak``-ed so that comes at once).

A pump task per agent fetches at most `_BATCH` unacknowledged messages at a time into the
queue, each with ``envelope.deliveries`` from JetStream's delivery count, and keeps them alive
(``in_progress``) while they wait, so ``ack_wait`` bounds only how long a dead node holds them.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from loguru import logger

from actors.envelope import Envelope
from actors.errors import DeliveryError, InvalidEnvelope
from actors.nats._wire import decode_frame, encode_frame

if TYPE_CHECKING:
    from nats.aio.msg import Msg

    from actors._mailboxes import MailboxQueue
    from actors._slot import Slot
    from actors.nats._node import Node

__all__ = ["Durables"]

_BATCH = 64  # unacknowledged messages a durable agent holds at most
_ACK, _NAK = b"+ACK", b"-NAK"  # JetStream's acknowledgement payloads
_STATES: dict[int, _State] = {}  # id(queue) -> its durable state (the queue has no room for it)
_CLASSES: dict[type[Any], type[Any]] = {}


class _State:
    """One durable agent's consumer, and what it fetched but did not acknowledge yet."""

    def __init__(self, durables: Durables, slot: Slot, base: type[Any]) -> None:
        self.durables = durables
        self.slot = slot
        self.base = base  # the queue's own class: its put and get
        self.subject = durables.subject(slot.name)
        self.pending: dict[int, tuple[Envelope, Msg]] = {}  # id(envelope) -> its message
        self.taken: object = None  # the last item the agent took (agent thread only)
        self.psub: Any = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.closed = False


def _durable_class(base: type[Any]) -> type[Any]:
    """The subclass of the queue class ``base`` whose put and get go through the stream."""
    cls = _CLASSES.get(base)
    if cls is not None:
        return cls

    def put(self: Any, envelope: Envelope) -> bool:
        state = _STATES.get(id(self))
        if state is None or envelope.future is not None or state.closed:
            return bool(base.put(self, envelope))
        if self.closed:
            return bool(base.put(self, envelope))  # refused by the queue itself
        return state.durables.publish_local(state, envelope)

    def get(self: Any) -> object:
        state = _STATES.get(id(self))
        if state is not None:
            taken, state.taken = state.taken, None
            if type(taken) is Envelope:
                state.durables.settle(state, taken, ack=True)
        item = base.get(self)
        if state is not None:
            state.taken = item
        return item

    cls = type(f"Durable{base.__name__}", (base,), {"__slots__": (), "put": put, "get": get})
    _CLASSES[base] = cls
    return cls


class _RoleState:
    """A node's share of one durable role: its local durable holders and the role's consumer."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.holders: list[_State] = []
        self.psub: Any = None
        self.task: asyncio.Task[Any] | None = None
        self.turn = 0


class Durables:
    """A node's durable agents; see the module docstring. Runs in the node's loop."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.stream = f"{node.cluster}_durable"
        self.states: dict[str, _State] = {}
        self.roles: dict[str, _RoleState] = {}
        self._ready = False
        self._lock = threading.Lock()

    def subject(self, name: str) -> str:
        """The stream subject of the durable agent ``name``."""
        return f"{self.node.cluster}.durable.{name}"

    def role(self, role: str) -> str:
        """The stream subject of the durable role ``role``."""
        return f"{self.node.cluster}.durable._r.{role}"

    async def _ensure_stream(self) -> None:
        if self._ready:
            return
        from nats.js.api import RetentionPolicy, StorageType, StreamConfig  # noqa: PLC0415

        assert self.node.nc is not None
        js = self.node.nc.jetstream(timeout=self.node.timeout)
        config = StreamConfig(
            name=self.stream,
            subjects=[f"{self.node.cluster}.durable.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
        )
        try:
            await js.add_stream(config)
        except Exception:  # noqa: BLE001 - it exists (with our config): fine
            await js.stream_info(self.stream)
        self._ready = True

    async def attach(self, slot: Slot) -> None:
        """Make ``slot``'s mailbox durable and start its consumer (before the slot starts)."""
        from nats.js.api import AckPolicy, ConsumerConfig  # noqa: PLC0415

        await self._ensure_stream()
        queue: MailboxQueue = slot.mailbox
        base = type(queue)
        state = _State(self, slot, base)
        assert self.node.nc is not None
        js = self.node.nc.jetstream(timeout=self.node.timeout)
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.node.transport.ack_wait,
            max_ack_pending=_BATCH * 4,
            filter_subject=state.subject,
        )
        state.psub = await js.pull_subscribe(
            state.subject, durable=f"d-{slot.name}", stream=self.stream, config=config
        )
        _STATES[id(queue)] = state
        queue.__class__ = _durable_class(base)
        self.states[slot.name] = state
        loop = asyncio.get_running_loop()
        state.tasks = [loop.create_task(self._pump(state)), loop.create_task(self._keep(state))]
        for role in slot.roles:
            await self._join_role(role, state)

    async def _join_role(self, role: str, state: _State) -> None:
        """Add ``state``'s agent to the local holders of the durable ``role``."""
        from nats.js.api import AckPolicy, ConsumerConfig  # noqa: PLC0415

        share = self.roles.get(role)
        if share is None:
            share = self.roles[role] = _RoleState(role)
            assert self.node.nc is not None
            js = self.node.nc.jetstream(timeout=self.node.timeout)
            subject = self.role(role)
            config = ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.node.transport.ack_wait,
                max_ack_pending=_BATCH * 16,
                filter_subject=subject,
            )
            share.psub = await js.pull_subscribe(
                subject, durable=f"r-{role}", stream=self.stream, config=config
            )
            share.task = asyncio.get_running_loop().create_task(self._pump_role(share))
        share.holders.append(state)

    async def _leave_role(self, role: str, state: _State) -> None:
        share = self.roles.get(role)
        if share is None:
            return
        if state in share.holders:
            share.holders.remove(state)
        if share.holders:
            return
        del self.roles[role]
        if share.task is not None:
            share.task.cancel()
        if share.psub is not None:
            await _quietly(share.psub.unsubscribe())

    async def detach(self, name: str) -> None:
        """Stop consuming for ``name`` (closed): ack what it handled, nak what it did not."""
        state = self.states.pop(name, None)
        if state is None:
            return
        state.closed = True
        for task in state.tasks:
            task.cancel()
        for role in state.slot.roles:
            await self._leave_role(role, state)
        taken = state.taken
        if type(taken) is Envelope and state.slot.current is not taken:
            await self._settle(state, taken, ack=True)  # its handler returned before the close
        for envelope, msg in list(state.pending.values()):
            state.pending.pop(id(envelope), None)
            await _quietly(msg.nak())
        _STATES.pop(id(state.slot.mailbox), None)
        if state.psub is not None:
            await _quietly(state.psub.unsubscribe())

    async def close(self) -> None:
        """Detach every durable agent (the node leaves)."""
        for name in list(self.states):
            await self.detach(name)

    # -- sending ----------------------------------------------------------------------------

    def publish_local(self, state: _State, envelope: Envelope) -> bool:
        """Publish a tell for a local durable agent to its stream (any thread)."""
        payload = encode_frame(envelope, self.node.node, frozenset(), self.node.limit)
        self.node.publish_durable(state.subject, payload, envelope)
        return True

    # -- receiving --------------------------------------------------------------------------

    async def _pump(self, state: _State) -> None:
        from nats.errors import TimeoutError as NatsTimeout  # noqa: PLC0415

        while not state.closed:
            room = _BATCH - len(state.pending)
            if room <= 0:  # the agent's acknowledgements make room
                await asyncio.sleep(0.005)
                continue
            try:
                msgs = await state.psub.fetch(room, timeout=1.0)
            except NatsTimeout:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a server restart: try again
                logger.debug("durable {!r}: fetch failed: {!r}", state.slot.name, exc)
                await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                await self._deliver(state, msg)

    async def _pump_role(self, share: _RoleState) -> None:
        """Fetch the role's messages while its local holders have room; one holder each."""
        from nats.errors import TimeoutError as NatsTimeout  # noqa: PLC0415

        while share.holders:
            room = _BATCH * len(share.holders) - sum(len(h.pending) for h in share.holders)
            if room <= 0:
                await asyncio.sleep(0.02)  # the holders' acks make room
                continue
            try:
                msgs = await share.psub.fetch(min(room, _BATCH), timeout=1.0)
            except NatsTimeout:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a server restart: try again
                logger.debug("durable role {!r}: fetch failed: {!r}", share.role, exc)
                await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                live = [h for h in share.holders if not h.closed]
                if not live:
                    await _quietly(msg.nak())
                    continue
                share.turn += 1
                await self._deliver(live[share.turn % len(live)], msg)

    async def _deliver(self, state: _State, msg: Msg) -> None:
        node = self.node
        try:
            envelope, origin, roles = decode_frame(msg.data)
        except InvalidEnvelope as exc:
            node._invalid(msg, exc)
            await _quietly(msg.ack())  # it can never be handled: do not redeliver it
            return
        envelope.deliveries = msg.metadata.num_delivered
        slot = state.slot
        policy = node.runtime.router.policy
        if policy is not None and origin != node.node:
            from actors._remote import RemoteSender  # noqa: PLC0415

            sender = None
            if envelope.sender is not None:
                sender = RemoteSender(envelope.sender, roles, origin)
            try:
                policy.check(envelope, (slot,), sender, node.runtime)  # type: ignore[arg-type]
            except DeliveryError:
                await _quietly(msg.ack())  # refused and dead-lettered: settled
                return
        state.pending[id(envelope)] = (envelope, msg)
        if not state.base.put(slot.mailbox, envelope):  # closed meanwhile
            state.pending.pop(id(envelope), None)
            await _quietly(msg.nak())

    async def _keep(self, state: _State) -> None:
        """Tell JetStream the pending messages are in progress, every third of ack_wait."""
        period = self.node.transport.ack_wait / 3
        while not state.closed:
            await asyncio.sleep(period)
            for _envelope, msg in list(state.pending.values()):
                await _quietly(msg.in_progress())

    def settle(self, state: _State, envelope: Envelope, *, ack: bool) -> None:
        """Acknowledge (or nak) ``envelope`` from the agent's thread: one more publish.

        The acknowledgement is an ordinary publish to the message's reply subject (what
        nats-py's ``Msg.ack`` sends), so it goes out through the pump with everything else.
        """
        entry = state.pending.pop(id(envelope), None)  # one dict operation: atomic
        if entry is None:
            return
        reply = entry[1].reply
        if reply:
            self.node.loop.post((reply, _ACK if ack else _NAK, ""))

    async def _settle(self, state: _State, envelope: Envelope, *, ack: bool) -> None:
        entry = state.pending.pop(id(envelope), None)
        if entry is None or entry[0] is not envelope:
            return
        await _quietly(entry[1].ack() if ack else entry[1].nak())


async def _quietly(coroutine: Any) -> None:
    try:
        await coroutine
    except Exception as exc:  # noqa: BLE001 - the server redelivers after ack_wait anyway
        logger.debug("durable: {!r}", exc)
