"""Orchestration patterns (issue 10): how long a batch of work takes on a pool, and gather.

Routing makespan: 2,000 jobs with skewed durations (5% take 10 ms, the rest 0.2 ms: 50x
apart; which ones is fixed by a seeded random, the same list for every case) sent to the
role of a pool of 8, by a dispatcher that keeps at most 16 jobs in flight (2 per member: a
job counts from its send until a member has handled it), as a fan-out with bounded
in-flight work does. Handlers sleep for their duration (they release the GIL, as agents
waiting on I/O or a model do). Makespan: from the first send to the last job handled.

- ``LEAST_BUSY``: a pool routed `Routing.LEAST_BUSY` (the pool default);
- ``ROUND_ROBIN``: the same pool routed `Routing.ROUND_ROBIN`.

Target: LEAST_BUSY's makespan <= 0.7x ROUND_ROBIN's. Under round-robin every 8th job queues
behind whichever member holds a slow job, and the bounded window soon holds only such jobs;
least-busy sends work to the members that are free.

Gather overhead: 10,000 small requests to the role of a pool of 8 whose members answer at
once, by ``system.gather(..., max_in_flight=1024)`` vs plain ``ask_future`` calls sent in a loop
and then collected one by one (no bound). Target: the gather's time <= 1.3x.

Each section of this script measures into the same report (see ``SECTIONS``); the pools are
unpinned (placement [os]): handlers sleep, so what counts is which member waits, not the cost
of a thread hand-over.

Run: ``python benchmarks/bench_orchestration.py [--quick] [--json] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import random
import threading
import time
from collections.abc import Callable

from _harness import (
    WAIT_TIMEOUT,
    BenchmarkError,
    Measurement,
    Report,
    finish,
    parse_args,
    perf_counter,
    ratio_target,
    rotated,
    silence_logs,
)

from actors import ActorSystem, AgentActor, Message, Routing, RoutingStrategy, handler

POOL_SIZE = 8
IN_FLIGHT = 2 * POOL_SIZE  # the dispatcher's window
FAST_S, SLOW_S = 0.0002, 0.010  # a job's duration: 50x apart
SLOW_SHARE = 0.05
SEED = 10


class Job(Message):
    """One piece of work: the handler sleeps ``seconds``."""

    seconds: float


class Batch:
    """One batch in flight: the dispatcher's window and the count of handled jobs."""

    def __init__(self, jobs: int) -> None:
        self.window = threading.Semaphore(IN_FLIGHT)
        self.lock = threading.Lock()
        self.left = jobs
        self.done = threading.Event()
        self.t_end = 0.0

    def handled(self) -> None:
        """Called by a member (in its thread) after each job."""
        with self.lock:
            self.left -= 1
            last = not self.left
        self.window.release()
        if last:
            self.t_end = perf_counter()
            self.done.set()


class Worker(AgentActor):
    """A pool member: sleeps for the job's duration, then reports it handled."""

    def __init__(self, batches: list[Batch]) -> None:
        super().__init__()
        self.batches = batches  # the current batch is the last one

    @handler
    def on_job(self, job: Job) -> None:
        time.sleep(job.seconds)
        self.batches[-1].handled()


def skewed_jobs(count: int) -> list[Job]:
    """``count`` jobs, a seeded ``SLOW_SHARE`` of them slow (the same list on every call)."""
    rng = random.Random(SEED)
    slow = set(rng.sample(range(count), round(count * SLOW_SHARE)))
    return [Job(seconds=SLOW_S if i in slow else FAST_S) for i in range(count)]


def makespan(send: Callable[[Job], object], jobs: list[Job], batches: list[Batch]) -> float:
    """Dispatch ``jobs`` with at most `IN_FLIGHT` outstanding; seconds until all are handled."""
    batch = Batch(len(jobs))
    batches.append(batch)
    gc.collect()
    start = perf_counter()
    for job in jobs:
        if not batch.window.acquire(timeout=WAIT_TIMEOUT):
            msg = f"no job finished in {WAIT_TIMEOUT}s ({batch.left} left)"
            raise BenchmarkError(msg)
        send(job)
    if not batch.done.wait(WAIT_TIMEOUT):
        msg = f"only {len(jobs) - batch.left} of {len(jobs)} jobs handled in {WAIT_TIMEOUT}s"
        raise BenchmarkError(msg)
    return batch.t_end - start


