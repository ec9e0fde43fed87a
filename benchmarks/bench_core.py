"""Core send paths (issue 2): tell throughput and ask round-trip, regiment vs raw pykka 4.5.

Tell: one producer thread sends N copies of one pre-built frozen message to one agent whose
handler only counts; the time runs from the first send to the moment the handler counts the
N-th message. Ask: sequential asks from the main thread to an agent whose handler returns at
once; each round-trip is timed. pykka does the same work with a `pykka.ThreadingActor`
(``on_receive`` counts; ``ref.tell(msg)`` / ``ref.ask(msg)``), in the same process, with
rounds alternating between the two. Each comparison runs in three thread placements (see
``_harness.PLACEMENTS``). A cost split (send cost with the actor parked, handle cost draining
a pre-filled mailbox) shows which side of a tell the time goes to.

Run: ``python benchmarks/bench_core.py [--quick] [--json] [--rounds N]``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pykka
from _harness import (
    Counter,
    Measurement,
    Report,
    SendCase,
    Sink,
    Tick,
    available_placements,
    finish,
    info_ratio,
    latencies,
    measure_throughput,
    parse_args,
    percentile,
    place,
    ratio_target,
    rotated,
    silence_logs,
    tell_split,
    unpin,
)

from actors import ActorSystem, Message, handler


class Gate(Message):
    """Parks the gated agents until the harness releases them (cost split only)."""


class GatedSink(Sink):
    """A `Sink` that can be parked by a `Gate` (a second handler; dispatch is by type)."""

    @handler
    def on_gate(self, msg: Gate) -> None:
        self.counter.hold()


class PykkaSink(pykka.ThreadingActor):
    """The same handler on raw pykka."""

    def __init__(self, counter: Counter) -> None:
        super().__init__()
        self.counter = counter

    def on_start(self) -> None:
        self.counter.started()

    def on_receive(self, message: Any) -> None:
        c = self.counter
        c.count += 1
        if c.count == c.target:
            c.finish()


class PykkaGatedSink(PykkaSink):
    """pykka's `GatedSink`: dispatch by type in ``on_receive``, as a pykka user would."""

    def on_receive(self, message: Any) -> None:
        if type(message) is Gate:
            self.counter.hold()
            return
        c = self.counter
        c.count += 1
        if c.count == c.target:
            c.finish()


AskCase = tuple[str, Callable[[], object]]  # label, call

PYKKA_TELL, REF_TELL, SYS_TELL = (
    "pykka ref.tell",
    "regiment AgentRef.tell",
    ('regiment system.tell("sink")'),
)
PYKKA_ASK, REF_ASK, SYS_ASK = (
    "pykka ref.ask",
    "regiment AgentRef.ask",
    ('regiment system.ask("sink")'),
)
OS_NOTE = "unpinned: the OS's thread placement decides (differs run to run)"


