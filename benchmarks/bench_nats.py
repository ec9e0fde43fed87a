"""The NATS transport (issue 14): remote asks and tells across OS processes vs raw nats-py.

One run starts its own nats-server (Debian's binary, JetStream on, a free 127.0.0.1 port, in a
temporary directory) and helper processes (this script re-invoked with a hidden ``--child``
mode), measures, and stops them all, also on an error or Ctrl-C:

- **A**, this process: an `ActorSystem` joined to the cluster (the sender), and raw nats-py
  clients, each an `asyncio.run` of its own;
- **B1**, a regiment node: agents ``echo`` (answers a `Ping`), ``sink`` (counts `Tick`s),
  ``dsink`` (the same, spawned ``durable=True``) and ``x-1`` (a counter holding ``role:x``);
- **B2**, a regiment node: ``x-2`` (a counter holding ``role:x``);
- **R**, a raw nats-py responder and subscriber (one asyncio loop, no regiment).

Rows:

1. **remote ask p50/p99**: sequential ``system.ask("echo", Ping())`` from A's main thread vs
   sequential ``nc.request`` from a coroutine in A to R, which decodes the JSON and answers
   with the reply regiment would send (the requester decodes each reply). The raw request
   carries the bytes of regiment's frame for the same ask, so both move the same payload.
   Target: regiment/raw **<= 1.5x**.
2. **remote tell throughput**: ``system.tell("sink", Tick())`` N times from A's main thread vs
   ``nc.publish`` of the same frame bytes N times to R's subscriber (which decodes each one's
   JSON and counts). The same completion on both sides: the receiver is armed with N first
   (an ask), and the clock stops when its report that it handled the N-th message reaches A
   (a regiment tell back / a raw publish back). Target: regiment/raw **>= 0.5x**. A second
   raw line encodes each message anew (``json.dumps`` of the same frame, the same bytes), as
   an application sending JSON does: an informational ratio.
3. **role delivery across 3 processes**: ``system.tell("role:x", Tick())`` N times, held by
   ``x-1`` in B1 and ``x-2`` in B2 (A holds none, so NATS's queue group picks a node for each
   message). Done when asks of both holders' counts sum to N (polled: at most one poll round
   trip late). Throughput, and B1's share; informational ratio to row 2's regiment figure.
4. **durable tell throughput**: row 2 with ``dsink`` (a JetStream stream and durable
   consumer, each message acknowledged after its handler), informational ratio to row 2.

Rounds alternate the cases (rotating which goes first); round 0 is a shorter warm-up and is
not recorded. Every receiver checks its count, so a lost message fails the run (after
`WAIT_TIMEOUT`) instead of being timed. Nothing is pinned (placement ``[os]``): each process
has an asyncio loop thread besides its agents, and on a shared machine the OS places them.

Run: ``python benchmarks/bench_nats.py [--quick] [--json] [--rounds N]``; needs nats-py
(``pip install 'regiment[nats]'``) and ``nats-server`` on the PATH (Debian: ``apt-get install
nats-server``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _harness import (
    WAIT_TIMEOUT,
    BenchmarkError,
    Measurement,
    Report,
    finish,
    info_ratio,
    parse_args,
    percentile,
    perf_counter,
    ratio_target,
    rotated,
    silence_logs,
)

from actors import ActorSystem, AgentActor, Message, handler

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # for tests.nats.servers: the tests' nats-server launcher

CLUSTER = "bench"
RAW = "raw"  # subjects of the raw side: raw.echo, raw.arm, raw.sink, raw.done
TTL = 10.0
ACK_WAIT = 30.0
ASK_TIMEOUT = 5.0


class Ping(Message):
    """An ask: the ``echo`` agent answers with a `Pong`."""

    type_name = "bench_nats.Ping"
    n: int = 0


class Pong(Message):
    """The answer to a `Ping`."""

    type_name = "bench_nats.Pong"
    n: int = 0


class Tick(Message):
    """The message every tell carries (one pre-built instance)."""

    type_name = "bench_nats.Tick"
    n: int = 0


class Arm(Message):
    """Reset the count; report a `Done` to ``report_to`` on the ``target``-th `Tick` (0: never)."""

    type_name = "bench_nats.Arm"
    target: int
    report_to: str | None = None


class Count(Message):
    """Ask for the number of `Tick`s handled since the last `Arm`."""

    type_name = "bench_nats.Count"


class Done(Message):
    """A counter handled its target."""

    type_name = "bench_nats.Done"
    agent: str
    count: int


# -- the helper processes -------------------------------------------------------------------


class Echo(AgentActor):
    """Answers a `Ping` at once."""

    @handler
    def on_ping(self, msg: Ping) -> Pong:
        return Pong(n=msg.n)


class Sink(AgentActor):
    """Counts `Tick`s; reports the target's arrival to whoever armed it."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.target = 0
        self.report_to: str | None = None

    @handler
    def on_arm(self, msg: Arm) -> int:
        self.count = 0
        self.target = msg.target
        self.report_to = msg.report_to
        return 0

    @handler
    def on_tick(self, msg: Tick) -> None:
        self.count += 1
        if self.count == self.target and self.report_to is not None:
            self.tell(self.report_to, Done(agent=self.name, count=self.count))

    @handler
    def on_count(self, msg: Count) -> int:
        return self.count


