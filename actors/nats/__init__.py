"""Scale-out through NATS: the same agents and addresses across processes and hosts.

Give each process's system the same transport settings and they form one cluster::

    from actors import ActorSystem
    from actors.nats import NatsTransport

    system = ActorSystem("app", transport=NatsTransport(servers=["nats://127.0.0.1:4222"],
                                                        cluster="app"))

Nothing in the agents changes. Addresses resolve locally first, then across the cluster:

- **direct** (``"coder-1"``): names are unique cluster-wide (a JetStream key-value registry;
  spawning a name another node holds raises `supervision.NameTaken`); a name held elsewhere is
  reached on subject ``<cluster>.direct.<name>``.
- **role** (``"role:coder"``): exactly one holder cluster-wide gets each message. The rule:
  the role's local pick (by its routing strategy) gets it if it is **idle** (nothing queued,
  no handler running); otherwise, if another node holds the role, it goes to the role's NATS
  queue group ``<cluster>.role.<role>``, where NATS gives it to one subscribed node (this one
  included), which hands it to its pick; with no other node holding the role it stays local.
- **broadcast** (``"*"``, ``"*:coder"``): every live agent once, on every node, the sender
  excluded (``<cluster>.broadcast[.<role>]``; the sending node delivers its own share locally
  and skips its own publication).
- **ask**: NATS request/reply. A name or role no node has fails at once with
  `UnknownAddress` (a "no responders" while the registry names a holder is retried a few
  times first); timeouts are as for local asks. Deferred replies, gather and request
  handles work unchanged (the reply future lives on the asking node).
- a send to an address no node has is dead-lettered on the sending node (``unknown_address``).

Envelopes travel as JSON only (never pickle), at most ``max_message_bytes`` encoded
(`MessageTooLarge` at the sender). What arrives is validated like `Envelope.from_json` input:
an invalid one is dead-lettered ``invalid_envelope``, never a crash, and the system's send
policy applies to it by its sender's name and roles.

Supervision stays local (a supervisor and its children live in one process, as in Erlang/OTP);
failure is visible across nodes: ``watch(name)`` of an agent on another node delivers
`Terminated` when it stops for good, or with reason ``node_down`` when its node stops
heartbeating for ``ttl`` seconds (its names are free from then on). `ActorSystem.nodes` lists
the live nodes, `ActorSystem.cluster_tree` and `ActorSystem.cluster_metrics` ask every node.

**Durable mailboxes** (opt in per agent: ``spawn(..., durable=True)`` or
``ChildSpec(durable=True)``): the agent's messages go through a JetStream stream and a durable
consumer, acknowledged only after the handler finished (or the message was dead-lettered), so a
process killed with SIGKILL loses nothing: the agent spawned again under its name, on any node,
gets every unacknowledged message, with ``envelope.redelivered`` set and
``envelope.deliveries`` counting. A role a durable agent holds is durable too: its tells go to
the stream and one consumer shared by its durable holders on every node, so a killed member's
unacknowledged messages go to another member. Guarantees: ordering per sender-receiver pair
(tells and asks through one address keep their order); at-most-once delivery, except
at-least-once for durable agents and roles.

Security: the transport listens on nothing itself; it connects to the servers you name, with
the credentials and TLS you pass (``user``/``password``, ``token``, ``user_credentials``,
``nkeys_seed``, ``tls``: nats-py's ``connect`` options, passed through).

nats-py (and orjson, for the JSON) is imported only when a system with a transport starts
(``pip install 'regiment[nats]'``).
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from actors._extras import need
from actors.address import validate_name
from actors.errors import InvalidAddress, InvalidConfig
from actors.nats._info import NodeInfo

if TYPE_CHECKING:
    from actors._runtime import Runtime
    from actors.nats._node import Node

__all__ = ["NatsTransport", "NodeInfo"]

_NODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class NatsTransport:
    """Settings of a system's connection to a NATS cluster; pass one to `ActorSystem`.

    Args:
        servers: the NATS servers' URLs (``nats://host:port``, ``tls://...``).
        cluster: the cluster's name: systems with the same name (on the same servers) form one
            cluster. A name or role slug (it prefixes every subject and bucket).
        node: this node's id in the cluster (default: host, process id and a random suffix).
        ttl: seconds without a heartbeat after which a node counts as down (heartbeats are
            sent every ``ttl / 4``).
        max_message_bytes: the largest encoded envelope it sends (NATS's own default
            ``max_payload`` is 1 MiB).
        connect_timeout: seconds joining the cluster may take when the system starts.
        request_timeout: seconds a registry request (claiming a name) may take.
        ack_wait: seconds a durable message may stay unacknowledged by a live node before
            JetStream redelivers it (the node extends it while the message waits or runs).
        **connect_options: passed to ``nats.connect`` (credentials, TLS, reconnect settings).

    Raises:
        InvalidConfig: for a bad setting.
    """

    def __init__(
        self,
        servers: Iterable[str] = ("nats://127.0.0.1:4222",),
        *,
        cluster: str = "regiment",
        node: str | None = None,
        ttl: float = 10.0,
        max_message_bytes: int = 1024 * 1024,
        connect_timeout: float = 5.0,
        request_timeout: float = 5.0,
        ack_wait: float = 30.0,
        **connect_options: Any,
    ) -> None:
        self.servers = tuple([servers] if isinstance(servers, str) else servers)
        if not self.servers:
            msg = "NatsTransport needs at least one server URL"
            raise InvalidConfig(msg)
        try:
            self.cluster = validate_name(cluster, "cluster name")
        except InvalidAddress as exc:
            raise InvalidConfig(str(exc)) from None
        self.node = node if node is not None else _node_id()
        if _NODE.fullmatch(self.node) is None:
            msg = f"invalid node id {self.node!r}: use a lowercase slug of 1-64 characters"
            raise InvalidConfig(msg)
        for what, value in (
            ("ttl", ttl),
            ("connect_timeout", connect_timeout),
            ("request_timeout", request_timeout),
            ("ack_wait", ack_wait),
        ):
            if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
                msg = f"NatsTransport {what} must be a positive number of seconds, got {value!r}"
                raise InvalidConfig(msg)
        if type(max_message_bytes) is not int or max_message_bytes < 1024:
            msg = f"max_message_bytes must be an int >= 1024, got {max_message_bytes!r}"
            raise InvalidConfig(msg)
        self.ttl = float(ttl)
        self.max_message_bytes = max_message_bytes
        self.connect_timeout = float(connect_timeout)
        self.request_timeout = float(request_timeout)
        self.ack_wait = float(ack_wait)
        self.connect_options = connect_options
        self._node: Node | None = None

    def __repr__(self) -> str:
        return f"NatsTransport(servers={list(self.servers)}, cluster={self.cluster!r})"

    def _start(self, runtime: Runtime) -> Node:
        """Join the cluster for ``runtime``'s system (once per transport).

        Raises:
            MissingExtra: if nats-py is not installed.
            TransportError: if the servers cannot be reached or JetStream is off.
            InvalidConfig: if this transport already serves a system.
        """
        need("nats", "nats", "the NATS transport")
        from actors.nats._node import Node  # noqa: PLC0415 - asyncio, nats-py: only when used

        if self._node is not None:
            msg = "a NatsTransport serves one system; make one per ActorSystem"
            raise InvalidConfig(msg)
        node = Node(self, runtime)
        node.join()
        self._node = node
        return node


def _node_id() -> str:
    host = re.sub(r"[^a-z0-9_-]", "-", socket.gethostname().lower())[:32].strip("-_") or "node"
    return f"{host}-{os.getpid()}-{os.urandom(3).hex()}"
