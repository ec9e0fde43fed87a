"""Shared benchmark harness: arguments, timing loops, statistics, tables, PASS/MISS.

Every benchmark measures its subject and its baseline in the same process, in alternating
rounds (A, B, A, B, ..., rotating which case goes first) so drift (CPU frequency, other
load) hits both alike, and reports the subject relative to the baseline, in each thread
placement (see `PLACEMENTS`). Targets are reported, never asserted: a benchmark exits 0
whatever the numbers are (it fails only if work never finishes).

Work is known to be done through events set by the handlers (never sleeps): a handler that
counts calls `Counter.finish` on the last expected message, which records the time and sets
an event.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from actors import AgentActor, Message, handler

perf_counter = time.perf_counter

WAIT_TIMEOUT = 30.0  # seconds any single wait may take before the benchmark gives up


class BenchmarkError(RuntimeError):
    """Work that never finished (a lost message, a hung agent)."""


# -- setup ---------------------------------------------------------------------------------------


def silence_logs() -> None:
    """Remove every loguru sink: per-message logging is not what is measured."""
    from loguru import logger

    logger.remove()


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The common command line: ``--quick``, ``--json`` and ``--rounds``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="much less work: a smoke test, not a measurement"
    )
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable results instead of tables"
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="measured rounds per case (default 5, quick 2)"
    )
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 2 if args.quick else 5
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def environment() -> dict[str, Any]:
    """What the numbers depend on, for the report header."""
    from importlib.metadata import version

    return {
        "regiment_commit": _commit(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "pykka": version("pykka"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "switch_interval_s": sys.getswitchinterval(),
    }


def _commit() -> str:
    """The repository's HEAD (``+dirty`` if the framework has uncommitted changes)."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", "actors", "supervision"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


# -- thread placement ---------------------------------------------------------------------------

# With the GIL only one thread runs Python at a time, but *where* the threads sit decides how
# much each hand-over costs: waking a thread that sleeps on another CPU goes through the
# kernel (and, on a VM, the hypervisor), waking one on the same CPU is a plain context switch.
# Unpinned, the OS picks, differently from run to run (and from thread to thread), which
# makes ratios between two actors a lottery. So every comparison runs in up to three
# placements, all threads of the process included:
#   os        - no pinning; whatever the scheduler does (measured first, before any pinning)
#   same-cpu  - every thread on one CPU
#   cross-cpu - the sending threads on one CPU, the measured actors' threads on another

PLACEMENTS = ("os", "same-cpu", "cross-cpu")


def available_placements() -> tuple[str, ...]:
    """The placements this machine can do (pinning needs Linux and, for cross-cpu, 2 CPUs)."""
    if not hasattr(os, "sched_setaffinity"):
        return ("os",)
    cpus = sorted(os.sched_getaffinity(0))
    return PLACEMENTS if len(cpus) >= 2 else PLACEMENTS[:2]


_ALL_CPUS: set[int] | None = None


def place(placement: str, actor_tids: Sequence[int] = ()) -> None:
    """Pin every thread of the process as ``placement`` says (see `PLACEMENTS`).

    New threads inherit the affinity of the thread that creates them, so a producer started
    by the main thread, or an incarnation started by a supervisor, lands with its creator.
    """
    global _ALL_CPUS  # noqa: PLW0603 - the affinity to restore, read once
    if not hasattr(os, "sched_setaffinity"):
        return
    if _ALL_CPUS is None:
        _ALL_CPUS = set(os.sched_getaffinity(0))
    cpus = sorted(_ALL_CPUS)
    here = _ALL_CPUS if placement == "os" else {cpus[0]}
    there = {cpus[1]} if placement == "cross-cpu" else here
    actors = set(actor_tids)
    for thread in threading.enumerate():
        tid = thread.native_id
        if tid is None or not thread.is_alive():
            continue
        try:
            os.sched_setaffinity(tid, there if tid in actors else here)
        except (ProcessLookupError, OSError):  # it just ended
            continue


def unpin() -> None:
    """Let every thread run anywhere again."""
    place("os")


# -- counting handlers ------------------------------------------------------------------------


