"""The cluster's registry: who holds which name, which nodes are alive, which roles they hold.

Two JetStream key-value buckets, followed into local caches by the node's loop thread:

- ``P-names`` (no TTL): name -> ``{"node": <holder>, "durable": <bool>}``. A claim creates
  the key; a key whose node is no longer live is taken over (updated at its revision), so a
  crashed node's names free themselves once its heartbeat is older than the TTL.
- ``P-nodes`` (TTL): node -> its heartbeat (system, host, pid, roles, durable roles, start
  time), put every TTL/4. A node whose heartbeat is older than the TTL is down.

The caches (`names`, `nodes`, `role_nodes`, `durable_role_nodes`) describe the *other*
nodes. They are written by the loop's thread and read by any thread with one dict read, so
a send resolves a remote name or role without a round trip; `lookup` asks the bucket when the
cache lags. Every way a node leaves (deleted heartbeat, expired heartbeat, silence past the
TTL) goes through `gone`, which calls ``on_gone(name, reason)`` for each of its names.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loguru import logger

from actors.errors import DuplicateName, TransportError
from actors.events import ExitReason
from actors.nats._info import NodeInfo

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext
    from nats.js.kv import KeyValue

    from actors._slot import Slot
    from actors.nats._loop import Loop

__all__ = ["Registry"]


class _Seen:
    """What the nodes bucket last said of one node, and when (monotonic) this node heard it."""

    __slots__ = ("at", "info")

    def __init__(self, info: NodeInfo, at: float) -> None:
        self.info = info
        self.at = at


class Registry:
    """One node's view of the cluster's registry; see the module docstring.

    Args:
        node: this node's id (its own entries are not cached).
        cluster: the cluster's name (the buckets' prefix).
        ttl: seconds after which a silent node is down.
        system: this node's system name (for log lines).
        on_gone: called (in the loop's thread) with each name of a node that left, and why.
    """

    def __init__(
        self,
        node: str,
        cluster: str,
        ttl: float,
        system: str,
        on_gone: Callable[[str, ExitReason], None],
    ) -> None:
        self.node = node
        self.cluster = cluster
        self.ttl = ttl
        self.system = system
        self.on_gone = on_gone
        self.names_kv: KeyValue | None = None
        self.nodes_kv: KeyValue | None = None
        self.names: dict[str, str] = {}  # name -> node (other nodes' names)
        self.durable_names: set[str] = set()  # the durable ones among them
        self.nodes: dict[str, _Seen] = {}  # node -> last heartbeat seen (other nodes)
        self.role_nodes: dict[str, set[str]] = {}  # role -> other nodes holding it
        self.durable_role_nodes: dict[str, set[str]] = {}  # role -> other nodes, durably
        self._watchers: dict[int, Any] = {}  # id(bucket) -> its KeyWatcher

    # -- opening and following ---------------------------------------------------------------

    async def open(self, js: JetStreamContext) -> None:
        """Open (or create) both buckets.

        Raises:
            TransportError: if JetStream does not answer (it is off, say).
        """
        from nats.js.api import KeyValueConfig  # noqa: PLC0415 - only with a transport

        try:
            self.names_kv = await js.create_key_value(
                KeyValueConfig(bucket=f"{self.cluster}-names", history=1)
            )
            self.nodes_kv = await js.create_key_value(
                KeyValueConfig(bucket=f"{self.cluster}-nodes", history=1, ttl=self.ttl)
            )
        except Exception as exc:
            msg = f"cannot open the cluster's registry (is JetStream enabled?): {exc!r}"
            raise TransportError(msg) from exc

    async def follow(self, loop: Loop, timeout: float) -> None:
        """Follow both buckets into the caches (again after a reconnection: afresh)."""
        assert self.nodes_kv is not None
        assert self.names_kv is not None
        await self._watch(self.nodes_kv, self._node_seen, loop, timeout)
        await self._watch(self.names_kv, self._name_seen, loop, timeout)

    async def _watch(self, kv: KeyValue, seen: Any, loop: Loop, timeout: float) -> None:
        """Follow ``kv``: wait for what it holds now, then keep following in a task.

        A server restart ends a watch silently, so this is called again after a
        reconnection: the old watcher is stopped, the new one starts with the whole bucket.
        """
        old = self._watchers.pop(id(kv), None)
        if old is not None:
            with contextlib.suppress(Exception):
                await old.stop()
        watcher = await kv.watchall()
        self._watchers[id(kv)] = watcher
        while True:
            entry = await watcher.updates(timeout=timeout)  # type: ignore[no-untyped-call]
            if entry is None:
                break  # the initial values are in
            seen(entry)

        async def follow() -> None:
            async for entry in watcher:
                if entry is not None:
                    seen(entry)

        loop.spawn(follow())

    def _node_seen(self, entry: Any) -> None:
        node = entry.key
        if node == self.node:
            return
        if entry.operation is not None or not entry.value:
            # Deleted: it left cleanly. Purged (nats-server 2.11+ marks an expired key so): its
            # heartbeat ran out, as `sweep` would find.
            self.gone(
                node, ExitReason.SHUTDOWN if entry.operation == "DEL" else ExitReason.NODE_DOWN
            )
            return
        try:
            data = json.loads(entry.value)
            info = NodeInfo(
                node=node,
                system=str(data["system"]),
                host=str(data["host"]),
                pid=int(data["pid"]),
                roles=tuple(str(r) for r in data["roles"]),
                started=float(data["started"]),
            )
            durable = {str(r) for r in data.get("durable_roles", []) if isinstance(r, str)}
        except (ValueError, TypeError, KeyError, AttributeError):
            logger.warning("nats transport: ignoring a malformed heartbeat of node {!r}", node)
            return
        self.nodes[node] = _Seen(info, time.monotonic())
        _follow(self.role_nodes, node, set(info.roles))
        _follow(self.durable_role_nodes, node, durable)

    def _name_seen(self, entry: Any) -> None:
        name = entry.key
        node = None
        durable = False
        if entry.operation is None and entry.value:
            try:
                data = json.loads(entry.value)
                node, durable = str(data["node"]), data.get("durable") is True
            except (ValueError, TypeError, KeyError, AttributeError):
                return
        if node is None or node == self.node:  # deleted, or ours: not cached
            self.names.pop(name, None)
            self.durable_names.discard(name)
            return
        self.names[name] = node
        if durable:
            self.durable_names.add(name)
        else:
            self.durable_names.discard(name)

    def gone(self, node: str, reason: ExitReason) -> None:
        """``node`` left (or went silent): forget it, and report each of its names."""
        if self.nodes.pop(node, None) is None:
            return
        for holders in (*self.role_nodes.values(), *self.durable_role_nodes.values()):
            holders.discard(node)
        names = [name for name, where in self.names.items() if where == node]
        for name in names:
            self.names.pop(name, None)
            self.durable_names.discard(name)
            self.on_gone(name, reason)
        if reason is ExitReason.NODE_DOWN:
            logger.bind(system=self.system).warning(
                "node {!r} stopped heartbeating; {} of its names are free", node, len(names)
            )

    async def sweep(self) -> None:
        """Declare every node silent for longer than the TTL down, once the bucket agrees.

        The cache's times are when this node's loop saw the heartbeats: a loop that lagged
        (a process busy with thousands of agents) would see live nodes as silent. So a node
        is down only if the bucket no longer has its heartbeat either: the server's TTL is
        the authority.
        """
        for node, seen in list(self.nodes.items()):
            if time.monotonic() - seen.at <= self.ttl:
                continue
            with contextlib.suppress(Exception):  # no answer: go by the cache
                await self._refresh(node)
            seen_now = self.nodes.get(node)
            if seen_now is not None and time.monotonic() - seen_now.at > self.ttl:
                self.gone(node, ExitReason.NODE_DOWN)

    async def heartbeat(self, data: dict[str, Any]) -> None:
        """Put this node's heartbeat (``data``: what other nodes learn of it)."""
        assert self.nodes_kv is not None
        await self.nodes_kv.put(self.node, json.dumps(data).encode())

    async def leave(self) -> None:
        """Delete this node's heartbeat (it leaves cleanly)."""
        if self.nodes_kv is not None:
            try:
                await self.nodes_kv.delete(self.node)
            except Exception as exc:  # noqa: BLE001 - it expires with the TTL anyway
                logger.debug("nats transport: deleting the heartbeat failed: {!r}", exc)

    # -- reading the caches: any thread ------------------------------------------------------

    def live(self, node: str) -> bool:
        """True if ``node``'s last heartbeat is younger than the TTL."""
        seen = self.nodes.get(node)
        return seen is not None and time.monotonic() - seen.at <= self.ttl

    def others(self) -> list[NodeInfo]:
        """The other live nodes, by id."""
        return sorted(
            (seen.info for node, seen in list(self.nodes.items()) if self.live(node)),
            key=lambda info: info.node,
        )

    # -- names -------------------------------------------------------------------------------

    async def claim(self, slots: list[Slot]) -> None:
        """Claim the names of ``slots``, all or none (a dead node's are taken over).

        Raises:
            DuplicateName: if a live node holds one (a spawn's supervisor raises it as
                `supervision.NameTaken`).
        """
        from nats.js.errors import KeyWrongLastSequenceError  # noqa: PLC0415

        kv = self.names_kv
        assert kv is not None
        claimed: list[str] = []
        try:
            for slot in slots:
                value = json.dumps({"node": self.node, "durable": slot.options.durable}).encode()
                try:
                    await kv.create(slot.name, value)
                except KeyWrongLastSequenceError:
                    entry = await kv.get(slot.name)
                    holder = _holder(entry.value)
                    if holder is not None and holder != self.node and self.live(holder):
                        msg = (
                            f"the name {slot.name!r} is already taken in cluster "
                            f"{self.cluster!r} (node {holder!r}; this is system {self.system!r})"
                        )
                        raise DuplicateName(msg, slot.name) from None
                    await kv.update(slot.name, value, last=entry.revision)
                claimed.append(slot.name)
        except BaseException:
            for name in claimed:
                await self.forget(name)
            raise

    async def forget(self, name: str) -> None:
        """Give ``name`` back (delete its key)."""
        assert self.names_kv is not None
        try:
            await self.names_kv.delete(name)
        except Exception as exc:  # noqa: BLE001 - it frees itself with the node's TTL anyway
            logger.debug("nats transport: deleting name {!r} failed: {!r}", name, exc)

    async def lookup(self, name: str) -> str | None:
        """The node holding ``name`` as the bucket says now (None: no node)."""
        from nats.js.errors import KeyNotFoundError  # noqa: PLC0415

        assert self.names_kv is not None
        try:
            entry = await self.names_kv.get(name)
        except KeyNotFoundError:
            return None
        node = _holder(entry.value)
        if node is not None and node != self.node and not self.live(node):
            await self._refresh(node)  # the cache may lag (a reconnection): ask the bucket
        return node

    async def _refresh(self, node: str) -> None:
        """Read ``node``'s heartbeat from the bucket into the cache (if it still has one)."""
        from nats.js.errors import KeyNotFoundError  # noqa: PLC0415

        assert self.nodes_kv is not None
        try:
            entry = await self.nodes_kv.get(node)
        except KeyNotFoundError:
            return
        self._node_seen(entry)


def _follow(table: dict[str, set[str]], node: str, roles: set[str]) -> None:
    """Make ``table`` (role -> nodes) say that ``node`` holds exactly ``roles``."""
    for role, nodes in table.items():
        if role not in roles:
            nodes.discard(node)
    for role in roles:
        table.setdefault(role, set()).add(node)


def _holder(value: bytes | None) -> str | None:
    try:
        return str(json.loads(value or b"")["node"])
    except (ValueError, TypeError, KeyError):
        return None
