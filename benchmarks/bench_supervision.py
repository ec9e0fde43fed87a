"""Supervision (issue 3): restart latency, and what a supervisor costs the tell path.

Restart latency: the main thread tells a supervised agent a failing message and, right
behind it, a probe. The failing handler records ``perf_counter()`` just before it raises; the
probe's handler (in the new incarnation) records it again and sets an event. Latency = probe
handled - failure raised: the failure report, the supervisor's decision, stopping the old
incarnation, starting a new thread, ``post_restart``, and the first ``get``. Baselines in the
same run: the same loop with a supervisor that *resumes* (no new incarnation: the signalling
alone), and starting a bare `threading.Thread` (the floor of anything that builds a thread).

Throughput: one producer thread tells N messages to an agent under a supervision tree
(``system.start_tree(SupervisorSpec("workers", [ChildSpec(Worker, name="w")]))``) and to the
same agent spawned bare (``system.spawn(Worker, name="w")``, under the root supervisor), each
in its own system, rounds alternating.

Run: ``python benchmarks/bench_supervision.py [--quick] [--json] [--rounds N]``.
"""

from __future__ import annotations

import contextlib
import threading

from _harness import (
    WAIT_TIMEOUT,
    BenchmarkError,
    Counter,
    Measurement,
    Report,
    Sink,
    Tick,
    available_placements,
    finish,
    info_ratio,
    measure_throughput,
    parse_args,
    percentile,
    perf_counter,
    place,
    ratio_target,
    rotated,
    silence_logs,
    unpin,
    value_target,
)

from actors import ActorSystem, Message, handler
from supervision import ChildSpec, Directive, RestartPolicy, SupervisorSpec


class Fail(Message):
    """Its handler raises (after recording when)."""


class Probe(Message):
    """Its handler records when the (new) incarnation handled it."""


class Marks:
    """Timestamps shared by the incarnations of one slot (state outside the instance)."""

    __slots__ = ("probed", "t_fail", "t_probe", "t_started")

    def __init__(self) -> None:
        self.t_fail = 0.0
        self.t_started = 0.0
        self.t_probe = 0.0
        self.probed = threading.Event()


class Worker(Sink):
    """A `Sink` (counts `Tick`s, empty handler) that fails on `Fail` and stamps `Probe`."""

    def __init__(self, counter: Counter, marks: Marks) -> None:
        super().__init__(counter)
        self.marks = marks

    def post_restart(self, error: BaseException) -> None:
        self.marks.t_started = perf_counter()
        super().post_restart(error)

    @handler
    def on_fail(self, msg: Fail) -> None:
        self.marks.t_fail = perf_counter()
        raise RuntimeError("benchmark failure")

    @handler
    def on_probe(self, msg: Probe) -> None:
        m = self.marks
        m.t_probe = perf_counter()
        m.probed.set()


def resume_decider(error: BaseException) -> Directive:
    return Directive.RESUME


# A restart budget the benchmark never exhausts, with a short window so the restart history
# the supervisor scans stays as short as with the default policy (3 restarts in 5 s).
BUDGET = RestartPolicy(max_restarts=1_000, within=0.01)


def failure_loop(tell: object, marks: Marks, n: int) -> tuple[list[float], list[float]]:
    """``n`` times: tell Fail + Probe, wait for the probe; returns (latencies, to-started)."""
    fail, probe = Fail(), Probe()
    latencies = [0.0] * n
    started = [0.0] * n
    for i in range(n):
        marks.probed.clear()
        marks.t_started = 0.0
        tell(fail)  # type: ignore[operator]
        tell(probe)  # type: ignore[operator]
        if not marks.probed.wait(WAIT_TIMEOUT):
            msg = f"probe {i} never handled"
            raise BenchmarkError(msg)
        latencies[i] = marks.t_probe - marks.t_fail
        started[i] = marks.t_started - marks.t_fail if marks.t_started else 0.0
    return latencies, started


def thread_starts(n: int) -> list[float]:
    """``n`` times: start a bare thread; time until it runs its first line."""
    samples = [0.0] * n
    for i in range(n):
        stamp = [0.0]
        ran = threading.Event()

        def body(stamp: list[float] = stamp, ran: threading.Event = ran) -> None:
            stamp[0] = perf_counter()
            ran.set()

        thread = threading.Thread(target=body, name="bench-thread")
        start = perf_counter()
        thread.start()
        ran.wait(WAIT_TIMEOUT)
        thread.join(WAIT_TIMEOUT)
        samples[i] = stamp[0] - start
    return samples


