"""The seam between a system and other nodes: what the router asks of a transport.

A system without a transport has ``router.remote is None`` and nothing here runs. With one
(`actors.nats.NatsTransport`), the router keeps resolving every address locally first and calls
a `Remote` only for what it cannot settle alone:

- **registration**: `claim` the names of a new subtree cluster-wide before they enter the local
  table (a taken name raises `supervision.NameTaken`), `release` them when they leave it;
- **sends**: `tell` an envelope whose address no local slot settles (a name held by another
  node, a role whose local holder is busy or absent, the other nodes' share of a broadcast);
- **asks**: `ask` the same, for an envelope carrying a reply future;
- **watches**: `watch` a name held by another node (``Terminated`` arrives through the
  watcher's mailbox, ``node_down`` when that node stops heartbeating).

Every method is called from the sender's (or spawner's) own thread and must not block longer
than its own bounded network round trip (``claim``, an unknown name's lookup).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from actors._slot import Slot
    from actors.envelope import Envelope

__all__ = ["Remote", "RemoteSender"]


class RemoteSender:
    """The sender of an envelope that came from another node, as the send policy sees it.

    It has what a policy rule matches on (``name`` and ``roles``) and nothing else: it is no
    slot, nobody can reach it through it.
    """

    __slots__ = ("name", "node", "roles")

    def __init__(self, name: str, roles: frozenset[str], node: str) -> None:
        self.name = name
        self.roles = roles
        self.node = node

    def __repr__(self) -> str:
        return f"<RemoteSender {self.name!r} on {self.node!r}>"


class Remote(Protocol):
    """What the router needs of a transport; see the module docstring."""

    node: str

    def claim(self, slots: list[Slot]) -> None:
        """Claim the names of ``slots`` cluster-wide, all or none.

        Raises:
            NameTaken: if another node holds one of them.
            TransportError: if the registry did not answer in time.
        """

    def release(self, slots: list[Slot]) -> None:
        """Give the names of ``slots`` (unregistered) back to the cluster."""

    def wants(self, role: str | None) -> bool:
        """True if another live node holds ``role`` (None: any other live node at all)."""

    def durable(self, role: str) -> bool:
        """True if some node holds ``role`` with a durable agent (its messages go durably)."""

    def knows(self, name: str) -> bool:
        """True if another live node holds the name ``name`` (may ask the registry)."""

    def tell(self, envelope: Envelope, sender: Slot | None) -> int:
        """Send ``envelope`` to the other nodes its address reaches.

        Returns:
            1 if it was handed to the transport, 0 if no other node has the address.

        Raises:
            MessageTooLarge: if the encoded envelope is over the size limit.
        """

    def ask(self, envelope: Envelope, sender: Slot | None) -> None:
        """Send ``envelope`` (it carries a reply future) as a request to one other node.

        Raises:
            MessageTooLarge: if the encoded envelope is over the size limit.
        """

    def watch(self, name: str, watcher: Slot) -> bool:
        """Tell ``watcher`` when the remote agent ``name`` stops; False if no node has it."""

    def unwatch(self, name: str, watcher: Slot) -> None:
        """Stop telling ``watcher`` about ``name``."""
