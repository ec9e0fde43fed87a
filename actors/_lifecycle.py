"""The lifecycle of a slot: its states and the written table of which may follow which.

`actors._slot.Slot.transition` is the only way a state changes; it checks `TRANSITIONS`. An
illegal transition is a runtime bug: it raises `IllegalTransition` when `strict` is on (the
test suite turns it on, and fails any test during which one happened) and is logged at ERROR
otherwise; either way it is appended to `illegal_transitions`.

(The states live apart from `actors._slot` because the incarnation's thread moves its slot
through them too, and `actors._slot` imports `actors._incarnation`.)
"""

from __future__ import annotations

import enum

from actors.errors import RegimentError

__all__ = [
    "TRANSITIONS",
    "AgentStatus",
    "IllegalTransition",
    "SlotState",
    "illegal_transitions",
    "record_illegal",
    "status_of",
    "strict",
]


class SlotState(enum.Enum):
    """Where a slot is in its life (see `TRANSITIONS` for what may follow what)."""

    NEW = "new"  # created, never started
    STARTING = "starting"  # constructor and on_start / post_restart are running
    RUNNING = "running"  # taking messages
    SUSPENDED = "suspended"  # failed; waiting for its supervisor's directive
    RESTARTING = "restarting"  # between incarnations: stopping for a restart, or backing off
    STOPPED = "stopped"  # no incarnation; the slot is kept and may be started again
    CLOSED = "closed"  # gone for good: unregistered, mailbox closed, watchers told


_S = SlotState

# Every legal transition, by the state it leaves. Who makes each one:
# - the supervisor's thread: NEW/STOPPED/RESTARTING -> STARTING (`Slot.start`), a backoff's
#   -> RESTARTING, an ended incarnation's -> STOPPED/RESTARTING (`Slot.terminate`), and
#   anything -> CLOSED (`Slot.close`);
# - the incarnation's thread: STARTING -> RUNNING or STOPPED (its start worked or not),
#   RUNNING -> SUSPENDED (a failure), SUSPENDED -> RUNNING (resumed), and RUNNING/SUSPENDED/
#   STARTING -> STOPPED/RESTARTING when it ends.
TRANSITIONS: dict[SlotState, frozenset[SlotState]] = {
    _S.NEW: frozenset({_S.STARTING, _S.STOPPED, _S.RESTARTING, _S.CLOSED}),
    _S.STARTING: frozenset({_S.RUNNING, _S.STOPPED, _S.RESTARTING, _S.CLOSED}),
    _S.RUNNING: frozenset({_S.SUSPENDED, _S.STOPPED, _S.RESTARTING, _S.CLOSED}),
    _S.SUSPENDED: frozenset({_S.RUNNING, _S.STOPPED, _S.RESTARTING, _S.CLOSED}),
    _S.RESTARTING: frozenset({_S.STARTING, _S.STOPPED, _S.CLOSED}),
    _S.STOPPED: frozenset({_S.STARTING, _S.RESTARTING, _S.CLOSED}),
    _S.CLOSED: frozenset(),
}

# Raise on an illegal transition instead of logging it (the test suite turns this on).
strict = False

# Every illegal transition seen in this process, as (slot name, from, to): a test can assert
# that none happened.
illegal_transitions: list[tuple[str, SlotState, SlotState]] = []


class IllegalTransition(RegimentError):
    """A slot was moved to a state that may not follow its current one: a runtime bug."""


def record_illegal(name: str, previous: SlotState, to: SlotState) -> bool:
    """Record an illegal transition of the slot ``name``; True if it must raise (`strict`)."""
    illegal_transitions.append((name, previous, to))
    return strict


class AgentStatus(enum.StrEnum):
    """What an agent is doing, as `AgentRef.status` reports it (read from any thread)."""

    STARTING = "starting"  # constructor and on_start / post_restart are running (or about to)
    IDLE = "idle"  # running, waiting for its next message
    PROCESSING = "processing"  # inside a handler
    WAITING = "waiting"  # inside a handler, blocked in a blocking ask or a future's get()
    RESTARTING = "restarting"  # between incarnations, a restart's backoff included
    FAILED = "failed"  # crashed, waiting for its supervisor's decision
    STOPPED = "stopped"  # not running: stopped for good, or stopped until its supervisor restarts


_STATUS = {
    SlotState.NEW: AgentStatus.STARTING,
    SlotState.STARTING: AgentStatus.STARTING,
    SlotState.SUSPENDED: AgentStatus.FAILED,
    SlotState.RESTARTING: AgentStatus.RESTARTING,
    SlotState.STOPPED: AgentStatus.STOPPED,
    SlotState.CLOSED: AgentStatus.STOPPED,
}


def status_of(state: SlotState, handling: bool, waiting: bool) -> AgentStatus:
    """The status of a slot in ``state``, ``handling`` a message, ``waiting`` on a future."""
    if state is not SlotState.RUNNING:
        return _STATUS[state]
    if waiting:
        return AgentStatus.WAITING
    return AgentStatus.PROCESSING if handling else AgentStatus.IDLE
