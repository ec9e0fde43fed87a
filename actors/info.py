"""`AgentInfo`: one agent at a glance, as `AgentRef.info` reports it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from actors._lifecycle import AgentStatus
from actors.messages import wire_name

if TYPE_CHECKING:
    from actors._slot import Slot

__all__ = ["AgentInfo"]


class AgentInfo(BaseModel):
    """A frozen snapshot of one agent, read without asking it (it may have moved on since).

    Attributes:
        name: the agent's name.
        roles: the roles it holds, sorted.
        status: what it is doing (`AgentStatus`).
        handling: the `Message.type_name` of the message in hand, or None.
        handling_since: wall-clock time its handler started, or None (also when the system
            runs with ``metrics=False``). Exact when the agent had waited for the message, or
            when it was timed (see `actors.metrics`); otherwise the end of the last timed
            message, at most 255 fast messages before it.
        mailbox_depth: user messages queued.
        restarts: how often it was restarted.
        received: messages it took off its mailbox; handled: handler runs that returned;
            failed: handler runs that raised (all 0 when the system runs with
            ``metrics=False``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    roles: tuple[str, ...]
    status: AgentStatus
    handling: str | None
    handling_since: float | None
    mailbox_depth: int
    restarts: int
    received: int
    handled: int
    failed: int


def info_of(slot: Slot) -> AgentInfo:
    """Read ``slot``'s `AgentInfo` (any thread)."""
    current = slot.current
    stats = slot.stats
    since = None
    if current is not None and stats is not None:
        began = stats.since  # a lower bound of when the message in hand started (SlotStats)
        if began:
            since = time.time() - (time.perf_counter_ns() - began) / 1e9
    return AgentInfo(
        name=slot.name,
        roles=tuple(sorted(slot.roles)),
        status=slot.status,
        handling=None if current is None else wire_name(current.body),
        handling_since=since,
        mailbox_depth=slot.mailbox.qsize(),
        restarts=slot.restarts,
        received=0 if stats is None else stats.received,
        handled=0 if stats is None else stats.handled(current is not None),
        failed=0 if stats is None else stats.failed,
    )
