"""Fixtures for the NATS tests: servers on free 127.0.0.1 ports, peers, systems joined to them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actors import ActorSystem
from tests.nats.peers import Peer
from tests.nats.servers import NatsServer, nats_server_binary

pytest.importorskip("nats", reason="the NATS tests need nats-py (pip install 'regiment[nats]')")

if nats_server_binary() is None:  # CI installs it; say so loudly if it is missing
    pytest.skip(
        "nats-server is not installed (apt-get install nats-server)", allow_module_level=True
    )

TTL = 1.0  # heartbeat TTL the tests use: a killed node's names free within about a second


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """One nats-server with JetStream, stopped after the test."""
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cluster_name(request: pytest.FixtureRequest) -> str:
    """A cluster name of this test's own."""
    return "t-" + request.node.name.lower().replace("[", "-").replace("]", "")[:40].strip("-")


@pytest.fixture
def make_system(nats_server: NatsServer, cluster_name: str) -> Iterator[Callable[..., ActorSystem]]:
    """Build systems joined to the test's server; all shut down after the test."""
    from actors.nats import NatsTransport

    systems: list[ActorSystem] = []

    def make(name: str = "node", servers: list[str] | None = None, **options: Any) -> ActorSystem:
        transport = NatsTransport(
            servers or [nats_server.url],
            cluster=options.pop("cluster", cluster_name),
            ttl=options.pop("ttl", TTL),
            ack_wait=options.pop("ack_wait", 2.0),
        )
        system = ActorSystem(name, transport=transport, **options)
        systems.append(system)
        return system

    yield make
    for system in systems:
        assert system.shutdown(20.0), f"system {system.name!r} did not shut down cleanly"


@pytest.fixture
def make_peer(nats_server: NatsServer, cluster_name: str) -> Iterator[Callable[..., Peer]]:
    """Start peer processes (``tests.nats.peer``); each is stopped (or killed) after the test."""
    peers: list[Peer] = []

    def make(
        agents: list[dict[str, Any]], servers: list[str] | None = None, **settings: Any
    ) -> Peer:
        settings = {
            "servers": servers or [nats_server.url],
            "cluster": cluster_name,
            "ttl": TTL,
            "ack_wait": 2.0,
            "agents": agents,
            **settings,
        }
        peer = Peer(settings)
        peers.append(peer)
        return peer.ready()

    yield make
    for peer in peers:
        if peer.process.poll() is None:
            peer.quit()
        else:
            peer.kill()
