"""What a node's heartbeat says of it (imported by `ActorSystem.nodes` without the transport)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NodeInfo"]


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A live node of the cluster, as its heartbeat describes it.

    Attributes:
        node: its id (unique in the cluster).
        system: the name of its `ActorSystem`.
        host: the host name it runs on.
        pid: its process id.
        roles: the roles its agents hold.
        started: when it joined (seconds since the epoch).
        local: True for the node asking.
    """

    node: str
    system: str
    host: str
    pid: int
    roles: tuple[str, ...]
    started: float
    local: bool = False
