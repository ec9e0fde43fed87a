"""Metrics: counts and handling times of a whole system and of each agent.

`ActorSystem.metrics()` returns a `MetricsSnapshot` (pydantic models, so it serialises with
``model_dump`` / ``model_dump_json``). Metrics are always on unless the system is built with
``ActorSystem(metrics=False)``; their cost on the hot path is a few counter updates and two
clock reads per message (measured in ``benchmarks/bench_observability.py``).

Counts are exact: each agent's counters are written only by the agent's own thread, and the
system-wide ones are atomic counters (see `actors._stats`). A snapshot is read without stopping
anything, so counts that move during it may be a message apart from each other.

What the counts mean:

- ``sent``: sends that built an envelope (a tell, an ask, a broadcast: one each);
- ``delivered``: mailbox placements (a broadcast to 10 agents is 10);
- ``received``: messages an agent took off its mailbox: ``handled + failed + unhandled +
  expired + cancelled``;
- ``cancelled``: requests skipped (cancelled before they started) or stopped by their handler;
- ``late_replies``: replies dropped because their ask had already timed out or been cancelled;
- ``handled``: handler runs that returned; ``failed``: handler runs that raised;
- ``retried``: failed messages kept for another try (``retry_failed``);
- ``restarts``: restarts of the agent (or of every agent, for the system);
- ``dead_letters``: dead letters by reason, since the system started;
- ``tool_calls``: tool calls by outcome (``ok``, ``failed``, ``denied``, ``rate_limited``,
  ``invalid_arguments``; see `actors.tools`), since the system started.

Handling times are in seconds, from a histogram with a bucket per power of two nanoseconds
(percentiles within a factor of two), over a sample of the handler runs: see `HandlingTime`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from actors._stats import BUCKETS, SlotStats, count_of, percentile

if TYPE_CHECKING:
    from actors._runtime import Runtime
    from actors._slot import Slot

__all__ = ["AgentMetrics", "HandlingTime", "MetricsSnapshot", "SystemMetrics"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

# The cumulative buckets a snapshot reports (and Prometheus exports): every power of four
# nanoseconds from about 1 µs to about 69 s, as upper bounds in seconds.
EXPORTED_BOUNDS = tuple(range(10, 38, 2))


class HandlingTime(BaseModel):
    """How long handlers ran, in seconds, over the *timed* runs (failed ones included).

    Timing is sampled (see `actors._stats`): an agent times every message it takes after
    waiting for one (when it timed nothing in the last millisecond), every message while its
    handlers are slow, and one in 256 while it works
    through a backlog of fast ones. The message counts elsewhere are exact.

    Attributes:
        count: timed handler runs.
        sum: seconds spent in the timed runs.
        p50, p95, p99: estimated quantiles (within a factor of two).
        max: the longest timed run.
        buckets: ``(upper bound in seconds, runs that took at most that long)``, cumulative,
            for every power of four nanoseconds from about 1 µs to about 69 s; runs longer
            than the last bound count only in ``count``.
    """

    model_config = _FROZEN

    count: int
    sum: float
    p50: float
    p95: float
    p99: float
    max: float
    buckets: tuple[tuple[float, int], ...]

    @classmethod
    def of(cls, hist: list[int], total: int, longest: int) -> HandlingTime:
        """Summarise a power-of-two histogram of nanoseconds (see `actors._stats`)."""
        cumulative = []
        running = 0
        index = 0
        for bound in EXPORTED_BOUNDS:
            while index <= bound and index < BUCKETS:  # bucket i holds values below 2**i
                running += hist[index]
                index += 1
            cumulative.append(((1 << bound) / 1e9, running))
        return cls(
            count=sum(hist),
            sum=total / 1e9,
            p50=percentile(hist, 0.50, longest) / 1e9,
            p95=percentile(hist, 0.95, longest) / 1e9,
            p99=percentile(hist, 0.99, longest) / 1e9,
            max=longest / 1e9,
            buckets=tuple(cumulative),
        )


class AgentMetrics(BaseModel):
    """The metrics of one live agent.

    Attributes:
        name: the agent's name.
        roles: the roles it holds, sorted.
        received, handled, failed, unhandled, expired, cancelled, retried: see the module
            docstring
            (``received`` counts the message in hand too).
        restarts: how often it was restarted.
        mailbox_depth: user messages queued now.
        mailbox_high_water: the deepest its mailbox was seen: now, or as the agent took a
            timed message (counting that message).
        oldest_queued_age: seconds since the oldest queued message was created (0.0 when the
            mailbox is empty). An upper bound: the age of the last timed message the agent
            took, which in a FIFO mailbox is older than everything queued after it.
        handling: its handling times.
    """

    model_config = _FROZEN

    name: str
    roles: tuple[str, ...]
    received: int
    handled: int
    failed: int
    unhandled: int
    expired: int
    cancelled: int
    retried: int
    restarts: int
    mailbox_depth: int
    mailbox_high_water: int
    oldest_queued_age: float
    handling: HandlingTime


class SystemMetrics(BaseModel):
    """The metrics of a whole system, stopped agents included.

    Attributes:
        sent, delivered, received, handled, failed, unhandled: see the module docstring.
        expired, cancelled, retried, restarts, late_replies: see the module docstring.
        dead_letters: dead letters by reason (the reason's value).
        escalations: how often a supervisor gave up.
        live_agents: agents registered now.
        handling: handling times of every agent, stopped ones included.
        tool_calls: tool calls by outcome (outcomes that never occurred are absent).
    """

    model_config = _FROZEN

    sent: int
    delivered: int
    received: int
    handled: int
    failed: int
    unhandled: int
    expired: int
    cancelled: int
    retried: int
    restarts: int
    late_replies: int
    dead_letters: dict[str, int]
    escalations: int
    live_agents: int
    handling: HandlingTime
    tool_calls: dict[str, int] = Field(default_factory=dict)


class MetricsSnapshot(BaseModel):
    """What `ActorSystem.metrics` returns.

    Attributes:
        system_name: the system's name.
        at: wall-clock time of the snapshot.
        enabled: False if the system runs with ``metrics=False`` (per-agent counts are then
            all zero; ``sent``, ``delivered``, restarts and dead letters are still counted).
        system: the system-wide figures.
        agents: the figures of every live agent, by name.
    """

    model_config = _FROZEN

    system_name: str
    at: float
    enabled: bool
    system: SystemMetrics
    agents: dict[str, AgentMetrics]


def agent_metrics(slot: Slot, stats: SlotStats, now: float) -> AgentMetrics:
    """The metrics of one agent's slot (any thread)."""
    depth = slot.mailbox.qsize()
    taken = stats.taken_created
    return AgentMetrics(
        name=slot.name,
        roles=tuple(sorted(slot.roles)),
        received=stats.received,
        handled=stats.handled(slot.current is not None and stats is not _NONE),
        failed=stats.failed,
        unhandled=stats.unhandled,
        expired=stats.expired,
        cancelled=stats.cancelled,
        retried=stats.retried,
        restarts=slot.restarts,
        mailbox_depth=depth,
        mailbox_high_water=max(stats.high_water, depth),
        oldest_queued_age=max(0.0, now - taken) if depth and taken else 0.0,
        handling=HandlingTime.of(list(stats.hist), stats.total, stats.max),
    )


def snapshot(runtime: Runtime) -> MetricsSnapshot:
    """Read every counter of ``runtime`` once (any thread)."""
    totals = runtime.totals
    now = time.time()
    agents: dict[str, AgentMetrics] = {}
    with totals.lock:  # no slot retires (and is counted twice, or not at all) meanwhile
        overall = SlotStats()
        overall.add(totals.retired)
        restarts = totals.retired_restarts
        live = 0
        in_hand = 0
        for slot in list(runtime.router.table.names.values()):
            if slot.retired:  # closed, and folded into the retired totals already
                continue
            restarts += slot.restarts
            stats = slot.stats
            if stats is not None:
                overall.add(stats)
                in_hand += slot.current is not None
            if slot.kind == "agent":
                live += 1
                agents[slot.name] = agent_metrics(slot, stats or _NONE, now)
        escalations = totals.escalations
        delivered = totals.delivered()
        tool_calls = dict(totals.tool_calls)
        sent = count_of(totals.sent)
    return MetricsSnapshot(
        system_name=runtime.name,
        at=now,
        enabled=runtime.metrics,
        system=SystemMetrics(
            sent=sent,
            delivered=delivered,
            received=overall.received,
            handled=overall.handled() - in_hand,
            failed=overall.failed,
            unhandled=overall.unhandled,
            expired=overall.expired,
            cancelled=overall.cancelled,
            late_replies=count_of(totals.late),
            retried=overall.retried,
            restarts=restarts,
            dead_letters={
                reason.value: count for reason, count in runtime.dead_letters.counts().items()
            },
            escalations=escalations,
            live_agents=live,
            handling=HandlingTime.of(overall.hist, overall.total, overall.max),
            tool_calls=tool_calls,
        ),
        agents=agents,
    )


_NONE = SlotStats()  # what an agent of a system with metrics=False reports (all zero)
