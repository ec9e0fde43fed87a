"""Scale: spawn, broadcast-until-handled and shutdown of 1,000-10,000 agents vs raw pykka 4.5.

Each side and each size runs in a fresh process (this script re-invokes itself with the hidden
``--child SIDE N`` mode, which prints one JSON line), so the threads and memory one run leaves
behind never reach the next; the runs alternate between the sides. In a child:

- regiment: ``system = ActorSystem("bench")``, then N times
  ``system.spawn(Idle, ..., name=f"a-{i}", roles=("w",))`` (every agent shares one role),
  ``system.broadcast(Ping())``, ``system.shutdown(timeout=...)``;
- pykka: N times ``PykkaIdle.start(...)`` (a `pykka.ThreadingActor` with ``on_receive``),
  ``pykka.ActorRegistry.broadcast(Ping())`` (a tell to every registered actor), then
  ``pykka.ActorRegistry.stop_all(timeout=...)``.

Spawn runs from the first spawn/start call until every agent's ``on_start`` ran (regiment's
spawn returns after ``on_start``; pykka's ``start()`` returns before it, so the pykka clock
also waits for the last ``on_start``). Broadcast runs from the call until the last agent's
handler counted the message (a lock-protected counter; the last one records the time and sets
an event). Shutdown is the call. Idle memory is VmRSS (``/proc/self/status``) after spawning
minus VmRSS before (both after ``gc.collect()``), divided by N.

Each case runs unpinned (``os``) and with the whole child pinned to one CPU (``same-cpu``).

Run: ``python benchmarks/bench_scale.py [--sizes 1000,5000,10000] [--placements os,same-cpu]
[--quick] [--json] [--rounds N] [--timeout S]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import subprocess
import sys
import threading
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pykka
from _harness import (
    BenchmarkError,
    Measurement,
    Report,
    Target,
    header,
    info_ratio,
    perf_counter,
    ratio_target,
    rotated,
    silence_logs,
    table,
)

from actors import ActorSystem, AgentActor, Message, handler

REGIMENT, PYKKA = "regiment", "pykka"
SIDES = (PYKKA, REGIMENT)
PLACEMENTS = ("os", "same-cpu")
DEFAULT_SIZES = (1_000, 5_000, 10_000)
QUICK_SIZES = (200, 1_000)
THREAD_MARGIN = 200  # threads besides the agents: main, system threads, the parent, a shell


def child_wait(n: int) -> float:
    """Seconds any single wait inside a child may take (spawn, broadcast, shutdown)."""
    return 30.0 + 0.01 * n


def child_timeout(n: int) -> float:
    """Seconds a whole child run may take before it is killed and reported as never finishing."""
    return 60.0 + 0.04 * n


def pin_process(placement: str) -> None:
    """``same-cpu``: pin this thread, and so every thread it starts later, to one CPU."""
    if placement == "same-cpu" and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


# -- the child: one side, one size, one fresh process ---------------------------------------


class Tally:
    """A thread-safe count; the hit that reaches ``target`` records the time and sets ``done``."""

    __slots__ = ("_lock", "count", "done", "t_end", "target")

    def __init__(self, target: int) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.target = target
        self.t_end = math.nan
        self.done = threading.Event()

    def hit(self) -> None:
        with self._lock:
            self.count += 1
            if self.count != self.target:
                return
            self.t_end = perf_counter()
        self.done.set()

    def wait(self, timeout: float, what: str) -> None:
        if not self.done.wait(timeout):
            msg = f"{what}: only {self.count} of {self.target} agents in {timeout:g}s"
            raise BenchmarkError(msg)


class Ping(Message):
    """The broadcast message (one instance, sent by both sides)."""


class Idle(AgentActor):
    """Counts its start and every `Ping`; otherwise idle."""

    def __init__(self, started: Tally, handled: Tally) -> None:
        super().__init__()
        self.started = started
        self.handled = handled

    def on_start(self) -> None:
        self.started.hit()

    @handler
    def on_ping(self, msg: Ping) -> None:
        self.handled.hit()


class PykkaIdle(pykka.ThreadingActor):
    """The same agent on raw pykka (dispatch by type in ``on_receive``, as a pykka user would)."""

    def __init__(self, started: Tally, handled: Tally) -> None:
        super().__init__()
        self.started = started
        self.handled = handled

    def on_start(self) -> None:
        self.started.hit()

    def on_receive(self, message: Any) -> None:
        if type(message) is Ping:
            self.handled.hit()


def rss_kib() -> float:
    """The process's resident set (VmRSS) in KiB; NaN where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return math.nan