def regiment_child(settings: dict[str, Any]) -> int:
    """A regiment node with the agents ``settings["agents"]`` names, until ``quit`` on stdin."""
    from actors.nats import NatsTransport

    silence_logs()
    transport = NatsTransport(
        settings["servers"], cluster=CLUSTER, ttl=TTL, ack_wait=ACK_WAIT, node=settings["node"]
    )
    system = ActorSystem(settings["node"], transport=transport)
    kinds = {"echo": Echo, "sink": Sink}
    for agent in settings["agents"]:
        system.spawn(
            kinds[agent["kind"]],
            name=agent["name"],
            roles=agent.get("roles", []),
            durable=agent.get("durable", False),
        )
    print("ready", flush=True)
    for line in sys.stdin:  # EOF (the parent died) ends it too
        if line.strip() == "quit":
            break
    clean = system.shutdown(20.0)
    print("stopped" if clean else "unclean", flush=True)
    return 0 if clean else 1


def raw_child(settings: dict[str, Any]) -> int:
    """A raw nats-py responder (``raw.echo``) and counting subscriber (``raw.sink``)."""
    import nats

    async def serve() -> None:
        nc = await nats.connect(servers=settings["servers"], name="bench-raw")
        state = {"count": 0, "target": 0}
        quit_ = asyncio.Event()

        async def echo(msg: Any) -> None:
            frame = json.loads(msg.data)
            body = {"n": frame["env"]["body"]["n"]}
            reply = {"ok": {"type": Pong.type_name, "body": body}}
            await nc.publish(msg.reply, json.dumps(reply, separators=(",", ":")).encode())

        async def arm(msg: Any) -> None:
            state["count"] = 0
            state["target"] = int(msg.data)
            await nc.publish(msg.reply, b"0")

        async def sink(msg: Any) -> None:
            json.loads(msg.data)  # what any receiver of JSON does with it
            state["count"] += 1
            if state["count"] == state["target"]:
                await nc.publish(f"{RAW}.done", str(state["count"]).encode())

        await nc.subscribe(f"{RAW}.echo", cb=echo)
        await nc.subscribe(f"{RAW}.arm", cb=arm)
        await nc.subscribe(f"{RAW}.sink", cb=sink)
        await nc.flush()
        loop = asyncio.get_running_loop()

        def on_stdin() -> None:
            line = sys.stdin.readline()
            if not line or line.strip() == "quit":
                quit_.set()

        loop.add_reader(sys.stdin.fileno(), on_stdin)
        print("ready", flush=True)
        await quit_.wait()
        loop.remove_reader(sys.stdin.fileno())
        await nc.drain()

    asyncio.run(serve())
    print("stopped", flush=True)
    return 0


def child_main(kind: str, settings: str) -> int:
    """``--child regiment|raw '<json>'``."""
    return (regiment_child if kind == "regiment" else raw_child)(json.loads(settings))


