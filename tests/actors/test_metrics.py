"""system.metrics() and AgentRef.info(): exact counts under concurrent load, and what they mean."""

from __future__ import annotations

import threading

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentInfo,
    AgentStatus,
    DeadLetterReason,
    Message,
    MetricsSnapshot,
    handler,
)
from supervision import ChildSpec, RestartPolicy, SupervisorSpec
from tests.helpers import WAIT, park
from tests.messages import Parkable, Ping

pytestmark = pytest.mark.usefixtures("gates_opened")


class Work(Message):
    n: int


class Orphan(Message):
    """No agent has a handler for it."""


class Flaky(AgentActor):
    """Fails every Work whose ``n`` is a multiple of 7; answers Ping."""

    @handler
    def on_work(self, message: Work) -> None:
        if message.n % 7 == 0:
            raise ValueError(message.n)

    @handler
    def on_ping(self, message: Ping) -> int:
        return 1


class Slow(Flaky, Parkable):
    pass


def settle(system: ActorSystem, *names: str) -> None:
    """Wait until every named agent handled everything sent before (an ask queues behind it)."""
    for name in names:
        assert system.ask(name, Ping(), timeout=WAIT) == 1


def test_counts_equal_the_traffic_of_several_threads_with_failures_and_dead_letters():
    threads, per_thread = 4, 700
    generous = RestartPolicy(max_restarts=10_000, within=60)
    with ActorSystem("counted", root_policy=generous) as system:
        system.start_tree(
            SupervisorSpec(
                "workers",
                [ChildSpec(Flaky, name=f"w{i}", roles=("worker",)) for i in range(3)],
                policy=generous,
            )
        )
        start = threading.Barrier(threads)

        def produce(index: int) -> None:
            start.wait(WAIT)
            for n in range(per_thread):
                system.tell(f"w{(index + n) % 3}", Work(n=n))
                if n % 100 == 0:
                    system.tell("nobody", Work(n=1))  # unknown address: a dead letter

        producers = [threading.Thread(target=produce, args=(i,)) for i in range(threads)]
        for producer in producers:
            producer.start()
        for producer in producers:
            producer.join(WAIT)
        settle(system, "w0", "w1", "w2")
        metrics = system.metrics()

    told = threads * per_thread
    failures = threads * sum(1 for n in range(per_thread) if n % 7 == 0)
    unknown = threads * len(range(0, per_thread, 100))
    agents = metrics.agents
    assert sum(a.received for a in agents.values()) == told + 3  # the settling pings
    assert sum(a.failed for a in agents.values()) == failures
    assert sum(a.handled for a in agents.values()) == told - failures + 3
    assert sum(a.restarts for a in agents.values()) == failures
    totals = metrics.system
    assert totals.sent == told + unknown + 3
    assert totals.delivered == told + 3
    assert totals.received == told + 3
    assert totals.failed == failures
    assert totals.restarts == failures
    assert totals.dead_letters[DeadLetterReason.UNKNOWN_ADDRESS] == unknown
    assert totals.dead_letters[DeadLetterReason.HANDLER_FAILED] == failures
    assert totals.live_agents == 3
    assert totals.escalations == 0
    assert 0 < totals.handling.count <= totals.received
    assert totals.handling.buckets[-1][1] <= totals.handling.count


def test_a_broadcast_counts_one_send_and_a_delivery_per_recipient(system: ActorSystem):
    for i in range(5):
        system.spawn(Flaky, name=f"b{i}")
    assert system.broadcast(Work(n=1)) == 5
    settle(system, *(f"b{i}" for i in range(5)))
    totals = system.metrics().system
    assert totals.sent == 1 + 5
    assert totals.delivered == 5 + 5
    assert totals.handled == 10


def test_unhandled_and_expired_messages_are_counted_apart_from_handled_ones(system: ActorSystem):
    ref = system.spawn(Slow, name="s")
    release = park(ref, "s")
    system.tell("s", Orphan())
    expiring = system.ask_future("s", Work(n=1), timeout=0.05)
    with pytest.raises(Exception):  # noqa: PT011 - AskTimeout; the message itself expires
        expiring.get(timeout=WAIT)
    release.set()
    settle(system, "s")
    agent = system.metrics().agents["s"]
    assert (agent.unhandled, agent.expired) == (1, 1)
    assert agent.received == 1 + 1 + 1 + 1  # the gate, the orphan, the expired ask, the ping
    assert agent.handled == 2