def run_child(side: str, n: int) -> dict[str, Any]:
    """Spawn ``n`` idle agents, broadcast one message until all handled it, shut down."""
    silence_logs()
    limit = child_wait(n)
    started, handled = Tally(n), Tally(n)
    msg = Ping()
    system = ActorSystem("bench") if side == REGIMENT else None
    before = set(threading.enumerate())
    gc.collect()
    rss_before = rss_kib()

    t0 = perf_counter()
    if system is not None:
        for i in range(n):
            system.spawn(Idle, started, handled, name=f"a-{i}", roles=("w",))
    else:
        for _ in range(n):
            PykkaIdle.start(started, handled)
    t_calls = perf_counter()
    started.wait(limit, f"{side} spawn: on_start ran")
    t_spawned = max(t_calls, started.t_end)

    gc.collect()
    rss_after = rss_kib()
    agent_threads = [t for t in threading.enumerate() if t not in before]

    t1 = perf_counter()
    if system is not None:
        delivered = system.broadcast(msg)
    else:
        pykka.ActorRegistry.broadcast(msg)
        delivered = n
    t_sent = perf_counter()
    handled.wait(limit, f"{side} broadcast: handled")

    t2 = perf_counter()
    if system is not None:
        if not system.shutdown(timeout=limit):
            msg_ = f"regiment shutdown: threads still running after {limit:g}s"
            raise BenchmarkError(msg_)
        t_stopped = t_joined = perf_counter()
    else:
        pykka.ActorRegistry.stop_all(timeout=limit)  # raises pykka.Timeout if one hangs
        t_stopped = perf_counter()
        for thread in agent_threads:
            thread.join(max(0.0, t2 + limit - perf_counter()))
        t_joined = perf_counter()
    alive = [t.name for t in agent_threads if t.is_alive()]
    if alive:
        msg_ = f"{side} shutdown: {len(alive)} agent threads still alive, e.g. {alive[:3]}"
        raise BenchmarkError(msg_)
    return {
        "side": side,
        "n": n,
        "spawn_s": t_spawned - t0,
        "spawn_calls_s": t_calls - t0,
        "broadcast_s": handled.t_end - t1,
        "broadcast_call_s": t_sent - t1,
        "delivered": delivered,
        "handled": handled.count,
        "shutdown_s": t_stopped - t2,
        "shutdown_joined_s": t_joined - t2,
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "rss_per_agent_kib": (rss_after - rss_before) / n,
        "threads_per_agent": len(agent_threads) / n,
    }


def child_main(side: str, n: int, placement: str) -> int:
    """``--child`` mode: print the result as one JSON line; any failure exits at once, loudly."""
    if side not in SIDES or placement not in PLACEMENTS:
        print(
            f"--child: side must be one of {SIDES}, placement one of {PLACEMENTS}", file=sys.stderr
        )
        return 2
    try:
        pin_process(placement)  # before any thread exists: the agents inherit it
        result = run_child(side, n)
    except BaseException:  # noqa: BLE001 - reported, then the process ends without joining
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)  # agent threads may still run: do not wait for them
    print(json.dumps(result), flush=True)
    return 0


# -- the parent: rounds of fresh children, figures, ratios ----------------------------------

