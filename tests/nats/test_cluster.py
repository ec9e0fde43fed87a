"""Two systems in one process joined through one nats-server: the API across nodes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentFailed,
    AskTimeout,
    InvalidConfig,
    Message,
    MessageTooLarge,
    ReplyToken,
    TransportError,
    handler,
)
from actors.nats import NatsTransport
from tests.helpers import ROOT
from tests.nats.servers import free_port

WAIT = 10.0


class Question(Message):
    text: str


class Answer(Message):
    text: str


class Later(Message):
    pass


class Oracle(AgentActor):
    """Answers questions; fails on "boom"; defers on "later" until told `Later`."""

    roles = ("oracle",)

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[ReplyToken] = []

    @handler
    def on_question(self, msg: Question) -> Answer | None:
        if msg.text == "boom":
            raise ValueError("the oracle exploded")
        if msg.text == "later":
            self.pending.append(self.defer())
            return None
        if msg.text == "slow":
            time.sleep(0.5)  # simulated work, longer than the asker waits
        return Answer(text=f"{msg.text}!")

    @handler
    def on_later(self, msg: Later) -> None:
        for token in self.pending:
            token.reply(Answer(text="deferred"))
        self.pending.clear()


@pytest.fixture
def pair(make_system: Callable[..., ActorSystem]) -> tuple[ActorSystem, ActorSystem]:
    """Two joined systems: ``a`` asks, ``b`` hosts an `Oracle` named "oracle-b"."""
    a = make_system("a")
    b = make_system("b")
    b.spawn(Oracle, name="oracle-b")
    deadline = time.monotonic() + WAIT
    while not any("oracle" in info.roles for info in a.nodes()[1:]):
        assert time.monotonic() < deadline, "b's role never showed up in a's registry cache"
        time.sleep(0.01)
    return a, b


def test_a_remote_handlers_failure_fails_the_ask_with_agent_failed(pair) -> None:
    a, _ = pair
    with pytest.raises(AgentFailed, match="the oracle exploded"):
        a.ask("oracle-b", Question(text="boom"), timeout=WAIT)
    assert a.ask("oracle-b", Question(text="still there"), timeout=WAIT) == Answer(
        text="still there!"
    )


def test_a_remote_ask_times_out_like_a_local_one(pair) -> None:
    a, _ = pair
    started = time.monotonic()
    with pytest.raises(AskTimeout):
        a.ask("oracle-b", Question(text="slow"), timeout=0.1)
    assert time.monotonic() - started < 0.45


def test_deferred_replies_gather_and_request_handles_work_across_nodes(pair) -> None:
    a, _ = pair
    request = a.request("oracle-b", Question(text="later"), timeout=WAIT)
    assert not request.done()
    a.tell("oracle-b", Later())
    assert request.result(timeout=WAIT) == Answer(text="deferred")
    results = a.gather([Question(text=str(i)) for i in range(6)], "role:oracle").results(WAIT)
    assert [r.value.text for r in results] == [f"{i}!" for i in range(6)]


def test_nodes_and_the_cluster_tree_and_metrics_cover_every_node(pair) -> None:
    a, _ = pair
    nodes = a.nodes()
    assert nodes[0].local
    assert nodes[0].system == "a"
    assert [n.system for n in nodes[1:]] == ["b"]
    trees = a.cluster_tree(timeout=WAIT)
    assert set(trees) == {n.node for n in nodes}
    remote = trees[nodes[1].node]
    assert "oracle-b" in str(remote)
    metrics = a.cluster_metrics(timeout=WAIT)
    assert set(metrics) == set(trees)
    assert all("error" not in m for m in metrics.values())


def test_a_message_over_the_size_limit_is_refused_at_the_sender(
    nats_server, cluster_name: str
) -> None:
    far = ActorSystem("far", transport=NatsTransport([nats_server.url], cluster=cluster_name))
    near = ActorSystem(
        "near",
        transport=NatsTransport([nats_server.url], cluster=cluster_name, max_message_bytes=2048),
    )
    try:
        far.spawn(Oracle, name="oracle-far")
        assert near.ask("oracle-far", Question(text="small"), timeout=WAIT).text == "small!"
        with pytest.raises(MessageTooLarge) as caught:
            near.tell("oracle-far", Question(text="x" * 5000))
        assert caught.value.limit == 2048
        assert caught.value.size > 5000
    finally:
        near.shutdown(10.0)
        far.shutdown(10.0)


def test_an_unreachable_server_fails_the_system_at_once_and_leaves_nothing_running() -> None:
    before = threading.active_count()
    transport = NatsTransport(
        [f"nats://127.0.0.1:{free_port()}"], cluster="nowhere", connect_timeout=2.0,
        allow_reconnect=False,
    )  # fmt: skip
    with pytest.raises(TransportError, match="cannot connect"):
        ActorSystem("lonely", transport=transport)
    assert threading.active_count() == before


def test_bad_transport_settings_are_refused() -> None:
    with pytest.raises(InvalidConfig):
        NatsTransport([], cluster="x")
    with pytest.raises(InvalidConfig):
        NatsTransport(cluster="x", ttl=0)
    with pytest.raises(InvalidConfig):
        NatsTransport(cluster="x", max_message_bytes=10)
    with pytest.raises(Exception, match="cluster name"):
        NatsTransport(cluster="Not.A.Slug")


def test_durable_agents_need_a_transport() -> None:
    with ActorSystem("alone") as system, pytest.raises(InvalidConfig, match="durable"):
        system.spawn(Oracle, name="keeper", durable=True)


def test_without_a_transport_nothing_of_the_transport_is_imported() -> None:
    code = (
        "import sys, actors, supervision\n"
        "from actors import ActorSystem\n"
        "with ActorSystem('x') as s: s.nodes()\n"
        "print(sorted({'nats', 'orjson', 'actors.nats._node'} & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
        check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "[]"


class Shout(Message):
    text: str


class Listener(AgentActor):
    """Keeps what it hears."""

    roles = ("listener",)

    def __init__(self) -> None:
        super().__init__()
        self.heard: list[str] = []

    @handler
    def on_shout(self, msg: Shout) -> None:
        self.heard.append(msg.text)

    @handler
    def on_question(self, msg: Question) -> list[str]:
        return self.heard


def test_a_role_broadcast_reaches_every_holder_and_no_other_node_complains(
    make_system: Callable[..., ActorSystem],
) -> None:
    a, b, c = make_system("a"), make_system("b"), make_system("c")
    b.spawn(Listener, name="listener-b")
    c.spawn(Oracle, name="oracle-c")  # holds no "listener" role
    a.spawn(Listener, name="listener-a")
    deadline = time.monotonic() + WAIT
    while not any("listener" in info.roles for info in a.nodes()[1:]):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    a.broadcast(Shout(text="hey"), role="listener")
    for system, name in ((a, "listener-a"), (b, "listener-b")):
        wait = time.monotonic() + WAIT
        while system.ask(name, Question(text="?"), timeout=WAIT) != ["hey"]:
            assert time.monotonic() < wait, f"{name} never heard the broadcast"
            time.sleep(0.01)
    assert c.dead_letters() == []
    assert b.dead_letters() == []


def test_credentials_pass_through_to_the_servers(tmp_path, cluster_name: str) -> None:
    from tests.nats.servers import NatsServer

    server = NatsServer(tmp_path / "auth", extra='authorization { token: "s3cret-t0ken" }')
    server.start()
    try:
        with pytest.raises(TransportError):
            ActorSystem("anon", transport=NatsTransport([server.url], cluster=cluster_name,
                                                       connect_timeout=2.0))  # fmt: skip
        transport = NatsTransport([server.url], cluster=cluster_name, token="s3cret-t0ken")
        with ActorSystem("trusted", transport=transport) as system:
            system.spawn(Oracle, name="oracle-t")
            assert system.ask("oracle-t", Question(text="in"), timeout=WAIT).text == "in!"
            assert system.nodes()[0].local
    finally:
        server.stop()


def test_a_tell_to_a_name_no_node_has_is_dead_lettered_on_the_sender(pair) -> None:
    a, b = pair
    assert a.tell("nobody-anywhere", Question(text="?")) == 0
    (letter,) = [d for d in a.dead_letters() if str(d.envelope.to) == "nobody-anywhere"]
    assert letter.reason == "unknown_address"
    assert b.dead_letters() == []