def measure_split(
    report: Report,
    cases: list[tuple[str, Callable[[Any], object], Callable[[], object], Counter]],
    message: Tick,
    n: int,
    rounds: int,
) -> dict[tuple[str, str], Measurement]:
    """Send cost (actor parked) and handle cost (pre-filled mailbox) of each case."""
    found: dict[tuple[str, str], Measurement] = {}
    for who, *_ in cases:
        found[who, "send"] = report.add(Measurement(f"send cost {who}", "us/msg", False))
    for who, *_ in cases:
        found[who, "handle"] = report.add(Measurement(f"handle cost {who}", "us/msg", False))
    for r in range(rounds + 1):
        for who, send, gate, counter in rotated(cases, r):
            result = tell_split(
                send, gate, message, n if r else max(1, n // 10), counter, what=f"split {who}"
            )
            if r:
                found[who, "send"].samples.append(result.send_us)
                found[who, "handle"].samples.append(result.handle_us)
    return found


def measure_asks(
    report: Report, placement: str, cases: list[AskCase], n: int, rounds: int
) -> tuple[dict[str, Measurement], dict[str, Measurement]]:
    """Per-round p50 and p99 of sequential asks, in one placement."""
    p50: dict[str, Measurement] = {}
    p99: dict[str, Measurement] = {}
    for label, _ in cases:
        p50[label] = report.add(Measurement(f"ask p50 [{placement}] {label}", "us", False))
    for label, _ in cases:
        p99[label] = report.add(Measurement(f"ask p99 [{placement}] {label}", "us", False))
    for r in range(rounds + 1):
        for label, call in rotated(cases, r):
            samples = latencies(call, n if r else max(1, n // 10))
            if r:
                p50[label].samples.append(percentile(samples, 50) * 1e6)
                p99[label].samples.append(percentile(samples, 99) * 1e6)
    return p50, p99


def add_targets(
    report: Report,
    placements: tuple[str, ...],
    *,
    tells: dict[str, dict[str, Measurement]],
    ask50: dict[str, dict[str, Measurement]],
    ask99: dict[str, dict[str, Measurement]],
    split: dict[tuple[str, str], Measurement],
) -> None:
    """The goals of issue 2, per placement, and the informational ratios."""
    for placement in placements:
        if placement not in tells:
            continue
        note = OS_NOTE if placement == "os" else ""
        t = tells[placement]
        report.targets.append(
            ratio_target(
                f"tell throughput regiment/pykka [{placement}] AgentRef.tell",
                t[REF_TELL],
                t[PYKKA_TELL],
                ">=",
                2.0,
                note=note,
            )
        )
        if SYS_TELL in t:
            report.targets.append(
                ratio_target(
                    f'tell throughput regiment/pykka [{placement}] system.tell("sink")',
                    t[SYS_TELL],
                    t[PYKKA_TELL],
                    ">=",
                    2.0,
                    note=note,
                )
            )
    for placement in placements:
        note = OS_NOTE if placement == "os" else ""
        a = ask50[placement]
        report.targets.append(
            ratio_target(
                f"ask p50 regiment/pykka [{placement}] AgentRef.ask",
                a[REF_ASK],
                a[PYKKA_ASK],
                "<=",
                1.0,
                note=note,
            )
        )
        if SYS_ASK in a:
            report.targets.append(
                ratio_target(
                    f'ask p50 regiment/pykka [{placement}] system.ask("sink")',
                    a[SYS_ASK],
                    a[PYKKA_ASK],
                    "<=",
                    1.0,
                    note=note,
                )
            )
    report.info += [
        info_ratio("send cost regiment/pykka", split["regiment", "send"], split["pykka", "send"]),
        info_ratio(
            "handle cost regiment/pykka", split["regiment", "handle"], split["pykka", "handle"]
        ),
        *(
            info_ratio(
                f"ask p99 regiment/pykka [{placement}] AgentRef.ask",
                ask99[placement][REF_ASK],
                ask99[placement][PYKKA_ASK],
            )
            for placement in placements
        ),
    ]


def ask_child(which: str, n: int) -> int:
    """In a fresh process, unpinned: time ``n`` sequential asks and print p50/p99 as JSON."""
    silence_logs()
    msg = Tick(n=1)
    if which == "pykka":
        counter = Counter()
        counter.arm(-1)
        actor = PykkaSink.start(counter)
        samples = latencies(lambda: actor.ask(msg, timeout=5.0), n)
        actor.stop()
    else:
        with ActorSystem("fresh") as system:
            counter = Counter()
            counter.arm(-1)
            ref = system.spawn(Sink, counter, name="sink")
            samples = latencies(lambda: ref.ask(msg, timeout=5.0), n)
    print(json.dumps({"p50": percentile(samples, 50) * 1e6, "p99": percentile(samples, 99) * 1e6}))
    return 0


def measure_fresh_asks(
    report: Report, n: int, rounds: int
) -> tuple[dict[str, Measurement], dict[str, Measurement]]:
    """Asks in fresh processes, unpinned: what a new application sees, placement left to the OS.

    In the long-lived benchmark process the OS's placement of each thread sticks to what
    earlier rounds did, so ``[os]`` ask rows can favour either side for a whole run.
    """
    p50: dict[str, Measurement] = {}
    p99: dict[str, Measurement] = {}
    cases = [(PYKKA_ASK, "pykka"), (REF_ASK, "regiment")]
    for label, _ in cases:
        p50[label] = report.add(Measurement(f"ask p50 [fresh] {label}", "us", False))
        p99[label] = report.add(Measurement(f"ask p99 [fresh] {label}", "us", False))
    for r in range(rounds):
        for label, which in rotated(cases, r):
            done = subprocess.run(
                [sys.executable, __file__, "--ask-child", which, str(n)],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            p50[label].samples.append(result["p50"])
            p99[label].samples.append(result["p99"])
    return p50, p99


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--ask-child":
        return ask_child(sys.argv[2], int(sys.argv[3]))
    args = parse_args(__doc__.splitlines()[0])
    silence_logs()
    n_tell = 5_000 if args.quick else 100_000
    n_ask = 200 if args.quick else 2_000
    rounds = args.rounds
    placements = available_placements()
    before = set(threading.enumerate())
    report = Report(
        "bench_core",
        "regiment core: tell throughput and ask round-trip vs raw pykka 4.5",
        {
            "tell_messages": n_tell,
            "asks_per_round": n_ask,
            "rounds": rounds,
            "warmup_rounds": 1,
            "placements": "/".join(placements),
        },
    )
    msg = Tick(n=1)
    tells: dict[str, dict[str, Measurement]] = {}
    ask50: dict[str, dict[str, Measurement]] = {}
    ask99: dict[str, dict[str, Measurement]] = {}
    pykka_counter, counter = Counter(), Counter()
    pykka_gated, gated = Counter(), Counter()
    try:
        with ActorSystem("bench") as system:
            pykka_ref = PykkaSink.start(pykka_counter)
            ref = system.spawn(Sink, counter, name="sink")
            pykka_gated_ref = PykkaGatedSink.start(pykka_gated)
            gated_ref = system.spawn(GatedSink, gated, name="gated")
            gate = Gate()
            tids = [pykka_counter.tid, counter.tid]

            def sys_tell(m: Tick) -> None:
                system.tell("sink", m)

            for placement in placements:  # "os" first, before anything was ever pinned
                place(placement, tids)
                cases: list[SendCase] = [
                    (PYKKA_TELL, pykka_ref.tell, pykka_counter),
                    (REF_TELL, ref.tell, counter),
                ]
                if placement == "os":
                    cases.append((SYS_TELL, sys_tell, counter))
                tells[placement] = measure_throughput(
                    report, placement, cases, msg, n=n_tell, rounds=rounds
                )
            unpin()
            split = measure_split(
                report,
                [
                    (
                        "pykka",
                        pykka_gated_ref.tell,
                        lambda: pykka_gated_ref.tell(gate),
                        pykka_gated,
                    ),
                    ("regiment", gated_ref.tell, lambda: gated_ref.tell(gate), gated),
                ],
                msg,
                n_tell,
                rounds,
            )
            pykka_counter.arm(-1)  # asks are counted by nobody
            counter.arm(-1)
            for placement in placements:
                place(placement, tids)
                asks: list[AskCase] = [
                    (PYKKA_ASK, lambda: pykka_ref.ask(msg, timeout=5.0)),
                    (REF_ASK, lambda: ref.ask(msg, timeout=5.0)),
                ]
                if placement == "os":
                    asks.append((SYS_ASK, lambda: system.ask("sink", msg, timeout=5.0)))
                ask50[placement], ask99[placement] = measure_asks(
                    report, placement, asks, n_ask, rounds
                )
            unpin()
    finally:
        unpin()
        pykka.ActorRegistry.stop_all()
    ask50["fresh"], ask99["fresh"] = measure_fresh_asks(report, n_ask, rounds)

    add_targets(report, (*placements, "fresh"), tells=tells, ask50=ask50, ask99=ask99, split=split)
    report.notes += [
        "tell = first send to the handler counting the last message (one producer thread, "
        "one agent, empty counting handler, one shared pre-built message)",
        "send/handle cost = the two halves of a tell measured apart: sends from the main "
        "thread while the actor is parked on a gate, then the actor draining the full "
        "mailbox; with the GIL a tell costs roughly their sum plus the thread hand-overs",
        "ask = sequential round trips from the main thread, timeout=5.0 on both sides; "
        "p50/p99 are per round, the table shows their median/best/worst over rounds",
        "placements: os = unpinned, same-cpu = every thread on one CPU, cross-cpu = senders "
        "on one CPU and the actors on another; rounds rotate which case goes first and a "
        "short warm-up round is not recorded",
        "fresh = asks timed in a new, unpinned process per round and side (what a new "
        "application sees; in the long-lived process the OS's placement sticks to what "
        "earlier rounds did, so [os] ask rows can favour either side for a whole run)",
    ]
    return finish(report, before, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