class Helper:
    """One helper process: started at once, ``ready()`` waits for it, ``stop()`` always ends it."""

    def __init__(self, label: str, kind: str, settings: dict[str, Any]) -> None:
        self.label = label
        command = [sys.executable, os.path.abspath(__file__), "--child", kind, json.dumps(settings)]
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.errors: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, name=f"{label}-out", daemon=True),
            threading.Thread(target=self._drain, name=f"{label}-err", daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.put(raw.decode(errors="replace").strip())
        self.lines.put(None)

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self.errors.append(raw.decode(errors="replace").rstrip())

    def ready(self, timeout: float = WAIT_TIMEOUT) -> None:
        """Wait for its ``ready`` line; raise `BenchmarkError` with its stderr if none comes."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line == "ready":
                return
            if line is None:
                tail = "\n".join(self.errors[-20:])
                msg = f"helper {self.label} did not start within {timeout} s:\n{tail}"
                raise BenchmarkError(msg)

    def stop(self, timeout: float = 25.0) -> None:
        """Ask it to quit (stdin); kill it if it does not within ``timeout``; join the readers."""
        process = self.process
        if process.poll() is None:
            with contextlib.suppress(OSError):
                assert process.stdin is not None
                process.stdin.write(b"quit\n")
                process.stdin.flush()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        for reader in self.readers:
            reader.join(5.0)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


# -- the measurements (process A) -----------------------------------------------------------


class Bench:
    """Process A: the regiment sender system, the raw payloads, one method per case."""

    def __init__(self, system: ActorSystem, url: str) -> None:
        from actors import Envelope, Kind, parse_address
        from actors.nats._wire import encode_frame

        self.system = system
        self.url = url
        self.collector = system.inbox("collector")
        self.ping = Ping()
        self.tick = Tick()
        node = system.nodes()[0].node
        limit = 1024 * 1024
        # The bytes regiment publishes for the same sends, for the raw side to publish.
        ask = Envelope(
            self.ping, parse_address("echo"), kind=Kind.QUERY, deadline=time.time() + ASK_TIMEOUT
        )
        self.ask_frame = encode_frame(ask, node, frozenset(), limit)
        self.tell_frame = encode_frame(
            Envelope(self.tick, parse_address("sink")), node, frozenset(), limit
        )

    # row 1
    def regiment_asks(self, n: int) -> list[float]:
        ask, ping, samples = self.system.ask, self.ping, [0.0] * n
        gc.collect()
        for i in range(n):
            start = perf_counter()
            reply = ask("echo", ping, timeout=ASK_TIMEOUT)
            samples[i] = perf_counter() - start
        if reply != Pong(n=0):
            raise BenchmarkError(f"regiment ask: wrong reply {reply!r}")
        return samples

    def raw_asks(self, n: int) -> list[float]:
        import nats

        async def run() -> list[float]:
            nc = await nats.connect(servers=[self.url], name="bench-a-raw")
            try:
                samples, payload, subject = [0.0] * n, self.ask_frame, f"{RAW}.echo"
                gc.collect()
                for i in range(n):
                    start = perf_counter()
                    reply = await nc.request(subject, payload, timeout=ASK_TIMEOUT)
                    answer = json.loads(reply.data)
                    samples[i] = perf_counter() - start
                if answer["ok"]["body"] != {"n": 0}:
                    raise BenchmarkError(f"raw ask: wrong reply {reply.data!r}")
                return samples
            finally:
                await nc.close()

        return asyncio.run(run())

    # rows 2 and 4
    def regiment_tells(self, name: str, n: int) -> float:
        system, tick = self.system, self.tick
        system.ask(name, Arm(target=n, report_to="collector"), timeout=ASK_TIMEOUT)
        tell = system.tell
        gc.collect()
        start = perf_counter()
        for _ in range(n):
            tell(name, tick)
        done = self.collector.get(timeout=WAIT_TIMEOUT).body
        elapsed = perf_counter() - start
        if done != Done(agent=name, count=n):
            raise BenchmarkError(f"regiment tell to {name}: {done!r} instead of {n} handled")
        return n / elapsed

    def raw_tells(self, n: int, *, encode: bool = False) -> float:
        """Raw publishes of regiment's frame bytes (``encode``: ``json.dumps`` each one anew)."""
        import nats

        frame = json.loads(self.tell_frame)
        if json.dumps(frame, separators=(",", ":")).encode() != self.tell_frame:
            raise BenchmarkError("the tell frame does not survive a JSON round trip")

        async def run() -> float:
            nc = await nats.connect(servers=[self.url], name="bench-a-raw")
            try:
                done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

                async def on_done(msg: Any) -> None:
                    if not done.done():
                        done.set_result(msg.data)

                await nc.subscribe(f"{RAW}.done", cb=on_done)
                await nc.request(f"{RAW}.arm", str(n).encode(), timeout=ASK_TIMEOUT)
                publish, payload, subject = nc.publish, self.tell_frame, f"{RAW}.sink"
                dumps = json.dumps
                gc.collect()
                start = perf_counter()
                if encode:
                    for _ in range(n):
                        await publish(subject, dumps(frame, separators=(",", ":")).encode())
                else:
                    for _ in range(n):
                        await publish(subject, payload)
                count = await asyncio.wait_for(done, WAIT_TIMEOUT)
                elapsed = perf_counter() - start
                if int(count) != n:
                    raise BenchmarkError(f"raw tell: {count!r} instead of {n} handled")
                return n / elapsed
            finally:
                await nc.close()

        return asyncio.run(run())

    # row 3
    def role_tells(self, n: int) -> tuple[float, float]:
        system, tick = self.system, self.tick
        for holder in ("x-1", "x-2"):
            system.ask(holder, Arm(target=0), timeout=ASK_TIMEOUT)
        tell = system.tell
        gc.collect()
        start = perf_counter()
        for _ in range(n):
            tell("role:x", tick)
        deadline = time.monotonic() + WAIT_TIMEOUT
        while True:
            one = system.ask("x-1", Count(), timeout=ASK_TIMEOUT)
            two = system.ask("x-2", Count(), timeout=ASK_TIMEOUT)
            if one + two >= n:
                break
            if time.monotonic() > deadline:
                msg = f"role tell: {one} + {two} of {n} handled within {WAIT_TIMEOUT} s"
                raise BenchmarkError(msg)
            time.sleep(0.001)
        elapsed = perf_counter() - start
        if one + two != n:
            raise BenchmarkError(f"role tell: {one} + {two} handled, {n} sent")
        return n / elapsed, one / n


# -- the run --------------------------------------------------------------------------------


def sizes(args: argparse.Namespace) -> dict[str, int]:
    if args.quick:
        return {"asks": 100, "tells": 1_000, "role_tells": 1_000, "durable_tells": 300}
    return {"asks": 2_000, "tells": 10_000, "role_tells": 10_000, "durable_tells": 3_000}


def measure(report: Report, bench: Bench, args: argparse.Namespace) -> None:
    size = sizes(args)
    report.config.update(size)
    m = {
        key: report.add(Measurement(name, unit, higher))
        for key, name, unit, higher in [
            ("ask50", "ask p50 [os] regiment system.ask -> agent in B1", "us", False),
            ("raw50", "ask p50 [os] raw nats-py request -> responder in R", "us", False),
            ("ask99", "ask p99 [os] regiment system.ask -> agent in B1", "us", False),
            ("raw99", "ask p99 [os] raw nats-py request -> responder in R", "us", False),
            ("tell", "tell [os] regiment system.tell -> agent in B1", "msg/s", True),
            ("rawtell", "tell [os] raw nats-py publish -> subscriber in R", "msg/s", True),
            ("rawenc", "tell [os] raw nats-py json.dumps + publish -> R", "msg/s", True),
            ("role", "tell [os] regiment role:x -> x-1 in B1 + x-2 in B2", "msg/s", True),
            ("split", "role:x share handled by B1 (x-1)", "%", True),
            ("durable", "tell [os] regiment system.tell -> durable agent in B1", "msg/s", True),
        ]
    }

    def asks(label: str, run: Callable[[int], list[float]]) -> Callable[[int, bool], None]:
        def case(scale: int, record: bool) -> None:
            samples = run(max(10, size["asks"] // scale))
            if record:
                m[f"{label}50"].samples.append(percentile(samples, 50) * 1e6)
                m[f"{label}99"].samples.append(percentile(samples, 99) * 1e6)

        return case

    def tells(key: str, count: str, run: Callable[[int], float]) -> Callable[[int, bool], None]:
        def case(scale: int, record: bool) -> None:
            rate = run(max(10, size[count] // scale))
            if record:
                m[key].samples.append(rate)

        return case

    def role(scale: int, record: bool) -> None:
        rate, share = bench.role_tells(max(10, size["role_tells"] // scale))
        if record:
            m["role"].samples.append(rate)
            m["split"].samples.append(share * 100)

    cases = [
        asks("ask", bench.regiment_asks),
        asks("raw", bench.raw_asks),
        tells("tell", "tells", lambda n: bench.regiment_tells("sink", n)),
        tells("rawtell", "tells", bench.raw_tells),
        tells("rawenc", "tells", lambda n: bench.raw_tells(n, encode=True)),
        role,
        tells("durable", "durable_tells", lambda n: bench.regiment_tells("dsink", n)),
    ]
    for r in range(args.rounds + 1):
        for case in rotated(cases, r):
            case(1 if r else 10, bool(r))  # round 0: a tenth of the work, not recorded

    report.targets += [
        ratio_target("ask p50 regiment / raw nats-py", m["ask50"], m["raw50"], "<=", 1.5),
        ratio_target("ask p99 regiment / raw nats-py", m["ask99"], m["raw99"], "<=", 1.5),
        ratio_target("tell throughput regiment / raw nats-py", m["tell"], m["rawtell"], ">=", 0.5),
    ]
    report.info += [
        info_ratio("tell regiment / raw nats-py json.dumps + publish", m["tell"], m["rawenc"]),
        info_ratio("role:x over B1+B2 / direct tell to B1", m["role"], m["tell"]),
        info_ratio("durable tell / non-durable tell", m["durable"], m["tell"]),
    ]
    report.notes += [
        f"ask payload {len(bench.ask_frame)} B, tell payload {len(bench.tell_frame)} B: "
        "regiment's JSON frames; the raw side publishes the same bytes (pre-encoded, or "
        "json.dumps per message in the 'json.dumps + publish' row) and its receiver decodes "
        "each one (json.loads); the raw requester decodes each reply",
        "tell throughput = N / (first send .. the receiver's report of the N-th arriving in A)",
        "role: done when asks of x-1's and x-2's counts sum to N (polled: <= 1 poll late); "
        "the split is B1's share (NATS's queue group picks a node at random)",
        "durable: a JetStream publish (with its ack) per tell, an ack per handled message",
    ]


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        return child_main(sys.argv[2], sys.argv[3])
    args = parse_args(__doc__.splitlines()[0])
    try:
        import nats  # noqa: F401
    except ImportError:
        print("bench_nats: nats-py is not installed (pip install 'regiment[nats]')")
        return 0
    from tests.nats.servers import NatsServer, nats_server_binary

    if nats_server_binary() is None:
        print("bench_nats: nats-server is not installed (Debian: apt-get install nats-server)")
        return 0
    silence_logs()
    before = set(threading.enumerate())
    report = Report(
        "bench_nats",
        "NATS transport: remote asks and tells across processes vs raw nats-py",
        {"rounds": args.rounds, "placements": "os", "processes": "A + B1 + B2 + R"},
    )
    with tempfile.TemporaryDirectory(prefix="bench-nats-") as tmp, contextlib.ExitStack() as stack:
        server = NatsServer(Path(tmp) / "nats").start()
        stack.callback(server.stop)
        servers = [server.url]
        helpers = [
            Helper("B1", "regiment", {"servers": servers, "node": "b1", "agents": [
                {"kind": "echo", "name": "echo"},
                {"kind": "sink", "name": "sink"},
                {"kind": "sink", "name": "dsink", "durable": True},
                {"kind": "sink", "name": "x-1", "roles": ["x"]},
            ]}),
            Helper("B2", "regiment", {"servers": servers, "node": "b2", "agents": [
                {"kind": "sink", "name": "x-2", "roles": ["x"]},
            ]}),
            Helper("R", "raw", {"servers": servers}),
        ]  # fmt: skip
        for helper in helpers:
            stack.callback(helper.stop)
        for helper in helpers:
            helper.ready()
        from actors.nats import NatsTransport

        transport = NatsTransport(servers, cluster=CLUSTER, ttl=TTL, ack_wait=ACK_WAIT, node="a")
        system = ActorSystem("a", transport=transport)
        stack.callback(system.shutdown, 20.0)
        deadline = time.monotonic() + WAIT_TIMEOUT
        while {"b1", "b2"} - {info.node for info in system.nodes()}:
            if time.monotonic() > deadline:
                raise BenchmarkError("the helper nodes never showed up in the cluster")
            time.sleep(0.01)
        measure(report, Bench(system, server.url), args)
    return finish(report, before, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