def test_the_system_totals_keep_the_counts_of_agents_that_stopped(system: ActorSystem):
    ref = system.spawn(Flaky, name="gone")
    for n in range(1, 6):
        ref.tell(Work(n=n))
    settle(system, "gone")
    ref.stop(timeout=WAIT)
    metrics = system.metrics()
    assert "gone" not in metrics.agents
    assert metrics.system.handled == 6
    assert metrics.system.live_agents == 0


def test_mailbox_depth_high_water_and_the_age_of_the_oldest_queued_message(system: ActorSystem):
    ref = system.spawn(Slow, name="s")
    release = park(ref, "s")
    for _ in range(40):
        ref.tell(Work(n=1))
    agent = system.metrics().agents["s"]
    assert agent.mailbox_depth == 40
    assert agent.mailbox_high_water >= 40
    assert agent.oldest_queued_age >= 0.0
    release.set()
    settle(system, "s")
    agent = system.metrics().agents["s"]
    assert agent.mailbox_depth == 0
    assert agent.mailbox_high_water >= 40
    assert agent.oldest_queued_age == 0.0


def test_metrics_serialise_to_json_and_back():
    with ActorSystem("json") as system:
        system.spawn(Flaky, name="a")
        settle(system, "a")
        snapshot = system.metrics()
    again = MetricsSnapshot.model_validate_json(snapshot.model_dump_json())
    assert again == snapshot
    assert snapshot.system_name == "json"
    assert snapshot.enabled


def test_with_metrics_off_agents_report_zero_but_sends_and_dead_letters_still_count():
    with ActorSystem("dark", metrics=False) as system:
        ref = system.spawn(Flaky, name="a")
        ref.tell(Work(n=1))
        system.tell("nobody", Work(n=1))
        settle(system, "a")
        metrics = system.metrics()
        info = ref.info()
    assert not metrics.enabled
    assert metrics.agents["a"].received == 0
    assert metrics.system.sent == 3
    assert metrics.system.dead_letters[DeadLetterReason.UNKNOWN_ADDRESS] == 1
    assert (info.received, info.handled, info.handling_since) == (0, 0, None)


def test_info_shows_the_message_in_hand_since_when_and_the_counts(system: ActorSystem):
    ref = system.spawn(Slow, name="s", roles=("b", "a"))
    ref.tell(Work(n=7))  # fails once: a restart
    settle(system, "s")
    release = park(ref, "s")
    ref.tell(Work(n=1))
    info = ref.info()
    assert isinstance(info, AgentInfo)
    assert info.name == "s"
    assert info.roles == ("a", "b")
    assert info.status is AgentStatus.PROCESSING
    assert info.handling is not None
    assert info.handling.endswith("Block")
    assert info.handling_since is not None
    assert info.handling_since <= system.metrics().at
    assert info.mailbox_depth == 1
    assert info.restarts == 1
    assert (info.received, info.handled, info.failed) == (3, 1, 1)
    with pytest.raises(Exception):  # noqa: PT011 - frozen
        info.name = "other"  # type: ignore[misc]
    release.set()
    settle(system, "s")
    idle = ref.info()
    assert (idle.status, idle.handling, idle.handling_since) == (AgentStatus.IDLE, None, None)
    assert (idle.received, idle.handled, idle.failed) == (5, 4, 1)


def test_a_quiet_agent_times_every_message_and_a_busy_one_a_sample(system: ActorSystem):
    system.spawn(Flaky, name="quiet")
    gap = threading.Event()  # never set: its wait is a deliberate quiet spell, not a sync
    for _ in range(5):
        gap.wait(0.003)  # longer than actors._mailboxes.QUIET_NS
        settle(system, "quiet")
    assert system.metrics().agents["quiet"].handling.count == 5
    busy = system.spawn(Slow, name="busy")
    release = park(busy, "busy")
    for _ in range(1000):
        busy.tell(Work(n=1))
    release.set()
    settle(system, "busy")
    handling = system.metrics().agents["busy"].handling
    assert 2 <= handling.count <= 20, "one in 256 of a backlog (and the parked Block)"
    assert handling.max >= handling.p99 >= handling.p50 > 0.0
