"""Mailboxes and send policies (issue 4): what they cost on the tell path.

One producer thread tells N copies of one pre-built message to one agent whose handler only
counts, timed from the first send until the handler counts the N-th message (as in
``bench_core``). Compared, in one run, rounds alternating:

- the default mailbox (``Mailbox()``, unbounded FIFO) - the baseline;
- the priority mailbox (``Mailbox(priority=True)``; every message at the default priority);
- a bounded mailbox (``Mailbox(capacity=1000, overflow=Overflow.BLOCK)``; the producer blocks
  whenever the agent falls 1000 messages behind);
- the default mailbox in a system with a send policy (``SendPolicy(rules=[SendRule.deny(
  sender="role:x", to="role:y"), SendRule.allow()])``), against the no-policy default.

Run: ``python benchmarks/bench_mailbox.py [--quick] [--json] [--rounds N]``.
"""

from __future__ import annotations

import contextlib
import threading

from _harness import (
    Counter,
    Measurement,
    Report,
    SendCase,
    Sink,
    Tick,
    available_placements,
    finish,
    measure_throughput,
    parse_args,
    place,
    ratio_target,
    silence_logs,
    unpin,
)

from actors import ActorSystem, Mailbox, Overflow, SendPolicy, SendRule

DEFAULT = "default Mailbox()"
PRIORITY = "Mailbox(priority=True)"
BOUNDED = "Mailbox(capacity=1000, BLOCK)"
POLICY = "default Mailbox() + SendPolicy"

MAILBOXES = {
    DEFAULT: Mailbox(),
    PRIORITY: Mailbox(priority=True),
    BOUNDED: Mailbox(capacity=1000, overflow=Overflow.BLOCK),
}


def main() -> int:
    args = parse_args(__doc__.splitlines()[0])
    silence_logs()
    n_tell = 5_000 if args.quick else 100_000
    rounds = args.rounds
    placements = available_placements()
    before = set(threading.enumerate())
    report = Report(
        "bench_mailbox",
        "regiment mailboxes and send policy: tell throughput relative to the default",
        {
            "tell_messages": n_tell,
            "rounds": rounds,
            "warmup_rounds": 1,
            "placements": "/".join(placements),
        },
    )
    msg = Tick(n=1)
    policy = SendPolicy(rules=[SendRule.deny(sender="role:x", to="role:y"), SendRule.allow()])
    found: dict[str, dict[str, Measurement]] = {}
    with contextlib.ExitStack() as stack:
        try:
            plain = stack.enter_context(ActorSystem("plain"))
            guarded = stack.enter_context(ActorSystem("guarded", send_policy=policy))
            cases: list[SendCase] = []
            for label, mailbox in MAILBOXES.items():
                counter = Counter()
                ref = plain.spawn(Sink, counter, name=f"sink-{len(cases)}", mailbox=mailbox)
                cases.append((label, ref.tell, counter))
            counter = Counter()
            ref = guarded.spawn(Sink, counter, name="sink-0", mailbox=Mailbox())
            cases.append((POLICY, ref.tell, counter))
            tids = [c.tid for _, _, c in cases]
            for placement in placements:  # "os" first, before anything was ever pinned
                place(placement, tids)
                found[placement] = measure_throughput(
                    report, placement, cases, msg, n=n_tell, rounds=rounds
                )
            unpin()
        finally:
            unpin()

    for placement in placements:
        f = found[placement]
        report.targets += [
            ratio_target(f"priority/default [{placement}]", f[PRIORITY], f[DEFAULT], ">=", 0.5),
            ratio_target(f"bounded/default [{placement}]", f[BOUNDED], f[DEFAULT], ">=", 0.5),
            ratio_target(f"policy/no policy [{placement}]", f[POLICY], f[DEFAULT], ">=", 0.8),
        ]
    report.notes += [
        "tell = first send (AgentRef.tell from one producer thread) to the handler counting "
        "the last message; every message has the default priority (NORMAL)",
        "the policy's sender is outside the system, so the deny rule is checked and does "
        "not match, and allow() lets the send through (decisions are cached per sender "
        "and recipient)",
        "placements: os = unpinned, same-cpu = every thread on one CPU, cross-cpu = the "
        "producer on one CPU and the agents on another; rounds rotate which case goes "
        "first and a short warm-up round is not recorded",
    ]
    return finish(report, before, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