Case = tuple[str, int]  # placement, number of agents


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The harness's ``--quick``/``--json``/``--rounds``, plus sizes, placements and timeout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"sizes {','.join(map(str, QUICK_SIZES))}, 1 round: a smoke test, not a measurement",
    )
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable results instead of tables"
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="fresh runs per side and case (default 3, quick 1)"
    )
    parser.add_argument(
        "--sizes",
        default=None,
        help="comma-separated agent counts (default 1000,5000,10000; quick 200,1000)",
    )
    parser.add_argument(
        "--placements",
        default=None,
        help="comma-separated, from os (unpinned) and same-cpu (default: both, where available)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds one child run may take before it is killed (default 60 + 0.04 per agent)",
    )
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.sizes is None:
        args.sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    else:
        try:
            args.sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s})
        except ValueError:
            parser.error("--sizes takes comma-separated integers, e.g. 1000,5000,10000")
        if not args.sizes or args.sizes[0] < 1:
            parser.error("--sizes must name at least one positive agent count")
    possible = PLACEMENTS if hasattr(os, "sched_setaffinity") else PLACEMENTS[:1]
    if args.placements is None:
        args.placements = list(possible)
    else:
        args.placements = [p for p in possible if p in args.placements.split(",")]
        if not args.placements:
            parser.error(f"--placements: choose from {','.join(possible)}")
    return args


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as file:
            return int(file.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def thread_limits() -> dict[str, Any]:
    """The limits that cap how many threads one process can start (None: not found)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    stack, _ = resource.getrlimit(resource.RLIMIT_STACK)
    maps = _read_int("/proc/sys/vm/max_map_count")
    return {
        "ulimit -u": None if soft == resource.RLIM_INFINITY else soft,
        "threads-max": _read_int("/proc/sys/kernel/threads-max"),
        "pid_max": _read_int("/proc/sys/kernel/pid_max"),
        "max_map_count/2": maps // 2 if maps else None,  # a thread stack is 2 maps (+ guard)
        "stack KiB (ulimit -s)": None if stack == resource.RLIM_INFINITY else stack // 1024,
        "threading.stack_size": threading.stack_size(),
    }


def check_thread_limits(limits: dict[str, Any], largest: int) -> None:
    """Fail before any run if a limit cannot hold the largest size's threads."""
    need = largest + THREAD_MARGIN
    short = {
        name: value
        for name, value in limits.items()
        if name in ("ulimit -u", "threads-max", "pid_max", "max_map_count/2")
        and value is not None
        and value < need
    }
    if short:
        msg = (
            f"{largest} agents need about {need} threads in one process, but {short} "
            "(raise the limit, e.g. `ulimit -u`, or pick smaller --sizes)"
        )
        raise BenchmarkError(msg)


def spawn_child(side: str, case: Case, timeout: float) -> dict[str, Any]:
    """Run one side in one case in a fresh process; kill it if it outlives ``timeout``."""
    placement, n = case
    command = [sys.executable, os.path.abspath(__file__), "--child", side, str(n), placement]
    what = f"{side} with {n:,} agents [{placement}]"
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:  # subprocess.run killed it
        tail = exc.stderr or ""
        if isinstance(tail, bytes):  # partial output may come back as bytes even with text=True
            tail = tail.decode(errors="replace")
        msg = f"{what} did not finish within {timeout:g}s (killed). {tail}"
        raise BenchmarkError(msg.strip()) from None
    if done.returncode != 0:
        msg = f"{what} failed (exit {done.returncode}):\n{done.stderr.strip()}"
        raise BenchmarkError(msg)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# metric key -> (label, unit, higher is better); derived from each child's result
METRICS: dict[str, tuple[str, str, bool]] = {
    "spawn_s": ("spawn (until every on_start ran)", "s", False),
    "spawn_rate": ("spawn rate", "agents/s", True),
    "spawn_us": ("spawn per agent", "us", False),
    "spawn_calls_s": ("  pykka: start() calls returned", "s", False),
    "broadcast_s": ("broadcast until all handled", "s", False),
    "broadcast_us": ("broadcast per agent", "us", False),
    "broadcast_call_s": ("  broadcast call returned", "s", False),
    "shutdown_s": ("shutdown (shutdown / stop_all)", "s", False),
    "shutdown_us": ("shutdown per agent", "us", False),
    "shutdown_joined_s": ("  pykka: stop_all + threads joined", "s", False),
    "rss_per_agent_kib": ("RSS per idle agent", "KiB", False),
    "threads_per_agent": ("threads per agent", "", False),
}


def derive(result: dict[str, Any]) -> dict[str, float]:
    """The figures of one child run, by metric key."""
    n = result["n"]
    return {
        "spawn_s": result["spawn_s"],
        "spawn_rate": n / result["spawn_s"],
        "spawn_us": result["spawn_s"] / n * 1e6,
        "spawn_calls_s": result["spawn_calls_s"],
        "broadcast_s": result["broadcast_s"],
        "broadcast_us": result["broadcast_s"] / n * 1e6,
        "broadcast_call_s": result["broadcast_call_s"],
        "shutdown_s": result["shutdown_s"],
        "shutdown_us": result["shutdown_s"] / n * 1e6,
        "shutdown_joined_s": result["shutdown_joined_s"],
        "rss_per_agent_kib": result["rss_per_agent_kib"],
        "threads_per_agent": result["threads_per_agent"],
    }


# rows that carry a ratio: metric key -> (goal op, threshold); "" = informational
RATIO_ROWS: dict[str, tuple[str, float]] = {
    "spawn_rate": (">=", 0.8),
    "broadcast_s": ("", math.nan),
    "shutdown_s": ("<=", 1.0),
    "rss_per_agent_kib": ("<=", 1.5),
}
PYKKA_ONLY = {"spawn_calls_s", "shutdown_joined_s"}
GROWTH_ROWS = ("spawn_s", "broadcast_s", "shutdown_s", "rss_per_agent_kib")


@dataclass
class ScaleReport(Report):
    """A `Report` whose text is one table per case, then the growth from smallest to largest."""

    cases: list[Case] = field(default_factory=list)
    found: dict[tuple[str, Case, str], Measurement] = field(default_factory=dict)
    ratios: dict[tuple[str, Case], Target] = field(default_factory=dict)
    reached: dict[tuple[Case, str], list[int]] = field(default_factory=dict)  # agents per round
    all_reached: dict[Case, Target] = field(default_factory=dict)
    growth: dict[tuple[str, str, str], Target] = field(default_factory=dict)  # key, placement, side
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # placement -> sizes compared
    failure: str = ""

    def measured(self, case: Case) -> bool:
        return all(self.found["spawn_s", case, side].samples for side in SIDES)

    def text(self) -> str:
        out = header(self.title, self.config)
        for case in self.cases:
            if self.measured(case):
                out += ["", self._case_table(case)]
        for placement in self.spans:
            out += ["", self._growth_table(placement)]
        misses = [t.name for t in self.targets if not t.passed]
        out += [
            "",
            f"targets (reported, not asserted): {len(self.targets) - len(misses)} PASS, "
            f"{len(misses)} MISS" + (":" if misses else ""),
            *(f"  MISS {name}" for name in misses),
        ]
        if self.notes:
            out += ["", *(f"note: {n}" for n in self.notes)]
        if self.failure:
            out += ["", f"FAILED: {self.failure}"]
        return "\n".join(out)

    def _case_table(self, case: Case) -> str:
        placement, n = case
        rounds = len(self.found["spawn_s", case, REGIMENT].samples)
        rows = []
        for key, (label, unit, _) in METRICS.items():
            reg, pyk = self.found[key, case, REGIMENT], self.found[key, case, PYKKA]
            row = [
                label,
                unit.replace("us", "µs"),
                "-" if key in PYKKA_ONLY else _num(reg.median),
                _num(pyk.median),
                "",
                "",
                "",
                "",
            ]
            target = self.ratios.get((key, case))
            if target is not None:
                row[4] = _num(target.value, "x")
                row[5] = f"{_num(target.low, 'x')} .. {_num(target.high, 'x')}"
                if target.op:
                    row[6] = f"{target.op} {target.threshold:.2f}x"
                    row[7] = "PASS" if target.passed else "MISS"
            rows.append(row)
        reached = self.all_reached[case]
        rows.insert(
            list(METRICS).index("broadcast_us") + 1,
            [
                "broadcast reached and handled by",
                "agents",
                *(f"{min(self.reached[case, side]):,}" for side in (REGIMENT, PYKKA)),
                "",
                "",
                f"all {n:,}",
                "PASS" if reached.passed else "MISS",
            ],
        )
        title = (
            f"N = {n:,} agents [{placement}]: median of {rounds} fresh run(s) per side"
            " (ratio = regiment/pykka of the medians; range = per-round ratios)"
        )
        rendered = table(
            ["measure", "unit", "regiment", "pykka", "ratio", "range", "goal", "result"],
            rows,
            {2, 3, 4, 5},
        )
        return f"{title}\n{rendered}"

    def _growth_table(self, placement: str) -> str:
        small, large = self.spans[placement]
        factor = large / small
        rows = []
        for key in GROWTH_ROWS:
            slots = [METRICS[key][0]]
            for side in (REGIMENT, PYKKA):
                g = self.growth[key, placement, side]
                if key == "rss_per_agent_kib":  # already per agent: flat = 1.00x
                    slots += ["-", _num(g.value, "x")]
                else:
                    slots += [_num(g.value, "x"), _num(g.value / factor, "x")]
            rows.append(slots)
        title = (
            f"growth from {small:,} to {large:,} agents [{placement}] ({factor:g}x the agents; "
            f"linear = {factor:g}x the total time, 1.00x per agent)"
        )
        rendered = table(
            ["measure", "regiment total", "per agent", "pykka total", "per agent"],
            rows,
            {1, 2, 3, 4},
        )
        return f"{title}\n{rendered}"

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["growth"] = {t.name: t.to_json() for t in self.growth.values()}
        data["failure"] = self.failure or None
        return data


def _num(value: float, unit: str = "") -> str:
    if math.isnan(value):
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}" if value >= 0.001 else f"{value:.2g}"