class Counter:
    """Counts handled messages; the handler calls `finish` when ``count`` reaches ``target``.

    A handler does ``c.count += 1`` and ``if c.count == c.target: c.finish()``: the same two
    statements in every framework measured, so the handler costs the same everywhere.
    """

    __slots__ = ("count", "done", "entered", "release", "t_end", "target", "tid")

    def __init__(self) -> None:
        self.count = 0
        self.target = -1
        self.t_end = 0.0
        self.done = threading.Event()
        self.tid = 0  # native id of the actor's thread (set in on_start)
        self.entered = threading.Event()
        self.release = threading.Event()

    def started(self) -> None:
        """Called by the actor's ``on_start`` (in its thread): remember where it runs."""
        self.tid = threading.get_native_id()

    def hold(self) -> None:
        """Called by a gate handler: park the actor until `tell_split` releases it."""
        self.entered.set()
        if not self.release.wait(WAIT_TIMEOUT):
            msg = "gate never released"
            raise BenchmarkError(msg)

    def arm(self, target: int) -> None:
        """Expect ``target`` more messages (only while the agent is idle)."""
        self.count = 0
        self.t_end = 0.0
        self.done = threading.Event()
        self.target = target

    def finish(self) -> None:
        """Called by the handler on the last expected message (in the agent's thread)."""
        self.t_end = perf_counter()
        self.done.set()

    def wait(self, what: str) -> None:
        if not self.done.wait(WAIT_TIMEOUT):
            msg = f"{what}: only {self.count} of {self.target} messages handled in {WAIT_TIMEOUT}s"
            raise BenchmarkError(msg)


class Tick(Message):
    """The message every tell carries (one pre-built instance, shared by all)."""

    n: int = 0


class Sink(AgentActor):
    """Counts `Tick`s (empty handler); answers an ask at once (with None)."""

    def __init__(self, counter: Counter) -> None:
        super().__init__()
        self.counter = counter

    def on_start(self) -> None:
        self.counter.started()

    @handler
    def on_tick(self, msg: Tick) -> None:
        c = self.counter
        c.count += 1
        if c.count == c.target:
            c.finish()


@dataclass
class Throughput:
    """One throughput round."""

    rate: float  # messages handled per second, first send to last message handled
    send_rate: float  # messages sent per second, as seen by the producer


def tell_throughput(
    send: Callable[[Any], object], message: object, n: int, counter: Counter, what: str
) -> Throughput:
    """Send ``message`` ``n`` times from one fresh producer thread; time until all are handled.

    The clock starts in the producer just before its first send and stops in the agent's
    thread when its handler counts the n-th message.
    """
    counter.arm(n)
    marks: dict[str, float] = {}
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            repeat = itertools.repeat(message, n)
            marks["start"] = perf_counter()
            for item in repeat:
                send(item)
            marks["sent"] = perf_counter()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
            counter.done.set()

    producer = threading.Thread(target=produce, name="bench-producer")
    gc.collect()
    producer.start()
    counter.wait(what)
    producer.join(WAIT_TIMEOUT)
    if errors:
        raise errors[0]
    elapsed = counter.t_end - marks["start"]
    sent = marks["sent"] - marks["start"]
    return Throughput(rate=n / elapsed, send_rate=n / sent)


@dataclass
class Split:
    """Send and handle costs measured apart (no contention between the two threads)."""

    send_us: float  # producer: microseconds per send while the actor is parked
    handle_us: float  # actor: microseconds per message draining a pre-filled mailbox


def tell_split(
    send: Callable[[Any], object],
    gate: Callable[[], object],
    message: object,
    n: int,
    counter: Counter,
    *,
    what: str,
) -> Split:
    """Park the actor (``gate()`` sends it a message whose handler calls `Counter.hold`),
    send ``n`` messages from this thread, then release it and time the drain."""
    counter.arm(n)
    counter.entered.clear()
    counter.release.clear()
    gate()
    if not counter.entered.wait(WAIT_TIMEOUT):
        msg = f"{what}: the actor never reached the gate"
        raise BenchmarkError(msg)
    gc.collect()
    start = perf_counter()
    for item in itertools.repeat(message, n):
        send(item)
    sent = perf_counter()
    released = perf_counter()
    counter.release.set()
    counter.wait(what)
    return Split(send_us=(sent - start) / n * 1e6, handle_us=(counter.t_end - released) / n * 1e6)


