"""actors.prometheus: the collector's figures, the HTTP endpoint, and its stop with the system."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from actors import (
    ActorSystem,
    AgentActor,
    AgentFailed,
    DeadLetterReason,
    InvalidAddress,
    InvalidConfig,
    Message,
    StopReason,
    SystemStopped,
    handler,
)
from actors.metrics import HandlingTime, MetricsSnapshot, SystemMetrics
from actors.prometheus import RegimentCollector, serve, stop
from tests.helpers import WAIT, fresh_python

# Names are slugs (a-z, 0-9, '-', '_', starting with a letter or digit): these use all of it.
SYSTEM = "prom-test_1"
WORKER = "worker-1"
SIDE = "9_side-b"

ASKS = 100  # to WORKER; every tenth one fails
FAILING = 10
TELLS = 7  # to SIDE
LOST = 3  # to nobody


class Job(Message):
    n: int


class Worker(AgentActor):
    @handler
    def on_job(self, msg: Job) -> int:
        if msg.n % 10 == 0:
            raise ValueError(f"job {msg.n} fails")
        return msg.n


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, by name and labels (parsed as Prometheus would)."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        assert family.documentation, f"{family.name} has no help text"
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in found, f"duplicate series {key}"
            found[key] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


def series(found: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for sample, labels in found if sample == name]


def histogram(found: Samples, name: str, **labels: str) -> list[tuple[float, float]]:
    """The ``(le, cumulative count)`` buckets of one histogram series, in bound order."""
    buckets = []
    for (sample, key), count in found.items():
        bucket_labels = dict(key)
        bound = bucket_labels.pop("le", "")
        if sample == f"{name}_bucket" and bucket_labels == labels:
            buckets.append((float(bound), count))
    return sorted(buckets)


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        return response.read().decode()


def endpoint_threads(system: ActorSystem) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"regiment:{system.name}/prometheus"]


def assert_refused(port: int) -> None:
    with pytest.raises(urllib.error.URLError) as caught:
        scrape(port)
    assert isinstance(caught.value.reason, ConnectionRefusedError)


@pytest.fixture
def busy() -> Iterator[ActorSystem]:
    """A system that handled known traffic: see `traffic`."""
    with ActorSystem(SYSTEM) as system:
        traffic(system)
        yield system


def traffic(system: ActorSystem) -> None:
    """ASKS asks to WORKER (FAILING fail), TELLS tells to SIDE, LOST tells to nobody."""
    system.spawn(Worker, name=WORKER)
    system.spawn(Worker, name=SIDE)
    futures = [system.ask_future(WORKER, Job(n=n)) for n in range(ASKS)]
    for n in range(1, TELLS + 1):
        system.tell(SIDE, Job(n=n))
    for _ in range(LOST):
        assert system.tell("nobody", Job(n=1)) == 0
    failed = 0
    for future in futures:
        try:
            future.get(timeout=WAIT)
        except AgentFailed:
            failed += 1
    assert failed == FAILING

    def counted() -> bool:  # asked again after every message an agent handles
        agents = system.metrics().agents
        return (
            agents[WORKER].handled == ASKS - FAILING
            and agents[WORKER].failed == FAILING
            and agents[SIDE].handled == TELLS
        )

    assert system.run_until(counted, max_runtime=WAIT) == StopReason.COMPLETED


# -- (a) the HTTP endpoint -------------------------------------------------------------------------


def test_the_endpoint_serves_the_traffic_the_system_saw(busy):
    port = serve(busy)
    found = samples(scrape(port))
    system = {"system": SYSTEM}
    worker = {"system": SYSTEM, "agent": WORKER}
    side = {"system": SYSTEM, "agent": SIDE}

    assert value(found, "regiment_messages_sent_total", **system) == ASKS + TELLS + LOST
    assert value(found, "regiment_messages_delivered_total", **system) == ASKS + TELLS
    assert value(found, "regiment_messages_received_total", **worker) == ASKS
    assert value(found, "regiment_messages_handled_total", **worker) == ASKS - FAILING
    assert value(found, "regiment_messages_failed_total", **worker) == FAILING
    assert value(found, "regiment_messages_handled_total", **side) == TELLS
    assert value(found, "regiment_messages_failed_total", **side) == 0
    for name in ("unhandled", "expired", "retried"):
        assert value(found, f"regiment_messages_{name}_total", **worker) == 0
    assert value(found, "regiment_restarts_total", **worker) == 0
    assert value(found, "regiment_mailbox_depth", **worker) == 0
    assert value(found, "regiment_oldest_queued_age_seconds", **worker) == 0
    assert value(found, "regiment_system_messages_handled_total", **system) == (
        ASKS - FAILING + TELLS
    )
    assert value(found, "regiment_system_messages_failed_total", **system) == FAILING
    assert value(found, "regiment_live_agents", **system) == 2
    assert value(found, "regiment_escalations_total", **system) == 0
    assert value(found, "regiment_metrics_enabled", **system) == 1

    # Every reason has a series (0 until it happens), so rate() sees the first one.
    assert value(found, "regiment_dead_letters_total", reason="unknown_address", **system) == LOST
    assert value(found, "regiment_dead_letters_total", reason="handler_failed", **system) == (
        FAILING
    )
    assert {labels["reason"] for labels in series(found, "regiment_dead_letters_total")} == {
        reason.value for reason in DeadLetterReason
    }
    assert value(found, "regiment_dead_letters_total", reason="shutdown", **system) == 0

    # Label values come back exactly as the system has them.
    assert {labels["agent"] for labels in series(found, "regiment_messages_handled_total")} == {
        WORKER,
        SIDE,
    }


def test_the_handling_histograms_are_cumulative_and_end_with_inf_equal_to_the_count(busy):
    found = samples(scrape(serve(busy)))
    for name, labels in [
        ("regiment_handling_seconds", {"system": SYSTEM, "agent": WORKER}),
        ("regiment_handling_seconds", {"system": SYSTEM, "agent": SIDE}),
        ("regiment_system_handling_seconds", {"system": SYSTEM}),
    ]:
        buckets = histogram(found, name, **labels)
        counts = [count for _, count in buckets]
        assert counts == sorted(counts), "buckets are cumulative"
        assert buckets[-1][0] == float("inf")
        assert buckets[-1][1] == value(found, f"{name}_count", **labels)
        assert value(found, f"{name}_sum", **labels) >= 0
        assert 1e-6 < buckets[0][0] < 2e-6  # about 1 µs
        assert 60 < buckets[-2][0] < 70  # about 69 s
    # One message in 64 of a busy agent is timed at least; none of them beyond what ran.
    worker = {"system": SYSTEM, "agent": WORKER}
    assert 1 <= value(found, "regiment_handling_seconds_count", **worker) <= ASKS


# -- (b) a registry of the user's own --------------------------------------------------------------


def test_a_user_registry_exports_the_same_figures_beside_its_own_metrics(busy):
    registry = CollectorRegistry()
    registry.register(RegimentCollector(busy))
    found = samples(generate_latest(registry).decode())
    assert value(found, "regiment_messages_handled_total", system=SYSTEM, agent=WORKER) == (
        ASKS - FAILING
    )
    assert value(found, "regiment_messages_sent_total", system=SYSTEM) == ASKS + TELLS + LOST


def test_each_scrape_reads_one_snapshot_per_system(busy, monkeypatch):
    snapshots: list[MetricsSnapshot] = []
    real = busy.metrics

    def counted() -> MetricsSnapshot:
        snapshots.append(real())
        return snapshots[-1]

    monkeypatch.setattr(busy, "metrics", counted)
    registry = CollectorRegistry()
    registry.register(RegimentCollector(busy))
    generate_latest(registry)
    assert len(snapshots) == 1


def test_a_scrape_after_the_shutdown_reports_the_final_totals_and_no_agents():
    system = ActorSystem(SYSTEM)
    traffic(system)
    registry = CollectorRegistry()
    registry.register(RegimentCollector(system))
    assert system.shutdown(timeout=10)
    found = samples(generate_latest(registry).decode())
    assert value(found, "regiment_system_messages_handled_total", system=SYSTEM) == (
        ASKS - FAILING + TELLS
    )
    assert value(found, "regiment_system_messages_failed_total", system=SYSTEM) == FAILING
    assert value(found, "regiment_live_agents", system=SYSTEM) == 0
    assert series(found, "regiment_messages_handled_total") == []


def test_two_systems_share_one_collector_and_need_distinct_names():
    with ActorSystem("first") as first, ActorSystem("second") as second:
        first.spawn(Worker, name=WORKER)
        second.spawn(Worker, name=WORKER)
        first.ask(WORKER, Job(n=1))
        registry = CollectorRegistry()
        registry.register(RegimentCollector(first, second))
        found = samples(generate_latest(registry).decode())
        assert value(found, "regiment_messages_sent_total", system="first") == 1
        assert value(found, "regiment_messages_sent_total", system="second") == 0
        assert value(found, "regiment_live_agents", system="second") == 1
        # A second collector of the same metric names is refused by the registry.
        with pytest.raises(ValueError, match="Duplicated"):
            registry.register(RegimentCollector(first))


def test_one_collector_refuses_two_systems_of_the_same_name():
    one, other = ActorSystem("same"), ActorSystem("same")
    try:
        with pytest.raises(InvalidConfig, match="distinct names"):
            RegimentCollector(one, other)
    finally:
        one.shutdown()
        other.shutdown()


def test_without_metrics_only_what_is_still_counted_is_exported():
    with ActorSystem(SYSTEM, metrics=False) as system:
        system.spawn(Worker, name=WORKER)
        system.ask(WORKER, Job(n=1))
        registry = CollectorRegistry()
        registry.register(RegimentCollector(system))
        found = samples(generate_latest(registry).decode())
    assert value(found, "regiment_metrics_enabled", system=SYSTEM) == 0
    assert value(found, "regiment_messages_sent_total", system=SYSTEM) == 1
    assert value(found, "regiment_mailbox_depth", system=SYSTEM, agent=WORKER) == 0
    assert value(found, "regiment_restarts_total", system=SYSTEM, agent=WORKER) == 0
    assert series(found, "regiment_messages_handled_total") == []
    assert series(found, "regiment_handling_seconds_count") == []
    assert series(found, "regiment_system_messages_handled_total") == []


def test_label_values_are_escaped_in_the_exposition():
    # Names and reasons are slugs, so a real system never needs escaping; a reason that did
    # (from a snapshot built by hand) still comes back intact.
    with pytest.raises(InvalidAddress):
        ActorSystem('quote"d')
    odd = 'we"ird\\reason\nhere'
    handling = HandlingTime(count=0, sum=0.0, p50=0.0, p95=0.0, p99=0.0, max=0.0, buckets=())
    snapshot = MetricsSnapshot(
        system_name=SYSTEM,
        at=time.time(),
        enabled=True,
        system=SystemMetrics(
            sent=0,
            delivered=0,
            received=0,
            handled=0,
            failed=0,
            unhandled=0,
            expired=0,
            cancelled=0,
            retried=0,
            restarts=0,
            late_replies=0,
            dead_letters={odd: 2},
            escalations=0,
            live_agents=0,
            handling=handling,
        ),
        agents={},
    )

    class Stub:
        name = SYSTEM

        def metrics(self) -> MetricsSnapshot:
            return snapshot

    registry = CollectorRegistry()
    registry.register(RegimentCollector(Stub()))  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    assert 'reason="we\\"ird\\\\reason\\nhere"' in text
    assert value(samples(text), "regiment_dead_letters_total", system=SYSTEM, reason=odd) == 2


# -- (c) stopping the endpoint ---------------------------------------------------------------------


def test_the_endpoint_stops_with_the_system():
    system = ActorSystem(SYSTEM)
    port = serve(system)
    assert scrape(port)
    (thread,) = endpoint_threads(system)
    assert system.shutdown(timeout=10)
    assert not thread.is_alive()
    assert endpoint_threads(system) == []
    assert_refused(port)
    with pytest.raises(SystemStopped):
        serve(system)
    assert stop(system)  # nothing left to stop


def test_stop_ends_the_endpoints_early_and_the_system_goes_on(system):
    ports = [serve(system), serve(system)]
    assert len(set(ports)) == 2
    threads = endpoint_threads(system)
    assert len(threads) == 2
    assert stop(system)
    assert not any(thread.is_alive() for thread in threads)
    for port in ports:
        assert_refused(port)
    assert stop(system)  # a second stop is a no-op
    system.spawn(Worker, name=WORKER)
    assert system.ask(WORKER, Job(n=1)) == 1
    again = serve(system)  # and a new endpoint may start; the shutdown stops it
    assert scrape(again)


def test_serve_binds_the_port_it_is_given(system):
    port = serve(system)
    stop(system)
    assert serve(system, port=port) == port
    assert "regiment_live_agents" in scrape(port)


# -- (d) import -----------------------------------------------------------------------------------


def test_importing_actors_does_not_import_prometheus_client():
    script = (
        "import sys, actors, supervision\n"
        "assert 'prometheus_client' not in sys.modules, 'imported'\n"
        "import actors.prometheus\n"
        "assert 'prometheus_client' in sys.modules\n"
    )
    result = fresh_python("-c", script, timeout=60)
    assert result.returncode == 0, result.stderr


def test_tool_calls_by_outcome_and_late_replies_are_exported():
    from actors import AgentActor, Grant, Message, Permission, ToolPolicy, handler, tool

    @tool(name="calc.add", level=Permission.READ_ONLY)
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    class Use(Message):
        pass

    class User(AgentActor):
        @handler
        def on_use(self, message: Use) -> int:
            return int(self.use_tool("calc.add", a=1, b=2))

    policy = ToolPolicy(grants=[Grant("user", "calc.*", Permission.READ_ONLY)])
    with ActorSystem(SYSTEM, tools=[add], tool_policy=policy) as system:
        system.spawn(User, name="user")
        assert system.ask("user", Use(), timeout=WAIT) == 3
        registry = CollectorRegistry()
        registry.register(RegimentCollector(system))
        found = samples(generate_latest(registry).decode())
    assert value(found, "regiment_tool_calls_total", system=SYSTEM, outcome="ok") == 1
    assert value(found, "regiment_late_replies_total", system=SYSTEM) == 0