def build_targets(report: ScaleReport, placements: Sequence[str], sizes: Sequence[int]) -> None:
    """Ratios and PASS/MISS per case, then each placement's growth (smallest to largest size)."""
    for case in report.cases:
        if not report.measured(case):
            continue
        placement, n = case
        for key, (op, threshold) in RATIO_ROWS.items():
            reg, pyk = report.found[key, case, REGIMENT], report.found[key, case, PYKKA]
            name = f"{METRICS[key][0]} regiment/pykka [{placement}] N={n}"
            if op:
                target = ratio_target(name, reg, pyk, op, threshold)
                report.targets.append(target)
            else:
                target = info_ratio(name, reg, pyk)
                report.info.append(target)
            report.ratios[key, case] = target
        # a shortfall already failed the child; this also checks the count regiment returned
        fractions = [r / n for side in SIDES for r in report.reached[case, side]]
        report.all_reached[case] = Target(
            name=f"broadcast reached and handled by all N [{placement}] N={n}",
            value=min(fractions),
            op=">=",
            threshold=1.0,
            unit="of N",
            low=min(fractions),
            high=max(fractions),
        )
        report.targets.append(report.all_reached[case])
    for placement in placements:
        measured = [n for n in sizes if report.measured((placement, n))]
        if len(measured) < 2:
            continue
        small, large = measured[0], measured[-1]
        report.spans[placement] = (small, large)
        for key in GROWTH_ROWS:
            for side in (REGIMENT, PYKKA):
                lo = report.found[key, (placement, small), side]
                hi = report.found[key, (placement, large), side]
                rounds = min(len(lo.samples), len(hi.samples))  # a failed run cuts one short
                report.growth[key, placement, side] = info_ratio(
                    f"{METRICS[key][0]} growth {small}->{large} [{placement}] {side}",
                    Measurement(hi.name, hi.unit, hi.higher_is_better, hi.samples[:rounds]),
                    Measurement(lo.name, lo.unit, lo.higher_is_better, lo.samples[:rounds]),
                    note=f"linear = {large / small:g}x"
                    + (" (per agent: flat = 1x)" if key == "rss_per_agent_kib" else ""),
                )


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        return child_main(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    args = parse_args()
    limits = thread_limits()
    cases: list[Case] = [(p, n) for p in args.placements for n in args.sizes]
    report = ScaleReport(
        "bench_scale",
        "regiment at scale: spawn, broadcast and shutdown of N agents vs raw pykka 4.5",
        {
            "sizes": "/".join(str(n) for n in args.sizes),
            "placements": "/".join(args.placements),
            "rounds": args.rounds,
            "child_timeout_s": args.timeout or "60+0.04/agent",
            **{k: v for k, v in limits.items() if v is not None},
        },
        cases=cases,
    )
    for case in cases:
        placement, n = case
        for side in SIDES:
            for key, (label, unit, higher) in METRICS.items():
                found = Measurement(f"{label} [{placement}] N={n} {side}", unit, higher)
                report.found[key, case, side] = found
                if not (side == REGIMENT and key in PYKKA_ONLY):
                    report.add(found)
    report.notes += [
        "each side and case runs in a fresh process (bench_scale.py --child); rounds alternate "
        "the sides and rotate which goes first; no warm-up round",
        "placements: os = unpinned (the OS places every thread), same-cpu = the whole child "
        "process pinned to one CPU (no cross-CPU wake-ups: the most repeatable figures)",
        "spawn = first spawn/start call to the last agent's on_start (pykka's start() returns "
        "before on_start; its 'start() calls returned' row is the loop alone)",
        "broadcast = regiment system.broadcast(msg) / pykka ActorRegistry.broadcast(msg) (a "
        "tell to every registered actor) until the last handler counted it",
        "shutdown = regiment system.shutdown() (joins every thread) / pykka "
        "ActorRegistry.stop_all() (returns when each actor has stopped; 'threads joined' "
        "adds joining their threads)",
        "RSS per idle agent = (VmRSS after spawning N - VmRSS before) / N, both after "
        "gc.collect(); both sides use the default thread stack size",
    ]
    status = 0
    try:
        check_thread_limits(limits, max(args.sizes))
        for r in range(args.rounds):
            for i, case in enumerate(cases):
                for side in rotated(SIDES, r + i):
                    if sys.stderr.isatty():
                        print(f"round {r + 1}/{args.rounds}: {side} {case}", file=sys.stderr)
                    result = spawn_child(side, case, args.timeout or child_timeout(case[1]))
                    for key, value in derive(result).items():
                        report.found[key, case, side].samples.append(value)
                    reached = min(result["delivered"], result["handled"])
                    report.reached.setdefault((case, side), []).append(reached)
    except BenchmarkError as exc:
        report.failure = str(exc)
        status = 1
        # a round left half-done would pair the wrong samples: keep complete rounds only
        for case in cases:
            keep = min(len(report.found["spawn_s", case, side].samples) for side in SIDES)
            for side in SIDES:
                for key in METRICS:
                    del report.found[key, case, side].samples[keep:]
                del report.reached.get((case, side), [])[keep:]
    report.measurements = [m for m in report.measurements if m.samples]
    build_targets(report, args.placements, args.sizes)
    report.emit(args.json)
    if report.failure:
        print(f"bench_scale: FAILED: {report.failure}", file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
