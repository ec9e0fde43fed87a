"""One system's place in a NATS cluster: registry, subscriptions, sends, asks and watches.

`Node` is the `actors._remote.Remote` a `NatsTransport` plugs into a system's router. Subjects
(``P`` is the cluster's name):

- ``P.direct.<name>``: one subscription per local name;
- ``P.role.<role>``: one queue subscription (queue group ``<role>``) per role held here, so
  NATS gives each message to exactly one subscribed node, which picks its holder;
- ``P.broadcast`` and ``P.broadcast.<role>``: every node; a node skips its own broadcasts (its
  router delivered them locally already);
- ``P.down.<name>``: a node announces there that its agent ``name`` stopped for good (its
  watchers elsewhere subscribe while they watch);
- ``P.node.<node>.<op>``: requests to one node (``tree``, ``metrics``).

The registry (names, live nodes, their roles) is `actors.nats._registry.Registry`: two
JetStream key-value buckets followed into local caches, so a send resolves a remote name or
role without a round trip. When a node leaves or goes silent past the TTL, the registry reports
each of its names to `Node._terminated`: watchers here get ``Terminated`` (``node_down`` for a
silent node).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from loguru import logger

from actors._deadletters import error_for
from actors._remote import RemoteSender
from actors.address import NOWHERE, Broadcast, Direct, Role
from actors.envelope import Envelope
from actors.errors import InvalidEnvelope, TransportError
from actors.events import DeadLetterReason, ExitReason
from actors.future import Future
from actors.messages import UnknownMessage
from actors.nats._info import NodeInfo
from actors.nats._loop import Loop
from actors.nats._registry import Registry
from actors.nats._wire import (
    decode_frame,
    decode_reply,
    encode_error,
    encode_frame,
    encode_result,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription

    from actors._runtime import Runtime
    from actors._slot import Slot
    from actors.nats import NatsTransport

__all__ = ["Node", "NodeInfo"]


class Node:
    """A system's membership of a cluster; see the module docstring."""

    def __init__(self, transport: NatsTransport, runtime: Runtime) -> None:
        self.transport = transport
        self.runtime = runtime
        self.node = transport.node
        self.cluster = prefix = transport.cluster
        self.ttl = transport.ttl
        self.limit = transport.max_message_bytes
        self.timeout = transport.request_timeout
        self.started = time.time()
        self.loop = Loop(f"{runtime.name}-nats")
        self.nc: Client | None = None
        self.registry = Registry(self.node, prefix, self.ttl, runtime.name, self._terminated)
        # This node's own state: written under _lock by registering threads.
        self._lock = threading.Lock()
        self._roles: dict[str, int] = {}  # role -> local holders
        self._durable_roles: dict[str, int] = {}  # role -> local durable holders
        self._subs: dict[str, Subscription] = {}  # subject -> subscription
        self._watchers: dict[str, set[Slot]] = {}  # remote name -> local watchers
        self._senders: dict[tuple[str, frozenset[str], str], RemoteSender] = {}
        # Asks waiting for their reply, by the token ending their reply subject (any thread
        # adds, the loop's thread takes; finished ones are swept by the heartbeat task).
        self._asks: dict[str, _Ask] = {}
        self._pubs: dict[str, tuple[Envelope, float]] = {}  # durable publishes not yet stored
        self._tokens = itertools.count(1)
        self.inbox = f"_INBOX.{self.node}"
        self._closed = False
        self.durables: Any = None  # actors.nats._durable.Durables, made on first use
        self.direct = f"{prefix}.direct."
        self.role = f"{prefix}.role."
        self.broadcast = f"{prefix}.broadcast"
        self.down = f"{prefix}.down."

    # -- joining and leaving ------------------------------------------------------------------

    def join(self) -> None:
        """Connect, open the registry, subscribe; raise `TransportError` if that fails."""
        try:
            budget = self.transport.connect_timeout + 3 * self.timeout  # connect, then the registry
            self.loop.call(self._join(), budget, "joining the cluster")
        except BaseException:
            if self.nc is not None:
                with contextlib.suppress(TransportError):
                    self.loop.call(self._close_connection(), 5.0, "closing")
            self.loop.stop(5.0)
            raise

    async def _join(self) -> None:
        import nats  # noqa: PLC0415 - nats-py is imported only when a transport is used

        options = dict(self.transport.connect_options)
        options.setdefault("name", f"regiment-{self.node}")
        options.setdefault("allow_reconnect", True)
        options.setdefault("max_reconnect_attempts", -1)
        options.setdefault("connect_timeout", self.transport.connect_timeout)
        options.setdefault("error_cb", self._nats_error)
        options.setdefault("disconnected_cb", self._nats_disconnected)
        options.setdefault("reconnected_cb", self._nats_reconnected)
        try:  # nats-py retries the first connection on its own: bound it here
            self.nc = nc = await asyncio.wait_for(
                nats.connect(servers=list(self.transport.servers), **options),
                self.transport.connect_timeout,
            )
        except Exception as exc:
            msg = f"cannot connect to the NATS servers {list(self.transport.servers)}: {exc!r}"
            raise TransportError(msg) from exc
        await self.registry.open(nc.jetstream(timeout=self.timeout))
        self.loop.start_pump(self._publish)
        await self._heartbeat()
        await self.registry.follow(self.loop, self.timeout)
        await nc.subscribe(self.broadcast, cb=self._on_broadcast)
        await nc.subscribe(f"{self.broadcast}.*", cb=self._on_broadcast)
        await nc.subscribe(f"{self.cluster}.node.{self.node}.*", cb=self._on_control)
        await nc.subscribe(f"{self.inbox}.*", cb=self._on_reply)
        self.loop.spawn(self._beat())

    async def _nats_error(self, error: Exception) -> None:
        logger.bind(system=self.runtime.name).warning("nats transport: {!r}", error)

    async def _nats_disconnected(self) -> None:
        if not self._closed:
            logger.bind(system=self.runtime.name).warning("nats transport: disconnected")

    async def _nats_reconnected(self) -> None:
        logger.bind(system=self.runtime.name).info("nats transport: reconnected")
        if not self._closed:
            self.loop.spawn(self._rejoin())

    async def _rejoin(self) -> None:
        """After a reconnection: heartbeat now, and follow the registry afresh."""
        try:
            await self._heartbeat()
            await self.registry.follow(self.loop, self.timeout)
        except Exception as exc:  # noqa: BLE001 - the next reconnection tries again
            logger.warning("nats transport: following the registry again failed: {!r}", exc)

    async def _publish(self, subject: str, payload: bytes, reply: str) -> None:
        assert self.nc is not None
        await self.nc.publish(subject, payload, reply=reply)

    async def _heartbeat(self) -> None:
        with self._lock:
            roles = sorted(self._roles)
            durable_roles = sorted(self._durable_roles)
        data = {
            "system": self.runtime.name,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "roles": roles,
            "durable_roles": durable_roles,
            "started": self.started,
        }
        await self.registry.heartbeat(data)

    async def _beat(self) -> None:
        """Heartbeat every TTL/4, and declare silent nodes down."""
        period = self.ttl / 4
        while True:
            await asyncio.sleep(period)
            try:
                await self._heartbeat()
            except Exception as exc:  # noqa: BLE001 - a server restart: try again next beat
                logger.warning("nats transport: heartbeat failed: {!r}", exc)
            await self.registry.sweep()
            now = time.monotonic()
            for token, (envelope, at) in list(self._pubs.items()):
                if now - at > self.timeout and self._pubs.pop(token, None) is not None:
                    detail = f"not confirmed by the durable stream within {self.timeout:g} s"
                    self.runtime.dead_letters.record(envelope, DeadLetterReason.STOPPED, detail)
            for token, ask in list(self._asks.items()):
                future = ask.envelope.future
                if future is None or future.done():  # timed out: no reply will be wanted
                    self._asks.pop(token, None)

    def close(self, timeout: float = 10.0) -> None:
        """Leave the cluster: stop consuming, delete the heartbeat, drain, stop the loop."""
        if self._closed:
            return
        self._closed = True
        try:
            self.loop.call(self._leave(), timeout, "leaving the cluster")
        except Exception as exc:  # noqa: BLE001 - leaving must not stop the shutdown
            logger.warning("nats transport: leaving the cluster failed: {!r}", exc)
        if not self.loop.stop(timeout):
            logger.error("nats transport: its loop thread did not stop within {} s", timeout)

    async def _leave(self) -> None:
        if self.durables is not None:
            await self.durables.close()
        await self.registry.leave()
        await self._close_connection()

    async def _close_connection(self) -> None:
        nc = self.nc
        if nc is None or nc.is_closed:
            return
        try:
            await asyncio.wait_for(nc.drain(), 5.0)
        except Exception:  # noqa: BLE001 - then close without draining
            await nc.close()

    # -- registration (Remote) -------------------------------------------------------------

    def claim(self, slots: list[Slot]) -> None:
        """Claim the names of ``slots`` cluster-wide (see `actors._remote.Remote.claim`)."""
        self.loop.call(self._claim(slots), self.timeout, f"claiming {slots[0].name!r}")

    async def _claim(self, slots: list[Slot]) -> None:
        nc = self.nc
        assert nc is not None
        # Subscribe first (and flush, so the server has the interest): once another node sees
        # the name in the registry, a request to it must find a responder.
        for slot in slots:
            await self._subscribe(f"{self.direct}{slot.name}", self._on_direct)
        await nc.flush(timeout=max(1, round(self.timeout)))
        try:
            await self.registry.claim(slots)
        except BaseException:
            for slot in slots:
                sub = self._subs.pop(f"{self.direct}{slot.name}", None)
                if sub is not None:
                    await sub.unsubscribe()
            raise
        new_roles = False
        for slot in slots:
            if slot.kind != "supervisor":
                for role in slot.roles:
                    with self._lock:
                        count = self._roles.get(role, 0)
                        self._roles[role] = count + 1
                    if not count:
                        new_roles = True
                        await self._subscribe(f"{self.role}{role}", self._on_role, role)
            if slot.options.durable:
                for role in slot.roles:
                    with self._lock:
                        count = self._durable_roles.get(role, 0)
                        self._durable_roles[role] = count + 1
                    new_roles = new_roles or not count
                await self._durables().attach(slot)
        if new_roles:
            # The queue group must answer before other nodes learn of the role.
            await nc.flush(timeout=max(1, round(self.timeout)))
            await self._heartbeat()  # other nodes learn of the role now, not at the next beat

    async def _subscribe(self, subject: str, cb: Any, queue: str = "") -> None:
        assert self.nc is not None
        if subject not in self._subs:
            self._subs[subject] = await self.nc.subscribe(subject, queue=queue, cb=cb)

    def _durables(self) -> Any:
        if self.durables is None:
            from actors.nats._durable import Durables  # noqa: PLC0415

            self.durables = Durables(self)
        return self.durables

    def release(self, slots: list[Slot]) -> None:
        """Give the names of ``slots`` back (asynchronously, in the loop)."""
        if self._closed:
            return
        items = [(slot.name, slot.roles if slot.kind != "supervisor" else frozenset(),
                  slot.exit_reason or ExitReason.NORMAL, slot.options.durable)
                 for slot in slots]  # fmt: skip
        self.loop.post(lambda: self._release(items))

    async def _release(self, items: list[tuple[str, frozenset[str], ExitReason, bool]]) -> None:
        assert self.nc is not None
        gone_roles = False
        for name, roles, reason, durable in items:
            if durable:
                for role in roles:
                    with self._lock:
                        count = self._durable_roles.get(role, 0) - 1
                        if count > 0:
                            self._durable_roles[role] = count
                        else:
                            self._durable_roles.pop(role, None)
                            gone_roles = True
            sub = self._subs.pop(f"{self.direct}{name}", None)
            if sub is not None:
                await sub.unsubscribe()
            if self.durables is not None:
                await self.durables.detach(name)
            await self.registry.forget(name)
            await self.nc.publish(f"{self.down}{name}", json.dumps({"reason": reason}).encode())
            for role in roles:
                with self._lock:
                    count = self._roles.get(role, 0) - 1
                    if count > 0:
                        self._roles[role] = count
                        continue
                    self._roles.pop(role, None)
                gone_roles = True
                sub = self._subs.pop(f"{self.role}{role}", None)
                if sub is not None:
                    await sub.unsubscribe()
        if gone_roles:
            await self._heartbeat()

    # -- lookups (Remote) ----------------------------------------------------------------------

    def wants(self, role: str | None) -> bool:
        """True if another live node holds ``role`` (None: if any other node is live)."""
        registry = self.registry
        if role is None:
            return bool(registry.nodes)
        return bool(registry.role_nodes.get(role))

    def durable(self, role: str) -> bool:
        """True if some live node (this one included) holds ``role`` with a durable agent."""
        if role in self._durable_roles:
            return True
        registry = self.registry
        return any(registry.live(node) for node in registry.durable_role_nodes.get(role, ()))

    def knows(self, name: str) -> bool:
        """True if another live node holds ``name`` (asks the registry if the cache lags)."""
        registry = self.registry
        node = registry.names.get(name)
        if node is not None:
            return registry.live(node)
        if self.loop.here or self._closed:
            return False
        try:
            node = self.loop.call(registry.lookup(name), self.timeout, f"looking up {name!r}")
        except TransportError:
            return False
        return node is not None and node != self.node and registry.live(node)

    def nodes_info(self) -> list[NodeInfo]:
        """Every live node, this one first."""
        with self._lock:
            roles = tuple(sorted(self._roles))
        me = NodeInfo(
            node=self.node,
            system=self.runtime.name,
            host=socket.gethostname(),
            pid=os.getpid(),
            roles=roles,
            started=self.started,
            local=True,
        )
        return [me, *self.registry.others()]

    # -- sends (Remote) --------------------------------------------------------------------

    def _subject(self, envelope: Envelope) -> str:
        to = envelope.to
        if type(to) is Direct:
            return f"{self.direct}{to.name}"
        if type(to) is Role:
            return f"{self.role}{to.role}"
        assert type(to) is Broadcast
        return self.broadcast if to.role is None else f"{self.broadcast}.{to.role}"

    def _encode(self, envelope: Envelope, sender: Slot | None) -> bytes:
        roles = frozenset() if sender is None else sender.roles
        return encode_frame(envelope, self.node, roles, self.limit)

    def tell(self, envelope: Envelope, sender: Slot | None) -> int:
        """Publish ``envelope`` (batched with the other sends of this loop wake-up)."""
        if self._closed:
            return 0
        payload = self._encode(envelope, sender)
        to = envelope.to
        if (type(to) is Direct and to.name in self.registry.durable_names) or (
            type(to) is Role and self.durable(to.role)
        ):  # a durable agent on another node, or a durable role: through its stream
            durables = self._durables()
            subject = (
                durables.subject(to.name) if isinstance(to, Direct) else durables.role(to.role)
            )
            self.publish_durable(subject, payload, envelope)
            return 1
        self.loop.post((self._subject(envelope), payload, ""))
        return 1

    def publish_durable(self, subject: str, payload: bytes, envelope: Envelope) -> None:
        """Publish to the durable stream, in order with every other send (any thread).

        A plain publish whose reply subject is this node's inbox: JetStream stores it and
        answers there with its acknowledgement, so publishes pipeline (no round trip each).
        A refusal (or no confirmation within ``request_timeout``, swept by the heartbeat
        task) dead-letters ``envelope`` here.
        """
        token = f"d{next(self._tokens)}"
        self._pubs[token] = (envelope, time.monotonic())
        self.loop.post((subject, payload, f"{self.inbox}.{token}"))

    def _stored(self, token: str, msg: Msg) -> None:
        """JetStream's answer to the durable publish ``token``."""
        pub = self._pubs.pop(token, None)
        if pub is None:
            return
        error = None
        headers = msg.headers
        if headers and headers.get("Status") == "503":
            error = "no durable stream answered"
        else:
            try:
                answer = json.loads(msg.data)
                if "error" in answer:
                    error = f"the durable stream refused it: {answer['error']!r:.200}"
            except (ValueError, TypeError):
                error = "the durable stream's answer is not JSON"
        if error is not None:
            self.runtime.dead_letters.record(pub[0], DeadLetterReason.STOPPED, error)

    def ask(self, envelope: Envelope, sender: Slot | None) -> None:
        """Publish ``envelope`` as a NATS request; its future gets the reply (or the error).

        The request carries a reply subject of this node's inbox (one subscription for all
        asks) ending in a token that finds the envelope again; it is published by the loop in
        order with this sender's tells. "No responders" (NATS answers at once when nobody
        subscribes to the subject) dead-letters it here, failing the future with
        `UnknownAddress`; a timeout is the future's own, as for a local ask.
        """
        future = envelope.future
        assert future is not None
        if self._closed:
            future.fail(TransportError("the transport is closed"))
            return
        ask = _Ask(envelope, self._subject(envelope), self._encode(envelope, sender))
        token = str(next(self._tokens))
        self._asks[token] = ask
        self.loop.post((ask.subject, ask.payload, f"{self.inbox}.{token}"))

    async def _on_reply(self, msg: Msg) -> None:
        token = msg.subject[len(self.inbox) + 1 :]
        if token.startswith("d"):
            self._stored(token, msg)
            return
        ask = self._asks.pop(token, None)
        if ask is None:
            return  # a late reply (the ask timed out and was swept), or a stray message
        envelope = ask.envelope
        future = envelope.future
        if future is None:
            return
        headers = msg.headers
        if headers and headers.get("Status") == "503":  # no responders
            if ask.tries < _RETRIES and not future.done() and self._held(envelope):
                # The registry says someone holds it: NATS may answer "no responders" just
                # after a subscription (nats-io/nats-server#2876). Ask again, a little later.
                ask.tries += 1
                self._asks[token] = ask
                item = (ask.subject, ask.payload, msg.subject)
                self.loop.loop.call_later(0.025 * 2**ask.tries, self.loop.post, item)
                return
            reason = (
                DeadLetterReason.UNKNOWN_ADDRESS
                if type(envelope.to) is Direct
                else DeadLetterReason.NO_ROLE_MEMBER
            )
            self.runtime.dead_letters.record(envelope, reason, "no node answered")
            return
        ok, value = decode_reply(msg.data, envelope)
        if ok:
            future.resolve(value)
        else:
            assert isinstance(value, BaseException)
            future.fail(value)

    def _held(self, envelope: Envelope) -> bool:
        """True if the registry, as cached here, says another node holds the ask's address."""
        to = envelope.to
        if type(to) is Direct:
            node = self.registry.names.get(to.name)
            return node is not None and self.registry.live(node)
        return type(to) is Role and self.wants(to.role)

    # -- watches (Remote) -------------------------------------------------------------------

    def watch(self, name: str, watcher: Slot) -> bool:
        """Tell ``watcher`` when the remote ``name`` stops (or its node goes down)."""
        if not self.knows(name):
            return False
        with self._lock:
            watchers = self._watchers.setdefault(name, set())
            first = not watchers
            watchers.add(watcher)
        if first:
            subject = f"{self.down}{name}"
            self.loop.post(lambda: self._subscribe(subject, self._on_down))
        return True

    def unwatch(self, name: str, watcher: Slot) -> None:
        """Stop telling ``watcher`` about ``name``."""
        with self._lock:
            watchers = self._watchers.get(name)
            if watchers is not None:
                watchers.discard(watcher)

    def _terminated(self, name: str, reason: ExitReason) -> None:
        with self._lock:
            watchers = self._watchers.pop(name, set())
        for watcher in watchers:
            watcher.notify_terminated(name, reason)
        sub = self._subs.pop(f"{self.down}{name}", None)
        if sub is not None:
            self.loop.spawn(sub.unsubscribe())

    async def _on_down(self, msg: Msg) -> None:
        name = msg.subject[len(self.down) :]
        try:
            reason = ExitReason(json.loads(msg.data)["reason"])
        except (ValueError, TypeError, KeyError):
            reason = ExitReason.NORMAL
        self._terminated(name, reason)

    # -- what arrives ---------------------------------------------------------------------

    def _decode(self, msg: Msg) -> tuple[Envelope, RemoteSender | None, str] | None:
        """The envelope in ``msg``; None (and a dead letter) if it is not a valid frame."""
        try:
            envelope, node, roles = decode_frame(msg.data)
        except InvalidEnvelope as exc:
            self._invalid(msg, exc)
            return None
        sender = None
        if envelope.sender is not None:
            key = (envelope.sender, roles, node)
            sender = self._senders.get(key)
            if sender is None:
                if len(self._senders) > 10_000:
                    self._senders.clear()
                sender = self._senders[key] = RemoteSender(envelope.sender, roles, node)
        return envelope, sender, node

    def _invalid(self, msg: Msg, error: InvalidEnvelope) -> None:
        body = UnknownMessage(
            wire_type="invalid_envelope",
            fields={"subject": msg.subject[:200], "size": len(msg.data), "field": error.field},
        )
        letter = Envelope(body, NOWHERE)
        self.runtime.dead_letters.record(letter, DeadLetterReason.INVALID_ENVELOPE, str(error))
        if msg.reply:
            self.loop.spawn(self._respond(msg.reply, encode_error(error)))

    async def _respond(self, subject: str, payload: bytes) -> None:
        assert self.nc is not None
        await self.nc.publish(subject, payload)

    def _accept(self, msg: Msg, envelope: Envelope, sender: RemoteSender | None) -> None:
        if msg.reply:
            # The reply future lives here; the asker's node has its own (and its timeout).
            # A deadline makes this one expire too, so an answer nobody waits for is not kept.
            deadline = envelope.deadline
            wait = None if deadline is None else max(0.0, deadline - time.time())
            future: Future[Any] = Future(timeout=wait, what=envelope.to)
            envelope.future = future
            reply = msg.reply
            future.add_done_callback(lambda done: self._answer(reply, done))
            if future._deadline is not None:
                self.runtime.timers.expire(future, future._deadline)
        self.runtime.router.accept(envelope, sender)

    def _answer(self, subject: str, future: Future[Any]) -> None:
        error = future.exception(0)
        payload = encode_error(error) if error is not None else encode_result(future.result(0))
        self.loop.post((subject, payload, ""))

    async def _on_direct(self, msg: Msg) -> None:
        decoded = self._decode(msg)
        if decoded is not None:
            self._accept(msg, decoded[0], decoded[1])

    async def _on_role(self, msg: Msg) -> None:
        decoded = self._decode(msg)
        if decoded is not None:
            self._accept(msg, decoded[0], decoded[1])

    async def _on_broadcast(self, msg: Msg) -> None:
        decoded = self._decode(msg)
        if decoded is not None and decoded[2] != self.node:  # ours: delivered locally already
            self.runtime.router.accept(decoded[0], decoded[1])

    async def _on_control(self, msg: Msg) -> None:
        op = msg.subject.rsplit(".", 1)[-1]
        if not msg.reply:
            return
        facade: Any = self.runtime.facade
        if op == "tree":
            payload = facade.tree().to_json().encode()
        elif op == "metrics":
            payload = facade.metrics().model_dump_json().encode()
        else:
            payload = b"null"
        await self._respond(msg.reply, payload)

    def ask_nodes(self, op: str, timeout: float) -> dict[str, Any]:
        """``op`` (``tree``, ``metrics``) of every other live node, as decoded JSON, by node."""
        nodes = [info.node for info in self.nodes_info() if not info.local]
        return self.loop.call(self._ask_nodes(nodes, op, timeout), timeout + 1.0, op)

    async def _ask_nodes(self, nodes: Iterable[str], op: str, timeout: float) -> dict[str, Any]:
        assert self.nc is not None
        nc = self.nc

        async def one(node: str) -> tuple[str, Any]:
            try:
                reply = await nc.request(f"{self.cluster}.node.{node}.{op}", b"", timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - reported per node
                return node, {"error": repr(exc)}
            return node, json.loads(reply.data)

        return dict(await asyncio.gather(*(one(node) for node in nodes)))

    def undeliverable(self, envelope: Envelope, reason: DeadLetterReason, detail: str) -> None:
        """Dead-letter ``envelope`` here (failing its ask, if any)."""
        error = error_for(envelope, reason, detail) if envelope.future is not None else None
        self.runtime.dead_letters.record(envelope, reason, detail, error)


_RETRIES = 4  # no-responders retries of an ask whose address the registry says is held


class _Ask:
    """An ask waiting for its reply: what to publish again if NATS said "no responders"."""

    __slots__ = ("envelope", "payload", "subject", "tries")

    def __init__(self, envelope: Envelope, subject: str, payload: bytes) -> None:
        self.envelope = envelope
        self.subject = subject
        self.payload = payload
        self.tries = 0
