"""What every side shares: the `Side` interface, counting, producer threads, RSS.

A workload returns raw figures (seconds, or a list of per-call seconds) and never sleeps:
handlers count, and the one that counts the last expected message records
``time.perf_counter()`` and sets a `threading.Event`.
"""

from __future__ import annotations

import gc
import math
import threading
import time
from collections.abc import Callable, Sequence

perf_counter = time.perf_counter

WAIT = 60.0  # seconds any single wait may take before a workload gives up


class NotApplicable(Exception):
    """This side cannot do this workload; the message is the table's footnote."""


class LostWork(RuntimeError):
    """Work that never finished (a lost message, a hung agent)."""


class Tally:
    """Counts handled messages; the hit that reaches ``target`` stamps the time and signals.

    ``shared=True`` takes a lock on every hit (several agents count into one tally); a tally
    with one consumer counts without one. Every side's handler calls `hit` and nothing else.
    """

    __slots__ = ("_lock", "count", "done", "shared", "t_end", "target")

    def __init__(self, target: int, *, shared: bool = False) -> None:
        self._lock = threading.Lock()
        self.shared = shared
        self.count = 0
        self.target = target
        self.t_end = math.nan
        self.done = threading.Event()

    def hit(self) -> None:
        if self.shared:
            with self._lock:
                self.count += 1
                if self.count != self.target:
                    return
        else:
            self.count += 1
            if self.count != self.target:
                return
        self.t_end = perf_counter()
        self.done.set()

    def wait(self, what: str, timeout: float = WAIT) -> float:
        """Wait for the last hit; return when it happened."""
        if not self.done.wait(timeout):
            msg = f"{what}: only {self.count} of {self.target} handled in {timeout:g}s"
            raise LostWork(msg)
        return self.t_end


def split(n: int, parts: int) -> list[int]:
    """``n`` messages over ``parts`` producers, as evenly as possible."""
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def run_producers(bodies: Sequence[Callable[[], object]]) -> float:
    """Start one thread per body, release them together; return the release time.

    Every producer waits on one event, so the clock starts before any first send.
    """
    go = threading.Event()
    errors: list[BaseException] = []

    def wrap(body: Callable[[], object]) -> None:
        go.wait()
        try:
            body()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)

    threads = [
        threading.Thread(target=wrap, args=(b,), name=f"bench-producer-{i}", daemon=True)
        for i, b in enumerate(bodies)
    ]
    for thread in threads:
        thread.start()
    gc.collect()
    start = perf_counter()
    go.set()
    for thread in threads:
        thread.join(WAIT)
    if errors:
        raise errors[0]
    return start


def timed_calls(call: Callable[[], object], n: int) -> list[float]:
    """Seconds each of ``n`` sequential calls took."""
    samples = [0.0] * n
    clock = perf_counter
    gc.collect()
    for i in range(n):
        start = clock()
        call()
        samples[i] = clock() - start
    return samples


def rss_kib() -> float:
    """This process's resident set (VmRSS) in KiB; NaN where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return math.nan


class Marks:
    """Timestamps shared by the incarnations of one failing agent (kept outside the instance)."""

    __slots__ = ("probed", "t_fail", "t_probe")

    def __init__(self) -> None:
        self.t_fail = 0.0
        self.t_probe = 0.0
        self.probed = threading.Event()

    def fail(self) -> None:
        """Called by the failing handler just before it raises."""
        self.t_fail = perf_counter()

    def probe(self) -> None:
        """Called by the new incarnation's handler for the first message after the failure."""
        self.t_probe = perf_counter()
        self.probed.set()


class Side:
    """One contender. Each workload does the same work on every side; see ``benchmarks.rows``.

    A side overrides what it can do; the rest raise `NotApplicable` with the reason.
    Workloads leave nothing running behind them (every thread, process and system stopped).
    """

    key = "side"

    def tell(self, n: int, producers: int) -> float:
        """``producers`` threads send ``n`` messages in all to one agent: seconds until handled."""
        raise NotApplicable("no tell")

    def pairs(self, n: int, pairs: int) -> float:
        """``pairs`` producers, each sending ``n / pairs`` to its own agent: seconds, all done."""
        raise NotApplicable("no independent agents")

    def role(self, n: int, agents: int) -> float:
        """One producer sends ``n`` to a group of ``agents``, spread over them: seconds."""
        raise NotApplicable("no group of agents")

    def ask(self, n: int) -> list[float]:
        """``n`` sequential request/replies from the main thread: seconds each."""
        raise NotApplicable("no request/reply")

    def broadcast(self, agents: int, repeats: int) -> list[float]:
        """One message to each of ``agents`` idle agents, ``repeats`` times: seconds each."""
        raise NotApplicable("no agents to broadcast to")

    def spawn(self, n: int) -> tuple[float, float]:
        """Spawn ``n`` idle agents until each started, then stop them all: (spawn s, stop s)."""
        raise NotApplicable("no agents to spawn")

    def rss(self, n: int) -> float:
        """KiB of resident memory per idle agent with ``n`` of them (in a fresh process)."""
        raise NotApplicable("no agents")

    def restart(self, n: int) -> list[float]:
        """``n`` times: an agent fails; seconds until a new one handled its first message."""
        raise NotApplicable("no agent lifecycle")

    def gather(self, n: int, agents: int) -> float:
        """``n`` requests spread over ``agents`` agents, all replies collected: seconds."""
        raise NotApplicable("no request/reply to a group")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
