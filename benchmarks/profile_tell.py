"""Where a tell's time goes: cProfile of both threads of the tell benchmark (a diagnostic).

``python -m cProfile`` only sees the main thread, but a tell runs in two: the producer (the
send path: `AgentRef.tell` -> `Router.tell` -> envelope -> mailbox ``put``) and the agent (its
loop: mailbox ``get`` -> dispatch -> handler). This script profiles each thread with its own
`cProfile.Profile` (the agent's is enabled in ``on_start``, in the agent's thread) while one
producer sends N messages to one counting agent, and prints, per thread, the functions by own
time with their share of that thread's total.

cProfile makes every Python call several times dearer, so the shares lean towards code that
makes many small calls; use them to see *where* to look, and the bench_* scripts to see how
much a change is worth.

Run: ``python benchmarks/profile_tell.py [--mailbox default|priority|bounded] [--policy]
[--n N] [--top K] [--clock cpu|wall]``.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import pstats
import threading
import time

from _harness import WAIT_TIMEOUT, BenchmarkError, Tick, perf_counter, silence_logs

from actors import (
    ActorSystem,
    AgentActor,
    Mailbox,
    Overflow,
    SendPolicy,
    SendRule,
    handler,
)

MAILBOXES = {
    "default": Mailbox(),
    "priority": Mailbox(priority=True),
    "bounded": Mailbox(capacity=1000, overflow=Overflow.BLOCK),
}


class ProfiledSink(AgentActor):
    """Counts `Tick`s with its own thread under ``profiler`` from ``on_start`` to the last."""

    def __init__(self, target: int, profiler: cProfile.Profile, done: threading.Event) -> None:
        super().__init__()
        self.target = target
        self.count = 0
        self.profiler = profiler
        self.done = done

    def on_start(self) -> None:
        self.profiler.enable()

    @handler
    def on_tick(self, msg: Tick) -> None:
        self.count += 1
        if self.count == self.target:
            self.profiler.disable()
            self.done.set()


def shares(profiler: cProfile.Profile, title: str, top: int) -> None:
    """Print the ``top`` functions by own time, with their share of the thread's total."""
    stats = pstats.Stats(profiler)
    rows = []
    total = 0.0
    for (path, line, name), (_cc, calls, own, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        total += own
        where = path.rsplit("/", 2)
        short = "/".join(where[-2:]) if len(where) > 1 else path
        rows.append((own, cumulative, calls, f"{short}:{line}({name})"))
    rows.sort(reverse=True)
    print(f"\n-- {title}: {total:.3f}s profiled --")
    print(f"{'own%':>6} {'own s':>8} {'cum s':>8} {'calls':>9}  function")
    for own, cumulative, calls, where in rows[:top]:
        print(f"{own / total * 100:5.1f}% {own:8.3f} {cumulative:8.3f} {calls:9d}  {where}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailbox", choices=sorted(MAILBOXES), default="default")
    parser.add_argument("--policy", action="store_true", help="the bench_mailbox send policy")
    parser.add_argument("--n", type=int, default=200_000, help="messages to send")
    parser.add_argument("--top", type=int, default=15, help="functions to show per thread")
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu: each thread's own CPU time (waits for the GIL or a message cost nothing); "
        "wall: elapsed time",
    )
    args = parser.parse_args()
    silence_logs()
    policy = (
        SendPolicy(rules=[SendRule.deny(sender="role:x", to="role:y"), SendRule.allow()])
        if args.policy
        else None
    )
    timer = time.thread_time if args.clock == "cpu" else time.perf_counter
    agent_profile, producer_profile = cProfile.Profile(timer), cProfile.Profile(timer)
    done = threading.Event()
    msg = Tick(n=1)
    with ActorSystem("profile", send_policy=policy) as system:
        ref = system.spawn(
            ProfiledSink,
            args.n,
            agent_profile,
            done,
            name="sink",
            mailbox=MAILBOXES[args.mailbox],
        )
        tell = ref.tell
        start = perf_counter()
        producer_profile.enable()
        for item in itertools.repeat(msg, args.n):
            tell(item)
        producer_profile.disable()
        if not done.wait(WAIT_TIMEOUT):
            msg_ = "the agent never counted the last message"
            raise BenchmarkError(msg_)
        elapsed = perf_counter() - start
    print(
        f"{args.n} tells, mailbox={args.mailbox}, policy={'yes' if policy else 'no'}, "
        f"clock={args.clock}: "
        f"{elapsed:.2f}s under the profiler ({args.n / elapsed:,.0f} msg/s, not a benchmark)"
    )
    shares(producer_profile, "producer thread (send path)", args.top)
    shares(agent_profile, "agent thread (receive path)", args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