def measure_restarts(
    report: Report,
    placement: str,
    cases: list[tuple[str, object, Marks]],
    *,
    n: int,
    rounds: int,
) -> dict[str, Measurement]:
    """p50/p99 per round of each failure case and of bare thread starts."""
    found: dict[str, Measurement] = {}
    labels = [label for label, _, _ in cases] + ["thread start"]
    for label in labels:
        found[label + " p50"] = report.add(Measurement(f"{label} p50 [{placement}]", "ms", False))
    for label in labels:
        found[label + " p99"] = report.add(Measurement(f"{label} p99 [{placement}]", "ms", False))
    started = report.add(
        Measurement(f"restart: failure -> post_restart p50 [{placement}]", "ms", False)
    )
    runs: list[tuple[str, object, Marks | None]] = [*cases, ("thread start", None, None)]
    for r in range(rounds + 1):
        for label, tell, marks in rotated(runs, r):
            count = n if r else max(1, n // 10)
            if marks is None:
                samples, to_start = thread_starts(count), []
            else:
                samples, to_start = failure_loop(tell, marks, count)
            if not r:
                continue
            found[label + " p50"].samples.append(percentile(samples, 50) * 1e3)
            found[label + " p99"].samples.append(percentile(samples, 99) * 1e3)
            if label == "restart" and to_start:
                started.samples.append(percentile(to_start, 50) * 1e3)
    return found


def main() -> int:
    args = parse_args(__doc__.splitlines()[0])
    silence_logs()  # every failure would log a traceback otherwise
    n_tell = 5_000 if args.quick else 100_000
    n_fail = 20 if args.quick else 300
    rounds = args.rounds
    placements = available_placements()
    restart_placements = tuple(p for p in placements if p != "cross-cpu")
    before = set(threading.enumerate())
    report = Report(
        "bench_supervision",
        "regiment supervision: restart latency, supervised vs bare tell throughput",
        {
            "tell_messages": n_tell,
            "failures_per_round": n_fail,
            "rounds": rounds,
            "warmup_rounds": 1,
            "placements": "/".join(placements),
            "restart_budget": f"{BUDGET.max_restarts} in {BUDGET.within}s",
        },
    )
    msg = Tick(n=1)
    restarts: dict[str, dict[str, Measurement]] = {}
    tells: dict[str, dict[str, Measurement]] = {}
    with contextlib.ExitStack() as stack:
        try:
            supervised = stack.enter_context(ActorSystem("supervised"))
            bare = stack.enter_context(ActorSystem("bare"))
            sup_counter, bare_counter = Counter(), Counter()
            supervised.start_tree(
                SupervisorSpec("workers", [ChildSpec(Worker, sup_counter, Marks(), name="w")])
            )
            sup_ref = supervised.ref("w")
            bare_ref = bare.spawn(Worker, bare_counter, Marks(), name="w")

            restart_marks, resume_marks = Marks(), Marks()
            supervised.start_tree(
                SupervisorSpec(
                    "restarts",
                    [ChildSpec(Worker, Counter(), restart_marks, name="restarter")],
                    policy=BUDGET,
                )
            )
            supervised.start_tree(
                SupervisorSpec(
                    "resumes",
                    [ChildSpec(Worker, Counter(), resume_marks, name="resumer")],
                    policy=RestartPolicy(decider=resume_decider),
                )
            )
            restarter = supervised.ref("restarter")
            resumer = supervised.ref("resumer")

            for placement in placements:  # "os" first, before anything was ever pinned
                place(placement, [sup_counter.tid, bare_counter.tid])
                tells[placement] = measure_throughput(
                    report,
                    placement,
                    [
                        ("bare (system.spawn)", bare_ref.tell, bare_counter),
                        ("supervised (start_tree)", sup_ref.tell, sup_counter),
                    ],
                    msg,
                    n=n_tell,
                    rounds=rounds,
                )
            unpin()
            for placement in restart_placements:
                place(placement)
                restarts[placement] = measure_restarts(
                    report,
                    placement,
                    [
                        ("restart", restarter.tell, restart_marks),
                        ("resume", resumer.tell, resume_marks),
                    ],
                    n=n_fail,
                    rounds=rounds,
                )
            unpin()
        finally:
            unpin()

    for placement in restart_placements:
        found = restarts[placement]
        report.targets.append(
            value_target(f"restart latency p50 [{placement}]", found["restart p50"], "<=", 1.0)
        )
    for placement in placements:
        found = tells[placement]
        report.targets.append(
            ratio_target(
                f"tell throughput supervised/bare [{placement}]",
                found["supervised (start_tree)"],
                found["bare (system.spawn)"],
                ">=",
                0.95,
            )
        )
    for placement in restart_placements:
        found = restarts[placement]
        report.info += [
            info_ratio(
                f"restart p50 / resume p50 [{placement}]", found["restart p50"], found["resume p50"]
            ),
            info_ratio(
                f"restart p50 / thread start p50 [{placement}]",
                found["restart p50"],
                found["thread start p50"],
            ),
        ]
    report.notes += [
        "restart = failing handler raised -> probe handled by the new incarnation; resume = "
        "the same with a supervisor that resumes (report, decision, directive, no new "
        "thread); thread start = threading.Thread.start() -> its first line runs",
        "failure -> post_restart = when the new incarnation's post_restart began",
        "bare = system.spawn (child of the root supervisor); supervised = child of a "
        "'workers' tree; each agent in its own system, both named 'w'",
        "placements: os = unpinned, same-cpu = every thread on one CPU, cross-cpu = the "
        "producer on one CPU and the agents on another (throughput only)",
    ]
    return finish(report, before, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
