"""The same agents and addresses across OS processes (peers started by the tests)."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

import pytest

from actors import ActorSystem, Envelope, Inbox, InboxEmpty, Terminated, UnknownAddress
from supervision import NameTaken
from tests.nats.peer_types import Done, Heard, Hello, Job
from tests.nats.peers import Peer
from tests.nats.servers import NatsServer

pytestmark = pytest.mark.timeout(120)

WAIT = 15.0


def take(
    inbox: Inbox, kind: type, count: int, timeout: float = WAIT,
    skipped: list[Envelope] | None = None,
) -> list[Envelope]:  # fmt: skip
    """``count`` envelopes of body type ``kind`` from ``inbox``; loud on time.

    Envelopes of other types are skipped (appended to ``skipped`` if given).
    """
    got: list[Envelope] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            msg = f"got {len(got)} of {count} {kind.__name__} within {timeout} s: {got[-3:]}"
            raise AssertionError(msg)
        envelope = inbox.get(timeout=left)
        if isinstance(envelope.body, kind):
            got.append(envelope)
        elif skipped is not None:
            skipped.append(envelope)
    return got


def test_direct_tell_and_ask_reach_an_agent_in_another_process(
    make_system: Callable[..., ActorSystem], make_peer: Callable[..., Peer]
) -> None:
    peer = make_peer([{"name": "worker-a", "report_to": "collector"}])
    system = make_system("main")
    collector = system.inbox("collector")
    system.tell("worker-a", Job(n=1))
    (envelope,) = take(collector, Done, 1)
    assert envelope.body == Done(n=1, agent="worker-a", node=peer.node)
    assert envelope.sender == "worker-a"
    reply = system.ask("worker-a", Job(n=2), timeout=WAIT)
    assert reply == Done(n=2, agent="worker-a", node=peer.node)


def test_role_messages_reach_exactly_one_member_across_processes(
    make_system: Callable[..., ActorSystem], make_peer: Callable[..., Peer]
) -> None:
    one = make_peer([{"name": f"w1-{i}", "roles": ["worker"]} for i in range(2)])
    two = make_peer([{"name": f"w2-{i}", "roles": ["worker"]} for i in range(2)])
    system = make_system("main")
    collector = system.inbox("collector")
    deadline = time.monotonic() + WAIT
    while len({info.node for info in system.nodes() if "worker" in info.roles}) < 2:
        assert time.monotonic() < deadline, "the peers' roles never showed up"
        time.sleep(0.02)
    total = 300
    for n in range(total):
        system.tell("role:worker", Job(n=n, report_to="collector"))
    done = [e.body for e in take(collector, Done, total)]
    counts = collections.Counter(d.n for d in done)
    assert sorted(counts) == list(range(total))
    assert set(counts.values()) == {1}, "a role message was delivered twice"
    nodes = collections.Counter(d.node for d in done)
    assert set(nodes) == {one.node, two.node}, f"one node got everything: {nodes}"
    # And nothing more arrives: every message was delivered exactly once.
    assert drain(collector, 0.3) == []


def test_broadcast_reaches_every_agent_of_every_node_once(
    make_system: Callable[..., ActorSystem], make_peer: Callable[..., Peer]
) -> None:
    make_peer(
        [{"name": "p1-a", "report_to": "collector"}, {"name": "p1-b", "report_to": "collector"}]
    )
    make_peer([{"name": "p2-a", "report_to": "collector"}])
    system = make_system("main")
    collector = system.inbox("collector")
    deadline = time.monotonic() + WAIT
    while len(system.nodes()) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    system.broadcast(Hello(text="hi"))
    others: list[Envelope] = []
    heard = sorted(e.body.agent for e in take(collector, Heard, 3, skipped=others))
    assert heard == ["p1-a", "p1-b", "p2-a"]
    # Nothing is heard twice, and the collector inbox (local) gets the broadcast itself once.
    others += drain(collector, 0.5)
    assert [type(e.body) for e in others] == [Hello]


def drain(inbox: Inbox, quiet: float) -> list[Envelope]:
    """Everything ``inbox`` gets until it stays empty for ``quiet`` seconds."""
    got: list[Envelope] = []
    while True:
        try:
            got.append(inbox.get(timeout=quiet))
        except InboxEmpty:
            return got


def test_ask_of_an_address_no_node_has_fails_at_once(
    make_system: Callable[..., ActorSystem], make_peer: Callable[..., Peer]
) -> None:
    make_peer([{"name": "worker-a"}])
    system = make_system("main")
    started = time.monotonic()
    with pytest.raises(UnknownAddress):
        system.ask("nobody-here", Job(n=1), timeout=10.0)
    with pytest.raises(UnknownAddress):
        system.ask("role:nobody", Job(n=1), timeout=10.0)
    assert time.monotonic() - started < 5.0, "no-responders must not wait for the timeout"
    letters = [(d.reason, str(d.envelope.to)) for d in system.dead_letters()]
    assert ("unknown_address", "nobody-here") in letters


def test_a_name_taken_in_another_process_is_refused(
    make_system: Callable[..., ActorSystem], make_peer: Callable[..., Peer]
) -> None:
    from tests.nats.peer import Worker

    make_peer([{"name": "unique-1"}])
    system = make_system("main")
    with pytest.raises(NameTaken, match="unique-1"):
        system.spawn(Worker, "n", None, name="unique-1")
    assert "unique-1" not in [ref.name for ref in system.agents()]


def test_sigkilled_node_frees_its_names_and_its_watchers_get_node_down(
    make_system: Callable[..., ActorSystem], make_peer: Callable[..., Peer]
) -> None:
    from tests.nats.peer import Worker

    peer = make_peer([{"name": "victim"}])
    system = make_system("main")
    watcher = system.inbox("watcher")
    watcher.watch("victim")
    assert system.ask("victim", Job(n=1), timeout=WAIT).node == peer.node
    peer.kill()
    killed = time.monotonic()
    envelope = take(watcher, Terminated, 1)[0]
    assert envelope.body == Terminated(name="victim", reason="node_down")
    assert time.monotonic() - killed < 5.0
    # The name is free now: this process can take it.
    ref = system.spawn(Worker, "main", None, name="victim")
    assert system.ask("victim", Job(n=2), timeout=WAIT).agent == ref.name
    assert peer.node not in [info.node for info in system.nodes()]


def test_watch_of_a_remote_agent_that_stops_cleanly_says_why(
    make_system: Callable[..., ActorSystem], make_peer: Callable[..., Peer]
) -> None:
    peer = make_peer([{"name": "leaver"}])
    system = make_system("main")
    watcher = system.inbox("watcher")
    watcher.watch("leaver")
    watcher.watch("never-was")
    assert take(watcher, Terminated, 1)[0].body == Terminated(name="never-was", reason="not_found")
    assert peer.quit() == 0
    assert take(watcher, Terminated, 1)[0].body == Terminated(name="leaver", reason="shutdown")


def test_durable_agent_restarted_in_another_process_gets_every_unacked_message(
    make_system: Callable[..., ActorSystem], make_peer: Callable[..., Peer]
) -> None:
    first = make_peer([{"name": "keeper", "durable": True, "report_to": "collector"}])
    system = make_system("main")
    collector = system.inbox("collector")
    watcher = system.inbox("watcher")
    watcher.watch("keeper")
    total = 20
    for n in range(total):
        system.tell("keeper", Job(n=n, work=0.1))
    before = take(collector, Done, 3)
    first.kill()
    assert take(watcher, Terminated, 1)[0].body.reason == "node_down"
    second = make_peer([{"name": "keeper", "durable": True, "report_to": "collector"}])
    reports = [e.body for e in before]
    deadline = time.monotonic() + 30
    while {d.n for d in reports} != set(range(total)):
        assert time.monotonic() < deadline, f"missing: {set(range(total)) - {d.n for d in reports}}"
        reports.extend(e.body for e in take(collector, Done, 1, timeout=30))
    after = [d for d in reports if d.node == second.node]
    assert after, "the second process handled nothing"
    assert all(d.redelivered and d.deliveries >= 2 for d in after[:1]), after[:3]
    assert all(not d.redelivered for d in reports if d.node == first.node)


def test_agents_on_two_servers_of_a_nats_cluster_reach_each_other(
    tmp_path, make_peer: Callable[..., Peer], cluster_name: str
) -> None:
    from actors.nats import NatsTransport

    one = NatsServer(tmp_path / "c1", name="c1", cluster="pair")
    two = NatsServer(tmp_path / "c2", name="c2", cluster="pair")
    one.routes = (two.cluster_port,)  # type: ignore[assignment]
    two.routes = (one.cluster_port,)  # type: ignore[assignment]
    one.start(wait=False)
    two.start(wait=False)
    try:
        one.wait_ready(30)
        two.wait_ready(30)
        peer = make_peer([{"name": "far", "roles": ["far"]}], servers=[two.url])
        transport = NatsTransport([one.url], cluster=cluster_name, ttl=1.0)
        with ActorSystem("near", transport=transport) as system:
            assert system.ask("far", Job(n=1), timeout=WAIT).node == peer.node
            assert system.ask("role:far", Job(n=2), timeout=WAIT).node == peer.node
            assert {info.node for info in system.nodes()} >= {peer.node}
        assert peer.quit() == 0
    finally:
        one.stop()
        two.stop()


def test_a_durable_role_hands_what_a_killed_member_left_to_another_member(
    make_system: Callable[..., ActorSystem], make_peer: Callable[..., Peer]
) -> None:
    first = make_peer([{"name": "keeper-1", "roles": ["keeper"], "durable": True,
                        "report_to": "collector"}])  # fmt: skip
    second = make_peer([{"name": "keeper-2", "roles": ["keeper"], "durable": True,
                         "report_to": "collector"}])  # fmt: skip
    system = make_system("main")
    collector = system.inbox("collector")
    deadline = time.monotonic() + WAIT
    while len({i.node for i in system.nodes() if "keeper" in i.roles}) < 2:
        assert time.monotonic() < deadline, "the keepers' roles never showed up"
        time.sleep(0.02)
    total = 40
    for n in range(total):
        system.tell("role:keeper", Job(n=n, work=0.05))
    reports = [e.body for e in take(collector, Done, 4)]
    busy, idle = (first, second) if reports[-1].node == first.node else (second, first)
    busy.kill()  # whatever it fetched and did not acknowledge goes to the other member
    deadline = time.monotonic() + 60
    while {d.n for d in reports} != set(range(total)):
        missing = set(range(total)) - {d.n for d in reports}
        assert time.monotonic() < deadline, f"missing: {sorted(missing)}"
        reports.extend(e.body for e in take(collector, Done, 1, timeout=30))
    by_idle = [d for d in reports if d.node == idle.node]
    assert by_idle, "the surviving member handled nothing"
    assert any(d.redelivered for d in by_idle), "nothing of the killed member's came over"