def latencies(call: Callable[[], object], n: int) -> list[float]:
    """Time ``n`` sequential calls of ``call`` (seconds each)."""
    samples = [0.0] * n
    clock = perf_counter
    gc.collect()
    for i in range(n):
        start = clock()
        call()
        samples[i] = clock() - start
    return samples


# -- statistics ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Measurement:
    """One number measured once per round: its per-round values and their summary."""

    name: str
    unit: str  # "msg/s", "us", ...
    higher_is_better: bool
    samples: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return max(self.samples) if self.higher_is_better else min(self.samples)

    @property
    def worst(self) -> float:
        return min(self.samples) if self.higher_is_better else max(self.samples)

    @property
    def spread(self) -> float:
        """(max - min) / median across rounds: how noisy the number is."""
        median = self.median
        return (max(self.samples) - min(self.samples)) / median if median else math.nan

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "median": self.median,
            "best": self.best,
            "worst": self.worst,
            "spread": self.spread,
            "rounds": self.samples,
            "higher_is_better": self.higher_is_better,
            "note": self.note,
        }


@dataclass
class Target:
    """A reported (never asserted) goal: a ratio or an absolute value against a threshold."""

    name: str
    value: float
    op: str  # ">=" or "<="
    threshold: float
    unit: str  # "x" for ratios, else the value's unit
    low: float = math.nan  # the value's range across rounds
    high: float = math.nan
    note: str = ""

    @property
    def passed(self) -> bool | None:
        """None for an informational ratio (no goal)."""
        if self.op == ">=":
            return self.value >= self.threshold
        if self.op == "<=":
            return self.value <= self.threshold
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "op": self.op,
            "threshold": self.threshold,
            "unit": self.unit,
            "range": [self.low, self.high],
            "passed": self.passed,
            "note": self.note,
        }


def ratio_target(
    name: str,
    subject: Measurement,
    baseline: Measurement,
    op: str,
    threshold: float,
    *,
    note: str = "",
) -> Target:
    """Target on ``median(subject) / median(baseline)``; the range is the per-round ratios."""
    pairs = [s / b for s, b in zip(subject.samples, baseline.samples, strict=True) if b] or [
        math.nan
    ]
    return Target(
        name=name,
        value=subject.median / baseline.median if baseline.median else math.nan,
        op=op,
        threshold=threshold,
        unit="x",
        low=min(pairs),
        high=max(pairs),
        note=note,
    )


def info_ratio(name: str, subject: Measurement, baseline: Measurement, note: str = "") -> Target:
    """A ratio reported without a goal."""
    return ratio_target(name, subject, baseline, "", math.nan, note=note)


def value_target(
    name: str, subject: Measurement, op: str, threshold: float, note: str = ""
) -> Target:
    """Target on the median of an absolute measurement."""
    return Target(
        name=name,
        value=subject.median,
        op=op,
        threshold=threshold,
        unit=subject.unit,
        low=min(subject.samples),
        high=max(subject.samples),
        note=note,
    )


# -- running rounds ----------------------------------------------------------------------------


def rotated(cases: Sequence[Any], round_index: int) -> list[Any]:
    """``cases`` rotated by the round number, so no case always runs first in a round."""
    k = round_index % len(cases) if cases else 0
    return [*cases[k:], *cases[:k]]


SendCase = tuple[str, Callable[[Any], object], Counter]  # label, send, counter


