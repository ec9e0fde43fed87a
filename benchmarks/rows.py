"""The rows of ``python -m benchmarks``: what each one runs on every side, its sizes, its goal.

A `Row` (selected by its id with ``--rows``) runs one workload of `anchors.common.Side` and
yields one or more table `Line`s (``ask`` gives p50 and p99). Every side does the same work
in a row: the same number of messages, the same handler (count, signal on the last one).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.anchors.common import Side, percentile

PRODUCERS = 4  # fan-in: producers sending to one agent
PAIRS = 8  # independent producer -> agent pairs
GROUP = 8  # agents behind a role, and behind a gather


@dataclass(frozen=True, slots=True)
class Line:
    """One table line: a figure every side reports, and the goal for regiment's ratio to pykka."""

    key: str  # JSON key
    label: str  # the table's first column (the size is filled in by the row)
    unit: str  # msg/s, us, ms, agents/s, KiB/agent, req/s
    higher_is_better: bool
    target: tuple[str, float] | None = None  # (">=" or "<=", ratio to pykka)


@dataclass(frozen=True, slots=True)
class Row:
    """One workload: ``run(side, size)`` returns a figure per line key."""

    id: str
    lines: tuple[Line, ...]
    size: int  # messages, agents or requests at the default size
    quick_size: int
    run: Callable[[Side, int], dict[str, float]]
    fresh: bool = False  # each side in a fresh process (memory, and spawn at scale)
    warm_up: bool = True  # a shorter unrecorded round 0 first
    describe: str = ""  # what --list prints


def _rate(seconds: float, n: int) -> float:
    return n / seconds


def _tell(side: Side, n: int) -> dict[str, float]:
    return {"tell": _rate(side.tell(n, 1), n)}


def _fan_in(side: Side, n: int) -> dict[str, float]:
    return {"fan-in": _rate(side.tell(n, PRODUCERS), n)}


def _pairs(side: Side, n: int) -> dict[str, float]:
    return {"pairs": _rate(side.pairs(n, PAIRS), n)}


def _role(side: Side, n: int) -> dict[str, float]:
    return {"role": _rate(side.role(n, GROUP), n)}


def _ask(side: Side, n: int) -> dict[str, float]:
    samples = side.ask(n)
    return {"ask-p50": percentile(samples, 50) * 1e6, "ask-p99": percentile(samples, 99) * 1e6}


def _broadcast(key: str, repeats: int) -> Callable[[Side, int], dict[str, float]]:
    def run(side: Side, n: int) -> dict[str, float]:
        return {key: statistics.median(side.broadcast(n, repeats)) * 1e3}

    return run


def _spawn(key: str) -> Callable[[Side, int], dict[str, float]]:
    def run(side: Side, n: int) -> dict[str, float]:
        spawned, stopped = side.spawn(n)
        return {f"{key}-rate": n / spawned, f"{key}-stop": stopped * 1e3}

    return run


def _rss(side: Side, n: int) -> dict[str, float]:
    return {"rss": side.rss(n)}


def _restart(side: Side, n: int) -> dict[str, float]:
    samples = side.restart(n)
    return {
        "restart-p50": percentile(samples, 50) * 1e3,
        "restart-p99": percentile(samples, 99) * 1e3,
    }


def _gather(side: Side, n: int) -> dict[str, float]:
    return {"gather": _rate(side.gather(n, GROUP), n)}


ROWS: tuple[Row, ...] = (
    Row(
        "tell",
        (Line("tell", "direct tell 1->1, {n:,} msgs (msg/s)", "msg/s", True, (">=", 2.0)),),
        10_000,
        2_000,
        _tell,
        describe="one producer thread, one agent",
    ),
    Row(
        "fan-in",
        (Line("fan-in", f"{PRODUCERS} producers -> 1 agent, {{n:,}} msgs (msg/s)", "msg/s", True),),
        10_000,
        2_000,
        _fan_in,
        describe=f"{PRODUCERS} producer threads, one agent",
    ),
    Row(
        "pairs",
        (Line("pairs", f"{PAIRS} independent pairs, {{n:,}} msgs (msg/s)", "msg/s", True),),
        10_000,
        2_000,
        _pairs,
        describe=f"{PAIRS} producer threads, each to its own agent",
    ),
    Row(
        "role",
        (Line("role", f"role tell over {GROUP} agents, {{n:,}} msgs (msg/s)", "msg/s", True),),
        10_000,
        2_000,
        _role,
        describe=f"one producer, spread over {GROUP} agents (regiment: role:worker)",
    ),
    Row(
        "ask",
        (
            Line("ask-p50", "ask p50, {n:,} sequential (µs)", "us", False, ("<=", 1.0)),
            Line("ask-p99", "ask p99, {n:,} sequential (µs)", "us", False),
        ),
        2_000,
        200,
        _ask,
        describe="sequential request/reply from the main thread",
    ),
    Row(
        "broadcast-100",
        (Line("broadcast-100", "broadcast to {n:,} agents until all handled (ms)", "ms", False),),
        100,
        100,
        _broadcast("broadcast-100", 5),
        warm_up=False,
        describe="one message to each of 100 idle agents (median of 5)",
    ),
    Row(
        "broadcast-1000",
        (
            Line(
                "broadcast-1000",
                "broadcast to {n:,} agents until all handled (ms)",
                "ms",
                False,
                ("<=", 1.0),
            ),
        ),
        1_000,
        1_000,
        _broadcast("broadcast-1000", 5),
        warm_up=False,
        describe="one message to each of 1,000 idle agents (median of 5)",
    ),
    Row(
        "spawn-1000",
        (
            Line("spawn-1000-rate", "spawn {n:,} agents (agents/s)", "agents/s", True, (">=", 0.8)),
            Line("spawn-1000-stop", "stop {n:,} agents (ms)", "ms", False),
        ),
        1_000,
        100,
        _spawn("spawn-1000"),
        fresh=True,
        warm_up=False,
        describe="spawn until every agent started, then stop all; fresh process (quick: 100)",
    ),
    Row(
        "spawn-10000",
        (
            Line(
                "spawn-10000-rate", "spawn {n:,} agents (agents/s)", "agents/s", True, (">=", 0.8)
            ),
            Line("spawn-10000-stop", "stop {n:,} agents (ms)", "ms", False),
        ),
        10_000,
        1_000,
        _spawn("spawn-10000"),
        fresh=True,
        warm_up=False,
        describe="as spawn-1000 with 10,000 agents (quick: 1,000)",
    ),
    Row(
        "rss",
        (Line("rss", "RSS per idle agent, {n:,} agents (KiB)", "KiB/agent", False, ("<=", 1.5)),),
        1_000,
        500,
        _rss,
        fresh=True,
        warm_up=False,
        describe="(RSS after spawning - before) / N, fresh process per side",
    ),
    Row(
        "restart",
        (
            Line("restart-p50", "restart p50, {n:,} failures (ms)", "ms", False),
            Line("restart-p99", "restart p99, {n:,} failures (ms)", "ms", False),
        ),
        200,
        20,
        _restart,
        describe="failure raised -> first message handled by the replacement",
    ),
    Row(
        "gather",
        (Line("gather", f"gather {{n:,}} requests over {GROUP} agents (req/s)", "req/s", True),),
        10_000,
        1_000,
        _gather,
        describe=f"10,000 requests spread over {GROUP} agents, every reply collected",
    ),
)

ROW_IDS = tuple(row.id for row in ROWS)


def row(row_id: str) -> Row:
    """The row with this id (KeyError if none)."""
    for candidate in ROWS:
        if candidate.id == row_id:
            return candidate
    raise KeyError(row_id)
