"""Prometheus exporter: a system's `ActorSystem.metrics` as Prometheus metrics.

Needs ``prometheus-client`` (``pip install 'regiment[prometheus]'``). Only this module imports
it: ``import actors`` does not.

Two ways to use it:

```python
import prometheus_client
from actors.prometheus import RegimentCollector, serve, stop

# 1. In a registry of your own, next to your application's metrics, served however you
#    serve them (prometheus_client.start_http_server, make_asgi_app, generate_latest...):
registry = prometheus_client.CollectorRegistry()
registry.register(RegimentCollector(system))

# 2. An HTTP endpoint of its own, with regiment's metrics only:
port = serve(system, port=9464)  # http://127.0.0.1:9464/metrics; port=0 picks a free port
...
stop(system)  # stops it early; system.shutdown() stops it anyway
```

`serve` runs prometheus-client's HTTP server in a thread of its own (named
``regiment:<system>/prometheus``). It stops when the system shuts down, as the last step of
the shutdown, and `stop` stops it earlier; either way its thread is joined (this takes up to
half a second: the server's polling interval). It listens on 127.0.0.1 unless ``host`` says
otherwise (``"0.0.0.0"`` or ``"::"`` to be scraped from other machines).

Every scrape reads one `ActorSystem.metrics` snapshot per system, so the figures of one scrape
come from the same moment. A scrape after the system shut down still works: it reports the
system's final totals and no agents.

Metrics (counters end in ``_total``, times are in seconds). Per live agent, labelled
``system`` and ``agent``:

| metric | type | what |
| --- | --- | --- |
| ``regiment_messages_received_total`` | counter | messages the agent took off its mailbox |
| ``regiment_messages_handled_total`` | counter | handler runs that returned |
| ``regiment_messages_failed_total`` | counter | handler runs that raised |
| ``regiment_messages_unhandled_total`` | counter | messages with no handler |
| ``regiment_messages_expired_total`` | counter | messages skipped: their deadline passed |
| ``regiment_messages_cancelled_total`` | counter | requests skipped or stopped: cancelled |
| ``regiment_messages_retried_total`` | counter | failed messages kept for another try |
| ``regiment_restarts_total`` | counter | restarts of the agent |
| ``regiment_mailbox_depth`` | gauge | user messages queued now |
| ``regiment_mailbox_high_water`` | gauge | the deepest the mailbox was seen |
| ``regiment_oldest_queued_age_seconds`` | gauge | age of the oldest queued message (at most) |
| ``regiment_handling_seconds`` | histogram | handler run times (sampled, see below) |

Per system, labelled ``system`` (and ``reason`` for dead letters):

| metric | type | what |
| --- | --- | --- |
| ``regiment_messages_sent_total`` | counter | sends: one per tell, ask or broadcast |
| ``regiment_messages_delivered_total`` | counter | mailbox placements (a broadcast to 10: 10) |
| ``regiment_system_messages_received_total`` | counter | as per agent, over every agent |
| ``regiment_system_messages_handled_total`` | counter | as per agent, over every agent |
| ``regiment_system_messages_failed_total`` | counter | as per agent, over every agent |
| ``regiment_system_messages_unhandled_total`` | counter | as per agent, over every agent |
| ``regiment_system_messages_expired_total`` | counter | as per agent, over every agent |
| ``regiment_system_messages_cancelled_total`` | counter | as per agent, over every agent |
| ``regiment_system_messages_retried_total`` | counter | as per agent, over every agent |
| ``regiment_system_restarts_total`` | counter | restarts of every agent and supervisor |
| ``regiment_system_handling_seconds`` | histogram | handler run times of every agent |
| ``regiment_dead_letters_total`` | counter | dead letters by ``reason`` (all, 0 if none) |
| ``regiment_escalations_total`` | counter | how often a supervisor gave up |
| ``regiment_late_replies_total`` | counter | replies dropped: their ask had ended |
| ``regiment_tool_calls_total`` | counter | tool calls by ``outcome`` |
| ``regiment_live_agents`` | gauge | agents registered now |
| ``regiment_metrics_enabled`` | gauge | 0 for ``ActorSystem(metrics=False)``, else 1 |

"Every agent" means every agent since the system started, stopped ones included.

Labels: ``system`` is the system's name (``ActorSystem(name)``), ``agent`` an agent's name,
``reason`` a `DeadLetterReason` value. All of them are lowercase slugs (``a-z``, ``0-9``,
``-``, ``_``; see `actors.address`), so they never need escaping. Serving two systems from one
registry takes one collector for both, ``RegimentCollector(system_a, system_b)``, and their
names must differ.

**Per-agent series cover live agents only.** An agent that stops leaves the per-agent families
(and its series go stale in Prometheus); its counts stay in the ``regiment_system_*`` totals,
which count every agent since the system started. So the sum of an agent family over ``agent``
may be below the matching system total, and an agent spawned again under the same name starts
again from zero (which ``rate()`` treats as a counter reset). Restarts do not reset an agent's
counts. A system that spawns many short-lived agents with generated names makes as many
series: mind the cardinality, or aggregate with the system totals.

**Handling times are sampled** (see `actors.metrics.HandlingTime`): an agent times every message
it takes after waiting for one and every message while its handlers are slow, but only one in
a stride while it works through a backlog of fast messages. The counts above are exact; a
histogram's ``_count`` is the number of *timed* runs, and its quantiles describe those. The
buckets are powers of four nanoseconds, from about 1 µs to about 69 s, plus ``+Inf``.

With ``ActorSystem(metrics=False)`` the per-agent counters and handling times are not kept:
the families derived from them have no samples (``regiment_metrics_enabled`` is 0), while
sends, deliveries, restarts, dead letters, escalations, live agents and mailbox depths are
still exported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from actors.errors import InvalidConfig, SystemStopped
from actors.events import DeadLetterReason
from actors.metrics import HandlingTime

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from actors.metrics import MetricsSnapshot
    from actors.system import ActorSystem

__all__ = ["RegimentCollector", "serve", "stop"]

_Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True, slots=True)
class _Spec:
    """One metric family read from one field of `SystemMetrics` or `AgentMetrics`."""

    kind: _Kind
    name: str
    help: str
    field: str
    stats: bool = True  # read from the per-agent counters: absent with metrics=False


_SYSTEM = (
    _Spec(
        "counter",
        "regiment_messages_sent_total",
        "Sends that built an envelope (a tell, an ask or a broadcast: one each).",
        "sent",
        stats=False,
    ),
    _Spec(
        "counter",
        "regiment_messages_delivered_total",
        "Messages placed in a mailbox (a broadcast to N agents counts N).",
        "delivered",
        stats=False,
    ),
    *(
        _Spec(
            "counter",
            f"regiment_system_messages_{field}_total",
            f"{what}, over every agent since the system started, stopped ones included.",
            field,
        )
        for field, what in (
            ("received", "Messages agents took off their mailboxes"),
            ("handled", "Handler runs that returned"),
            ("failed", "Handler runs that raised"),
            ("unhandled", "Messages with no handler"),
            ("expired", "Messages skipped because their deadline had passed"),
            ("cancelled", "Requests skipped or stopped because they were cancelled"),
            ("retried", "Failed messages kept for another try"),
        )
    ),
    _Spec(
        "counter",
        "regiment_system_restarts_total",
        "Restarts of every agent and supervisor, stopped ones included.",
        "restarts",
        stats=False,
    ),
    _Spec(
        "counter",
        "regiment_escalations_total",
        "How often a supervisor gave up (escalated a failure).",
        "escalations",
        stats=False,
    ),
    _Spec(
        "counter",
        "regiment_late_replies_total",
        "Replies dropped because their ask had timed out or been cancelled.",
        "late_replies",
        stats=False,
    ),
    _Spec("gauge", "regiment_live_agents", "Agents registered now.", "live_agents", stats=False),
    _Spec(
        "histogram",
        "regiment_system_handling_seconds",
        "Handler run times of every agent, stopped ones included (sampled: only timed runs "
        "are counted).",
        "handling",
    ),
)

_AGENT = (
    *(
        _Spec("counter", f"regiment_messages_{field}_total", f"{what} (live agents).", field)
        for field, what in (
            ("received", "Messages the agent took off its mailbox"),
            ("handled", "Handler runs that returned"),
            ("failed", "Handler runs that raised"),
            ("unhandled", "Messages with no handler"),
            ("expired", "Messages skipped because their deadline had passed"),
            ("cancelled", "Requests skipped or stopped because they were cancelled"),
            ("retried", "Failed messages kept for another try"),
        )
    ),
    _Spec("counter", "regiment_restarts_total", "Restarts of the agent.", "restarts", stats=False),
    _Spec(
        "gauge",
        "regiment_mailbox_depth",
        "User messages queued in the agent's mailbox now.",
        "mailbox_depth",
        stats=False,
    ),
    _Spec(
        "gauge",
        "regiment_mailbox_high_water",
        "The deepest the agent's mailbox was seen.",
        "mailbox_high_water",
    ),
    _Spec(
        "gauge",
        "regiment_oldest_queued_age_seconds",
        "Age of the oldest message queued for the agent (an upper bound; 0 when empty).",
        "oldest_queued_age",
    ),
    _Spec(
        "histogram",
        "regiment_handling_seconds",
        "Handler run times of the agent (sampled: only timed runs are counted).",
        "handling",
    ),
)

_DEAD_LETTERS = "regiment_dead_letters_total"
_TOOL_CALLS = "regiment_tool_calls_total"
_ENABLED = "regiment_metrics_enabled"
_SYSTEM_LABELS = ("system",)
_AGENT_LABELS = ("system", "agent")


class RegimentCollector(Collector):
    """A Prometheus collector of one or more systems' metrics (see the module docstring).

    Register it in a registry of your own: ``registry.register(RegimentCollector(system))``.
    Each scrape (`collect`) reads one `ActorSystem.metrics` snapshot per system.

    Args:
        system: the system to export.
        *more: further systems to export through the same metric families (one registry
            cannot hold two collectors of the same metric names).

    Raises:
        InvalidConfig: if two of the systems have the same name (their series would clash).
    """

    def __init__(self, system: ActorSystem, *more: ActorSystem) -> None:
        systems = (system, *more)
        names = [s.name for s in systems]
        if len(set(names)) != len(names):
            msg = f"one collector exports systems of distinct names only, got {names}"
            raise InvalidConfig(msg)
        self.systems = systems

    def __repr__(self) -> str:
        return f"<RegimentCollector {', '.join(repr(s.name) for s in self.systems)}>"

    def describe(self) -> Iterable[Metric]:
        """The metric families `collect` yields, without samples (for the registry's checks)."""
        return list(_families().values())

    def collect(self) -> Iterable[Metric]:
        """Every metric family, filled from one snapshot per system."""
        families = _families()
        for system in self.systems:
            _fill(families, system.metrics())
        return list(families.values())


def _families() -> dict[str, Metric]:
    """Every family, empty."""
    families: dict[str, Metric] = {}
    for specs, labels in ((_SYSTEM, _SYSTEM_LABELS), (_AGENT, _AGENT_LABELS)):
        for spec in specs:
            families[spec.name] = _family(spec.kind, spec.name, spec.help, labels)
    families[_DEAD_LETTERS] = _family(
        "counter",
        _DEAD_LETTERS,
        "Dead letters by reason, since the system started.",
        ("system", "reason"),
    )
    families[_TOOL_CALLS] = _family(
        "counter",
        _TOOL_CALLS,
        "Tool calls (AgentActor.use_tool) by outcome: ok, failed, denied, rate_limited, ...",
        ("system", "outcome"),
    )
    families[_ENABLED] = _family(
        "gauge",
        _ENABLED,
        "1 if the system keeps per-agent counters and handling times (metrics=True), else 0.",
        _SYSTEM_LABELS,
    )
    return families


def _family(kind: _Kind, name: str, text: str, labels: Sequence[str]) -> Metric:
    if kind == "counter":
        return CounterMetricFamily(name, text, labels=labels)  # it drops the "_total" itself
    if kind == "gauge":
        return GaugeMetricFamily(name, text, labels=labels)
    return HistogramMetricFamily(name, text, labels=labels)


def _fill(families: dict[str, Metric], snapshot: MetricsSnapshot) -> None:
    """Add one system's samples to every family."""
    system = snapshot.system_name
    enabled = snapshot.enabled
    for spec in _SYSTEM:
        if enabled or not spec.stats:
            _add(families[spec.name], [system], getattr(snapshot.system, spec.field))
    for agent in snapshot.agents.values():
        for spec in _AGENT:
            if enabled or not spec.stats:
                _add(families[spec.name], [system, agent.name], getattr(agent, spec.field))
    dead_letters = families[_DEAD_LETTERS]
    counts = snapshot.system.dead_letters
    reasons = [reason.value for reason in DeadLetterReason]
    for reason in [*reasons, *sorted(counts.keys() - set(reasons))]:
        _add(dead_letters, [system, reason], counts.get(reason, 0))
    for outcome, count in sorted(snapshot.system.tool_calls.items()):
        _add(families[_TOOL_CALLS], [system, outcome], count)
    _add(families[_ENABLED], [system], 1 if enabled else 0)


def _add(family: Metric, labels: list[str], value: float | HandlingTime) -> None:
    """One sample (a counter's or gauge's value), or one histogram's samples."""
    if isinstance(value, HandlingTime):
        if isinstance(family, HistogramMetricFamily):
            _add_histogram(family, labels, value)
    elif isinstance(family, CounterMetricFamily | GaugeMetricFamily):
        family.add_metric(labels, float(value))


def _add_histogram(family: HistogramMetricFamily, labels: list[str], time: HandlingTime) -> None:
    """Cumulative buckets as `HandlingTime` has them, and ``+Inf``: every timed run."""
    buckets = [(repr(bound), float(count)) for bound, count in time.buckets]
    buckets.append(("+Inf", float(time.count)))
    family.add_metric(labels, buckets, time.sum)


# -- the HTTP endpoint ----------------------------------------------------------------------------

JOIN_TIMEOUT = 5.0  # seconds a stop waits for the server's thread


class _Endpoint:
    """One running HTTP server of `serve`, and the way to stop it (once)."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self.server = server
        self.thread = thread
        self.forget: Callable[[], None] = _nothing  # removes the system's shutdown callback
        self._lock = threading.Lock()
        self._closed = False

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self, timeout: float) -> bool:
        """Stop serving, close the socket, join the thread; True if it ended in time."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self.server.shutdown()  # returns once serve_forever has returned
                self.server.server_close()
        self.thread.join(timeout)
        return not self.thread.is_alive()


_lock = threading.Lock()
_endpoints: dict[ActorSystem, list[_Endpoint]] = {}  # what `stop` stops; emptied by it


def serve(system: ActorSystem, port: int = 0, host: str = "127.0.0.1") -> int:
    """Serve ``system``'s metrics over HTTP at ``http://<host>:<port>/metrics``.

    The endpoint has a registry of its own holding only a `RegimentCollector` of ``system``.
    It stops when the system shuts down, or earlier with `stop`. Each call starts another
    endpoint.

    Args:
        system: the system whose metrics to serve.
        port: the TCP port to listen on; 0 picks a free one.
        host: the address to listen on (``"0.0.0.0"`` or ``"::"``: every interface).

    Returns:
        The port the endpoint listens on.

    Raises:
        SystemStopped: if the system is shut down (or shutting down).
        OSError: if the port cannot be bound.
    """
    runtime = system._runtime
    if runtime.shutting_down:
        msg = f"system {system.name!r} is shut down; it serves no metrics"
        raise SystemStopped(msg)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RegimentCollector(system))
    server, thread = start_http_server(port, addr=host, registry=registry)
    thread.name = f"regiment:{system.name}/prometheus"
    endpoint = _Endpoint(server, thread)
    with _lock:
        _endpoints.setdefault(system, []).append(endpoint)
    # If the system shut down meanwhile, this stops the endpoint at once.
    endpoint.forget = runtime.on_shutdown(lambda: _close(system, [endpoint], JOIN_TIMEOUT))
    return endpoint.port


def stop(system: ActorSystem, timeout: float = JOIN_TIMEOUT) -> bool:
    """Stop every endpoint `serve` started for ``system`` (a no-op if there is none).

    Returns:
        True if every endpoint's thread ended within ``timeout`` seconds.
    """
    with _lock:
        endpoints = list(_endpoints.get(system, ()))
    for endpoint in endpoints:
        endpoint.forget()
    return _close(system, endpoints, timeout)


def _close(system: ActorSystem, endpoints: list[_Endpoint], timeout: float) -> bool:
    with _lock:
        left = [e for e in _endpoints.get(system, ()) if e not in endpoints]
        if left:
            _endpoints[system] = left
        else:
            _endpoints.pop(system, None)
    return all([endpoint.close(timeout) for endpoint in endpoints])


def _nothing() -> None:
    """The shutdown callback's remover before it is known."""
