"""Observability on the hot path (issue 9): what metrics, flight recordings and traffic cost.

Tell throughput (one producer, one counting agent, as in ``bench_core``) of the same build in
six configurations, rotated round by round in one run, each in a system of its own:

- ``default``: metrics on, a 32-message flight recording, nobody subscribed to traffic;
- ``traffic off``: the same, with the traffic events switched off inside the runtime (the
  private ``Runtime.traffic`` toggle: nothing publishes `MessageSent`/`MessageHandled`
  whoever subscribes). The issue's target: ``default`` >= 0.97x of it;
- ``metrics=False``: `ActorSystem(metrics=False)`, recording on. Target: ``default`` >= 0.9x;
- ``recorder off``: metrics on, ``flight_recorder=0``; ``default`` vs it is the recording's cost;
- ``all off``: metrics off, no recording, traffic off: everything this issue added, off;
- ``MessageHandled subscriber``: ``default`` plus one buffered subscriber to `MessageHandled`
  (a callback that counts): every message then builds and queues an event. Reported, with how
  many events its buffer dropped.

Run: ``python benchmarks/bench_observability.py [--quick] [--json] [--rounds N]``.
"""

from __future__ import annotations

import threading
from typing import Any

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
    measure_throughput,
    parse_args,
    place,
    ratio_target,
    silence_logs,
    unpin,
)

from actors import ActorSystem, MessageHandled

DEFAULT, TRAFFIC_OFF, NO_METRICS, NO_RECORDER, ALL_OFF, SUBSCRIBED = (
    "default",
    "traffic off",
    "metrics=False",
    "recorder off",
    "all off",
    "MessageHandled subscriber",
)


class Build:
    """One configuration: a system with one counting agent."""

    def __init__(self, label: str, *, metrics: bool, recorder: int, traffic: bool) -> None:
        self.label = label
        self.system = ActorSystem(
            label.lower().replace(" ", "-").replace("=", "-"), metrics=metrics
        )
        self.system._runtime.traffic = traffic  # the private toggle: see the module docstring
        self.counter = Counter()
        self.ref = self.system.spawn(Sink, self.counter, name="sink", flight_recorder=recorder)

    def case(self) -> SendCase:
        return (self.label, self.ref.tell, self.counter)


def main() -> int:
    args = parse_args(__doc__.splitlines()[0])
    silence_logs()
    n = 5_000 if args.quick else 100_000
    placements = available_placements()
    before = set(threading.enumerate())
    report = Report(
        "bench_observability",
        "observability on the hot path: tell throughput of one build in six configurations",
        {"tell_messages": n, "rounds": args.rounds, "placements": "/".join(placements)},
    )
    configs = [
        (DEFAULT, True, 32, True),
        (TRAFFIC_OFF, True, 32, False),
        (NO_METRICS, False, 32, True),
        (NO_RECORDER, True, 0, True),
        (ALL_OFF, False, 0, False),
        (SUBSCRIBED, True, 32, True),
    ]
    seen = [0]

    def count(event: Any) -> None:
        seen[0] += 1

    builds: list[Build] = []
    tells: dict[str, dict[str, Measurement]] = {}
    try:
        for label, metrics, recorder, traffic in configs:
            builds.append(Build(label, metrics=metrics, recorder=recorder, traffic=traffic))
        subscription = builds[-1].system.events.subscribe(count, MessageHandled)
        for placement in placements:
            place(placement, [b.counter.tid for b in builds])
            tells[placement] = measure_throughput(
                report, placement, [b.case() for b in builds], Tick(n=1), n=n, rounds=args.rounds
            )
        unpin()
    finally:
        subscription.drain(30.0)
        for build in builds:
            build.system.shutdown(timeout=30.0)
    for placement, t in tells.items():
        report.targets.append(
            ratio_target(
                f"no traffic subscriber vs traffic off [{placement}]",
                t[DEFAULT],
                t[TRAFFIC_OFF],
                ">=",
                0.97,
            )
        )
        report.targets.append(
            ratio_target(
                f"metrics on vs metrics=False [{placement}]", t[DEFAULT], t[NO_METRICS], ">=", 0.9
            )
        )
        report.info += [
            info_ratio(f"recorder on vs off [{placement}]", t[DEFAULT], t[NO_RECORDER]),
            info_ratio(f"default vs everything off [{placement}]", t[DEFAULT], t[ALL_OFF]),
            info_ratio(f"one MessageHandled subscriber [{placement}]", t[SUBSCRIBED], t[DEFAULT]),
        ]
    report.notes.append(
        f"the MessageHandled subscriber received {seen[0]} events and its buffer dropped "
        f"{subscription.dropped} (a 10,000-event buffer; it drops rather than slow delivery)"
    )
    return finish(report, before, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