def routing_makespan(report: Report, args: argparse.Namespace) -> None:
    """Section: makespan of skewed jobs on a pool, LEAST_BUSY vs ROUND_ROBIN."""
    count = 500 if args.quick else 2_000
    jobs = skewed_jobs(count)
    work = sum(job.seconds for job in jobs)
    report.config.update(
        {
            "jobs": count,
            "pool": POOL_SIZE,
            "in_flight": IN_FLIGHT,
            "durations_ms": f"{FAST_S * 1e3:g}/{SLOW_S * 1e3:g} ({SLOW_SHARE:.0%} slow)",
        }
    )
    strategies: list[tuple[str, RoutingStrategy]] = [
        ("LEAST_BUSY", Routing.LEAST_BUSY),
        ("ROUND_ROBIN", Routing.ROUND_ROBIN),
    ]
    found = {
        label: report.add(Measurement(f"makespan {label}", "ms", False)) for label, _ in strategies
    }
    batches: list[Batch] = []
    with ActorSystem("orchestration", metrics=False) as system:
        cases = []
        for label, strategy in strategies:
            role = label.lower().replace("_", "-")
            system.spawn_pool(
                Worker, batches, name=f"{role}-pool", size=POOL_SIZE, role=role, routing=strategy
            )
            cases.append((label, functools.partial(system.tell, f"role:{role}")))
        for r in range(args.rounds + 1):
            for label, send in rotated(cases, r):
                seconds = makespan(send, jobs if r else jobs[: max(1, count // 10)], batches)
                if r:  # round 0 is a shorter warm-up
                    found[label].samples.append(seconds * 1e3)
        if not system.shutdown(timeout=30.0):
            report.notes.append("the system did not shut down cleanly")
    report.targets.append(
        ratio_target(
            "makespan LEAST_BUSY vs ROUND_ROBIN",
            found["LEAST_BUSY"],
            found["ROUND_ROBIN"],
            "<=",
            0.7,
            note="lower is better",
        )
    )
    report.notes.append(
        f"routing: {work * 1e3:.0f} ms of sleeping work in all, "
        f"{work / POOL_SIZE * 1e3:.0f} ms per member if perfectly spread"
    )


class Small(Message):
    """A small request: the pool member answers with its number at once."""

    n: int


class Answerer(AgentActor):
    """A pool member for the gather section: answers at once."""

    @handler
    def on_small(self, message: Small) -> int:
        return message.n


def gather_overhead(report: Report, args: argparse.Namespace) -> None:
    """Section: a gather of small requests vs plain ask_future calls collected by hand."""
    count = 1_000 if args.quick else 10_000
    in_flight = 1_024
    messages = [Small(n=n) for n in range(count)]
    report.config.update({"gather_requests": count, "gather_max_in_flight": in_flight})
    hand = report.add(Measurement("requests by hand (ask_future, then get each)", "req/s", True))
    gathered = report.add(Measurement(f"gather (max_in_flight={in_flight})", "req/s", True))
    with ActorSystem("gathering") as system:
        system.spawn_pool(Answerer, name="answerers", size=POOL_SIZE, role="answerer")

        def by_hand() -> float:
            start = perf_counter()
            futures = [
                system.ask_future("role:answerer", m, timeout=WAIT_TIMEOUT) for m in messages
            ]
            values = [future.get(timeout=WAIT_TIMEOUT) for future in futures]
            elapsed = perf_counter() - start
            if values != list(range(count)):
                raise BenchmarkError("by hand: wrong answers")
            return count / elapsed

        def by_gather() -> float:
            start = perf_counter()
            outcomes = system.gather(
                messages, "role:answerer", max_in_flight=in_flight, timeout=WAIT_TIMEOUT
            ).results(timeout=WAIT_TIMEOUT)
            elapsed = perf_counter() - start
            if [o.value for o in outcomes] != list(range(count)):
                raise BenchmarkError("gather: wrong answers")
            return count / elapsed

        cases = [("hand", by_hand, hand), ("gather", by_gather, gathered)]
        for r in range(args.rounds + 1):
            for _, run, found in rotated(cases, r):
                gc.collect()
                rate = run()
                if r:  # round 0 is a warm-up
                    found.samples.append(rate)
        if not system.shutdown(timeout=30.0):
            report.notes.append("the system did not shut down cleanly")
    report.targets.append(  # overhead = time ratio = the inverse of the rate ratio
        ratio_target(
            "gather overhead vs by hand (rate by hand / rate gathered)", hand, gathered, "<=", 1.3
        )
    )


# Every section measures into the one report, in this order.
SECTIONS: list[Callable[[Report, argparse.Namespace], None]] = [routing_makespan, gather_overhead]


def main() -> int:
    args = parse_args(__doc__.splitlines()[0])
    silence_logs()
    before = set(threading.enumerate())
    report = Report(
        "bench_orchestration",
        "orchestration patterns: work spread over a pool",
        {"rounds": args.rounds, "placements": "os"},
    )
    for section in SECTIONS:
        section(report, args)
    return finish(report, before, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
