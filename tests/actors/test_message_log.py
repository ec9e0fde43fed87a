"""The message log: every send counted and kept (the newest N), queried, cleared, exported."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    Broadcast,
    Direct,
    InvalidConfig,
    InvalidEnvelope,
    MessageLog,
    MessageSent,
    handler,
    read_jsonl,
)
from tests.helpers import WAIT, runtime
from tests.messages import Item, Note, Ping


class Loud(Ping):
    """A Ping subclass: a query for Ping matches it too."""


class Echo(AgentActor):
    """Answers Ping with its n; on a Note tells ``sink`` an Item (the conversation goes on)."""

    roles = ("echo",)

    @handler
    def on_ping(self, message: Ping) -> int:
        return message.n

    @handler
    def on_note(self, message: Note) -> str:
        self.tell("sink", Item(n=len(message.text)))
        return "ok"

    @handler
    def on_item(self, message: Item) -> None:
        pass


def test_every_send_is_counted_and_kept_once_tells_asks_broadcasts_and_dead_letters():
    with ActorSystem("x", message_log=100) as system:
        log = system.message_log
        assert log is not None
        system.spawn(Echo, name="echo")
        system.spawn(Echo, name="sink")
        system.tell("echo", Ping(n=1))
        assert system.ask("echo", Ping(n=2), timeout=WAIT) == 2
        system.broadcast(Item(n=3))  # two recipients, one send
        system.tell("nobody", Ping(n=4))  # a dead letter: it was sent all the same
        system.tell("role:nobody", Ping(n=5))
        assert log.count() == 5
        assert len(log) == 5
        entries = log.query()
        assert [str(e.to) for e in entries] == ["echo", "echo", "*", "nobody", "role:nobody"]
        assert [e.body.n for e in entries] == [1, 2, 3, 4, 5]  # type: ignore[attr-defined]
        assert entries[1].future is not None  # the ask's own envelope
        assert all(e.sender is None for e in entries)
        # An agent's send is logged with its name, in the conversation it was made in.
        system.ask("echo", Note(text="abc"), timeout=WAIT, correlation_id="conv-1")
        assert log.count() == 7
        relayed = log.query()[-1]
        assert (relayed.sender, str(relayed.to), relayed.correlation_id) == (
            "echo",
            "sink",
            "conv-1",
        )


def test_the_log_keeps_the_newest_but_counts_every_send():
    with ActorSystem("x", message_log=3) as system:
        log = system.message_log
        assert log is not None
        for n in range(5):
            system.tell("nobody", Ping(n=n))
        assert log.count() == 5
        assert len(log) == 3
        assert [e.body.n for e in log.query()] == [2, 3, 4]  # type: ignore[attr-defined]


def test_clear_forgets_the_envelopes_and_resets_the_count():
    with ActorSystem("x", message_log=10) as system:
        log = system.message_log
        assert log is not None
        for n in range(4):
            system.tell("nobody", Ping(n=n))
        log.clear()
        assert log.count() == 0
        assert log.query() == []
        system.tell("nobody", Ping(n=9))
        assert log.count() == 1
        assert [e.body.n for e in log.query()] == [9]  # type: ignore[attr-defined]


def test_query_filters_by_sender_address_type_correlation_time_and_limit():
    with ActorSystem("x", message_log=100) as system:
        log = system.message_log
        assert log is not None
        system.spawn(Echo, name="echo")
        system.spawn(Echo, name="sink")
        system.tell("echo", Ping(n=1), correlation_id="a")
        system.tell("role:echo", Loud(n=2), correlation_id="b")
        system.ask("echo", Note(text="xy"), timeout=WAIT, correlation_id="a")  # + echo -> sink
        system.tell(Broadcast(include_self=True), Item(n=4))
        everything = log.query()
        assert len(everything) == 5

        assert [e.body for e in log.query(sender="echo")] == [Item(n=2)]
        assert len(log.query(to="echo")) == 2
        assert log.query(to=Direct("echo")) == log.query(to="echo")
        assert [e.body for e in log.query(to="role:echo")] == [Loud(n=2)]
        assert [e.body for e in log.query(to=Broadcast(include_self=True))] == [Item(n=4)]
        assert [e.body for e in log.query(type=Ping)] == [Ping(n=1), Loud(n=2)]  # subclasses
        assert [e.body for e in log.query(type=Loud)] == [Loud(n=2)]
        assert [e.body for e in log.query(type=Item.type_name)] == [Item(n=2), Item(n=4)]
        in_a = log.query(correlation_id="a")
        assert [type(e.body) for e in in_a] == [Ping, Note, Item]  # the relayed Item too
        assert log.query(correlation_id="b")[0].body == Loud(n=2)
        assert log.query(correlation_id="nope") == []
        third = everything[2]
        since = log.query(since=third.created_at)
        assert all(e.created_at >= third.created_at for e in since)
        assert any(e is third for e in since)
        assert since == [e for e in everything if e.created_at >= third.created_at]
        assert log.query(since=everything[-1].created_at + 1) == []
        assert [e.body for e in log.query(limit=2)] == [e.body for e in everything[-2:]]
        assert log.query(type=Ping, limit=1)[0].body == Loud(n=2)  # the most recent match
        assert log.query(limit=0) == []
        assert log.query(sender="echo", correlation_id="b") == []  # filters combine
        with pytest.raises(InvalidConfig):
            log.query(limit=-1)


def test_a_jsonl_export_reads_back_equal(tmp_path: Path):
    path = tmp_path / "messages.jsonl"
    with ActorSystem("x", message_log=100) as system:
        log = system.message_log
        assert log is not None
        system.spawn(Echo, name="echo")
        system.spawn(Echo, name="sink")
        system.tell("echo", Ping(n=1), correlation_id="c-1")
        system.ask("echo", Note(text="hello"), timeout=WAIT)  # an ask: its future is left out
        system.tell(Broadcast(include_self=True), Item(n=3))
        system.tell("nobody", Loud(n=4))
        assert log.export_jsonl(path) == 5
        kept = log.query()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == [envelope.to_json() for envelope in kept]
    back = read_jsonl(path)
    assert [e.to_dict() for e in back] == [e.to_dict() for e in kept]
    assert back == kept
    assert all(e.future is None for e in back)


def test_read_jsonl_names_the_bad_line(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    with ActorSystem("x", message_log=10) as system:
        system.tell("nobody", Ping(n=1))
        assert system.message_log is not None
        system.message_log.export_jsonl(path)
    good = path.read_text(encoding="utf-8")
    path.write_text(good + "\n" + '{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(InvalidEnvelope, match=r"line 3"):
        read_jsonl(path)
    path.write_bytes(good.encode() + b"\xff\xfe{\n")
    with pytest.raises(InvalidEnvelope, match=r"line 2") as caught:
        read_jsonl(path)
    assert caught.value.field == "<json>"
    path.write_text("\n" + good + "\n\n", encoding="utf-8")  # blank lines are skipped
    assert len(read_jsonl(path)) == 1


def test_senders_in_many_threads_are_all_counted():
    senders, each = 4, 250
    with ActorSystem("x", message_log=100) as system:
        log = system.message_log
        assert log is not None

        def send(index: int) -> None:
            for n in range(each):
                system.tell("nobody", Ping(n=n), correlation_id=f"t-{index}")

        threads = [threading.Thread(target=send, args=(i,)) for i in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert log.count() == senders * each
        assert len(log) == 100


def test_without_a_log_the_send_path_takes_no_detour(system: ActorSystem):
    assert system.message_log is None
    assert not runtime(system).tap.log
    assert not runtime(system).router.detour
    with system.events.subscribe(lambda event: None, MessageSent):
        assert runtime(system).router.detour
    assert not runtime(system).router.detour


def test_with_a_log_every_send_takes_the_detour_whoever_subscribes():
    with ActorSystem("x", message_log=1) as system:
        assert runtime(system).tap.log
        assert runtime(system).router.detour
        with system.events.subscribe(lambda event: None, MessageSent):
            assert runtime(system).router.detour
        assert runtime(system).router.detour  # the last subscriber leaving keeps the log


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10", None])
def test_message_log_must_be_an_integer_of_zero_or_more(bad: object):
    with pytest.raises(InvalidConfig, match="message_log"):
        ActorSystem("x", message_log=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidConfig):
        MessageLog(0)


def test_message_log_zero_is_off():
    with ActorSystem("x", message_log=0) as system:
        assert system.message_log is None
        assert not runtime(system).router.detour
