"""Durable mailboxes survive what would lose an ordinary one."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from actors import ActorSystem, AskTimeout, InvalidConfig, UnknownAddress
from tests.nats.peer_types import Done, Job, Tally
from tests.nats.peers import Peer
from tests.nats.servers import NatsServer
from tests.nats.test_processes import take

pytestmark = pytest.mark.timeout(120)


def test_a_nats_server_restart_loses_nothing_durable(
    make_system: Callable[..., ActorSystem],
    make_peer: Callable[..., Peer],
    nats_server: NatsServer,
) -> None:
    make_peer([{"name": "keeper", "durable": True, "report_to": "collector"}])
    system = make_system("main")
    collector = system.inbox("collector")
    total = 30
    for n in range(total):
        system.tell("keeper", Job(n=n, work=0.05))
    take(collector, Done, 3)  # the stream has them all; the keeper is busy with them
    nats_server.restart()  # same port, same JetStream storage; acks in the gap are lost
    # Every job is handled (some twice: their acks were lost with the server: at-least-once).
    deadline = time.monotonic() + 60
    while True:
        try:
            jobs = system.ask("keeper", Tally(), timeout=5.0).jobs
        except (AskTimeout, UnknownAddress):  # the registry is catching up after the restart
            jobs = []
        if set(jobs) == set(range(total)):
            break
        assert time.monotonic() < deadline, f"lost: {sorted(set(range(total)) - set(jobs))}"
        time.sleep(0.2)
    # And nothing stays unacknowledged in the stream.
    system.tell("keeper", Job(n=total))
    wait = time.monotonic() + 30
    while total not in system.ask("keeper", Tally(), timeout=5.0).jobs:
        assert time.monotonic() < wait, "a message sent after the restart never arrived"
        time.sleep(0.05)


def test_a_local_durable_agent_gets_its_messages_through_the_stream(
    make_system: Callable[..., ActorSystem],
) -> None:
    from tests.nats.peer import Worker

    system = make_system("solo")
    collector = system.inbox("collector")
    system.spawn(Worker, "solo", "collector", name="keeper", durable=True)
    for n in range(10):
        system.tell("keeper", Job(n=n))
    done = [e.body for e in take(collector, Done, 10)]
    assert [d.n for d in done] == list(range(10)), "per-sender order is kept"
    assert not any(d.redelivered for d in done)
    # Asks bypass the stream (they need the reply future): still answered.
    assert system.ask("keeper", Job(n=99), timeout=10).n == 99
    with ActorSystem("x") as alone, pytest.raises(InvalidConfig):
        alone.spawn(Worker, "x", None, name="k", durable=True)
