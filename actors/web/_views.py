"""What the observer's endpoints answer: JSON-ready dicts built from a system's public reads.

Everything here reads through `ActorSystem`'s public API (``tree``, ``agents``, ``metrics``,
``dead_letters``, ``pools``, ``AgentRef.info`` / ``recent``): snapshots taken without asking
any agent, so no agent's state is touched from the web server's thread. The functions are
plain (no Starlette): the page, the SSE feed and the tests all use them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actors.events import (
    AgentCrashed,
    AgentRestarted,
    AgentStarted,
    AgentStopped,
    DeadLetter,
    Escalated,
    Event,
    SystemFailed,
)

if TYPE_CHECKING:
    from actors.metrics import MetricsSnapshot
    from actors.system import ActorSystem

__all__ = [
    "FEED_TYPES",
    "Rates",
    "agent_detail",
    "agents_view",
    "dead_letters_view",
    "event_summary",
    "tree_view",
]

BODY_CHARS = 300  # a dead letter's body is shown as JSON text cut to this many characters
TEXT_CHARS = 2000  # any other text from the system (an exception's repr...) is cut to this

# The events the live feed lists (`event_summary`); LifecycleChanged and DeadLetter only
# trigger an update (dead letters have their own list).
FEED_TYPES: tuple[type[Event], ...] = (
    AgentCrashed,
    AgentRestarted,
    AgentStarted,
    AgentStopped,
    Escalated,
    SystemFailed,
)


def _cut(text: str, limit: int = TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def tree_view(system: ActorSystem) -> dict[str, Any]:
    """The supervision tree (`TreeNode.to_dict`), each pool's supervisor marked with its pool.

    A pool's node gets ``"pool": {"role", "size", "max_size"}``; every other node
    ``"pool": None``.
    """
    pools = {
        pool.name: {"role": pool.role, "size": pool.size, "max_size": pool.max_size}
        for pool in system.pools()
    }
    tree = system.tree().to_dict()
    _mark_pools(tree, pools)
    return {"system": system.name, "at": time.time(), "tree": tree}


def _mark_pools(node: dict[str, Any], pools: dict[str, dict[str, Any]]) -> None:
    node["pool"] = pools.get(node["name"]) if node["kind"] == "supervisor" else None
    for child in node["children"]:
        _mark_pools(child, pools)


def _parents(node: dict[str, Any], parent: str | None, out: dict[str, str | None]) -> None:
    out[node["name"]] = parent
    for child in node["children"]:
        _parents(child, node["name"], out)


def supervisors_of(system: ActorSystem) -> dict[str, str | None]:
    """Every slot's name mapped to its supervisor's name (None for the root)."""
    out: dict[str, str | None] = {}
    _parents(system.tree().to_dict(), None, out)
    return out


class Rates:
    """Messages handled per second by each agent: the difference of two metrics snapshots.

    `update` takes a new snapshot and recomputes the rates when at least ``every`` seconds
    passed since the one they were computed from (so many readers, the SSE streams and
    ``/api/agents``, share one measurement). Thread-safe. ``clock`` gives the time in
    seconds (`time.monotonic` by default).
    """

    def __init__(self, every: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._base: tuple[float, dict[str, int]] | None = None
        self._rates: dict[str, float] = {}

    def update(self, snapshot: MetricsSnapshot) -> dict[str, float]:
        """The per-agent rates, recomputed from ``snapshot`` if the last ones are old enough."""
        now = self._clock()
        handled = {name: agent.handled for name, agent in snapshot.agents.items()}
        with self._lock:
            base = self._base
            if base is None:
                self._base = (now, handled)
            elif now - base[0] >= self._every:
                elapsed = now - base[0]
                self._rates = {
                    name: max(0, count - base[1][name]) / elapsed
                    for name, count in handled.items()
                    if name in base[1]
                }
                self._base = (now, handled)
            return dict(self._rates)


def agents_view(system: ActorSystem, rates: Rates) -> dict[str, Any]:
    """One row per live agent: status, mailbox, counts, handled/s, handling times."""
    snapshot = system.metrics()
    per_second = rates.update(snapshot)
    parents = supervisors_of(system)
    rows = []
    for ref in system.agents():
        info = ref.info()
        metrics = snapshot.agents.get(ref.name)
        rows.append(
            {
                "name": info.name,
                "roles": list(info.roles),
                "status": info.status.value,
                "handling": info.handling,
                "mailbox_depth": info.mailbox_depth,
                "mailbox_high_water": 0 if metrics is None else metrics.mailbox_high_water,
                "restarts": info.restarts,
                "received": info.received,
                "handled": info.handled,
                "failed": info.failed,
                "handled_per_second": per_second.get(info.name),
                "p50": None if metrics is None else metrics.handling.p50,
                "p95": None if metrics is None else metrics.handling.p95,
                "supervisor": parents.get(info.name),
            }
        )
    return {"system": system.name, "at": snapshot.at, "agents": rows}


def agent_detail(system: ActorSystem, name: str) -> dict[str, Any] | None:
    """One agent's `AgentInfo`, flight recording and metrics; None if no live agent has ``name``.

    Never raises for an unknown name (the caller answers 404).
    """
    ref = next((ref for ref in system.agents() if ref.name == name), None)
    if ref is None:
        return None
    metrics = system.metrics().agents.get(name)
    return {
        "name": name,
        "supervisor": supervisors_of(system).get(name),
        "info": ref.info().model_dump(mode="json"),
        "recent": [entry.model_dump(mode="json") for entry in ref.recent()],
        "metrics": None if metrics is None else metrics.model_dump(mode="json"),
    }


def dead_letter_summary(letter: DeadLetter) -> dict[str, Any]:
    """A dead letter as the page lists it: reason, detail, who to whom, the body cut short."""
    envelope = letter.envelope
    data = envelope.to_dict()
    return {
        "at": letter.at,
        "reason": letter.reason.value,
        "detail": None if letter.detail is None else _cut(letter.detail),
        "id": envelope.id,
        "type": data["type"],
        "sender": envelope.sender,
        "to": data["to"],
        "correlation_id": envelope.correlation_id,
        "body": _cut(json.dumps(data["body"], default=str), BODY_CHARS),
    }


def dead_letters_view(system: ActorSystem, limit: int) -> dict[str, Any]:
    """The newest ``limit`` dead letters (newest first) and the counts by reason since start."""
    letters = system.dead_letters()[-limit:] if limit > 0 else []
    return {
        "system": system.name,
        "counts": {reason.value: count for reason, count in system.dead_letter_counts().items()},
        "letters": [dead_letter_summary(letter) for letter in reversed(letters)],
    }


def event_summary(event: Event) -> dict[str, Any] | None:
    """A feed line for an event of `FEED_TYPES` (None for any other event).

    ``{"type", "at", "name", "text"}``: ``name`` is the agent or supervisor concerned,
    ``text`` says what happened (an exception's ``repr`` included, cut short).
    """
    kind = type(event).__name__
    name: str
    if isinstance(event, AgentCrashed):
        name = event.name
        directive = f" ({event.directive})" if event.directive else ""
        text = f"crashed{directive}: {event.error}"
    elif isinstance(event, AgentRestarted):
        name, text = event.name, f"restarted (restart {event.restarts})"
    elif isinstance(event, AgentStarted):
        name, text = event.name, f"{event.kind} started"
    elif isinstance(event, AgentStopped):
        name, text = event.name, f"stopped ({event.reason.value})"
    elif isinstance(event, Escalated):
        name, text = event.supervisor, f"escalated: {event.cause}"
    elif isinstance(event, SystemFailed):
        name, text = event.system, f"system failed: {event.cause}"
    else:
        return None
    return {"type": kind, "at": event.at, "name": name, "text": _cut(text)}