def measure_throughput(
    report: Report,
    placement: str,
    cases: Sequence[SendCase],
    message: object,
    *,
    n: int,
    rounds: int,
) -> dict[str, Measurement]:
    """Tell throughput of each case in one placement (`tell_throughput`).

    Round 0 is a shorter warm-up and is not recorded; the rounds rotate the cases, so no
    case always goes first. Returns the measurements by label (also added to ``report``).
    """
    found = {
        label: report.add(Measurement(f"tell [{placement}] {label}", "msg/s", True))
        for label, _, _ in cases
    }
    for r in range(rounds + 1):
        for label, send, counter in rotated(cases, r):
            result = tell_throughput(send, message, n if r else max(1, n // 10), counter, label)
            if r:
                found[label].samples.append(result.rate)
    return found


# -- reporting ----------------------------------------------------------------------------------


def _fmt(value: float, unit: str) -> str:
    if math.isnan(value):
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "msg/s":
        return f"{value:,.0f}"
    if unit in ("us", "ms", "us/msg"):
        if value >= 100:
            return f"{value:,.1f}"
        return f"{value:.2f}" if value >= 1 else f"{value:.3f}"
    return f"{value:.3g}"


def header(title: str, config: dict[str, Any]) -> list[str]:
    """The lines every benchmark report starts with: title, versions, machine, settings."""
    env = environment()
    return [
        f"== {title} ==",
        "regiment {regiment_commit}, python {python} ({implementation}), pykka {pykka}, "
        "{cpus} CPUs, {platform}".format(**env),
        "config: " + ", ".join(f"{k}={v}" for k, v in config.items()),
    ]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max(len(str(slot)) for slot in column) for column in zip(headers, *rows, strict=True)]

    def line(slots: Sequence[str]) -> str:
        parts = [
            str(slot).rjust(width) if index in right else str(slot).ljust(width)
            for index, (slot, width) in enumerate(zip(slots, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


@dataclass
class Report:
    """Everything one benchmark run measured, printable as tables or JSON."""

    benchmark: str
    title: str
    config: dict[str, Any]
    measurements: list[Measurement] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    info: list[Target] = field(default_factory=list)  # ratios shown without a goal
    notes: list[str] = field(default_factory=list)

    def add(self, measurement: Measurement) -> Measurement:
        self.measurements.append(measurement)
        return measurement

    def text(self) -> str:
        out = [*header(self.title, self.config), ""]
        rows = [
            [
                m.name,
                _fmt(m.median, m.unit),
                _fmt(m.best, m.unit),
                _fmt(m.worst, m.unit),
                f"{m.spread * 100:.0f}%",
                m.unit,
                m.note,
            ]
            for m in self.measurements
        ]
        out.append(
            table(
                ["measurement", "median", "best", "worst", "spread", "unit", "note"],
                rows,
                {1, 2, 3, 4},
            )
        )
        if self.info:
            out += ["", "ratios (informational):"]
            out.append(
                table(
                    ["ratio", "value", "range over rounds", "note"],
                    [
                        [
                            t.name,
                            _fmt(t.value, t.unit),
                            f"{_fmt(t.low, t.unit)} .. {_fmt(t.high, t.unit)}",
                            t.note,
                        ]
                        for t in self.info
                    ],
                    {1},
                )
            )
        if self.targets:
            out += ["", "targets (reported, not asserted):"]
            out.append(
                table(
                    ["target", "value", "range over rounds", "goal", "result", "note"],
                    [
                        [
                            t.name,
                            _fmt(t.value, t.unit),
                            f"{_fmt(t.low, t.unit)} .. {_fmt(t.high, t.unit)}",
                            f"{t.op} {_fmt(t.threshold, t.unit)}"
                            + ("" if t.unit == "x" else f" {t.unit}"),
                            "PASS" if t.passed else "MISS",
                            t.note,
                        ]
                        for t in self.targets
                    ],
                    {1},
                )
            )
        if self.notes:
            out += ["", *(f"note: {n}" for n in self.notes)]
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "environment": environment(),
            "config": self.config,
            "measurements": {m.name: m.to_json() for m in self.measurements},
            "ratios": {t.name: t.to_json() for t in self.info},
            "targets": {t.name: t.to_json() for t in self.targets},
            "notes": self.notes,
        }

    def emit(self, as_json: bool) -> None:
        if as_json:
            print(json.dumps(_no_nan(self.to_json()), indent=2))
        else:
            print(self.text())


def _no_nan(value: Any) -> Any:
    """JSON has no NaN: missing numbers become null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def finish(report: Report, before: set[threading.Thread], as_json: bool) -> int:
    """Check for leaked threads, then print the report; returns the exit status (always 0)."""
    check_no_leaks(before, report)
    report.emit(as_json)
    return 0


def check_no_leaks(before: set[threading.Thread], report: Report) -> None:
    """Note any thread the benchmark started and did not end (after a short join)."""
    deadline = perf_counter() + 5.0
    for thread in threading.enumerate():
        if thread not in before:
            thread.join(max(0.0, deadline - perf_counter()))
    leaked = [t.name for t in threading.enumerate() if t not in before]
    if leaked:
        report.notes.append(f"threads still alive after shutdown: {leaked}")
