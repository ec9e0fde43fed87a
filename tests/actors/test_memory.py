"""Shared memory: the system's `Blackboard` (versions, compare-and-set, watches, SQLite)."""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentStopped,
    Blackboard,
    Envelope,
    InvalidConfig,
    InvalidMemoryEntry,
    MemoryChanged,
    RegimentError,
    SystemStopped,
    handler,
)
from actors.testing import expect_event
from tests.helpers import WAIT, Journal
from tests.messages import Item, Note, Ping, Watch

WRITERS = 8
INCREMENTS = 200


def increment(memory: Blackboard, key: str) -> int:
    """Add 1 to the counter ``key`` with a compare-and-set retry loop; returns the retries."""
    retries = 0
    while True:
        entry = memory.get_entry(key)
        count, version = entry if entry is not None else (0, 0)
        if memory.compare_and_set(key, version, count + 1) is not None:
            return retries
        retries += 1


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


@pytest.fixture(params=["in-memory", "sqlite"])
def any_system(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ActorSystem]:
    """A system whose memory is in memory, then one whose memory is an SQLite file."""
    memory = None if request.param == "in-memory" else sqlite_url(tmp_path)
    with ActorSystem("test", memory=memory) as system:
        yield system
        assert system.shutdown(timeout=10.0)


# -- semantics ------------------------------------------------------------------------------------


def test_versions_start_at_one_and_count_every_write(any_system):
    memory = any_system.memory
    assert memory.get("plan") is None
    assert memory.get_entry("plan") is None
    assert memory.version("plan") == 0
    assert memory.put("plan", {"steps": ["a", "b"]}) == 1
    assert memory.put("plan", {"steps": ["a"]}) == 2
    assert memory.get("plan") == {"steps": ["a"]}
    assert memory.get_entry("plan") == ({"steps": ["a"]}, 2)
    assert memory.version("plan") == 2
    assert "plan" in memory
    assert "nothing" not in memory


def test_a_deleted_key_keeps_counting_versions_so_a_stale_version_never_matches(any_system):
    memory = any_system.memory
    memory.put("k", 1)  # v1
    assert memory.delete("k") is True  # v2
    assert memory.delete("k") is False  # nothing to delete: no version taken
    assert memory.get_entry("k") is None
    assert memory.version("k") == 0
    assert memory.compare_and_set("k", 1, "stale") is None
    assert memory.compare_and_set("k", 0, "again") == 3
    assert memory.get_entry("k") == ("again", 3)


def test_compare_and_set_writes_only_at_the_expected_version(any_system):
    memory = any_system.memory
    assert memory.compare_and_set("lock", 0, "agent-1") == 1  # 0: only if absent
    assert memory.compare_and_set("lock", 0, "agent-2") is None
    assert memory.compare_and_set("lock", 2, "agent-2") is None
    assert memory.get_entry("lock") == ("agent-1", 1)
    assert memory.compare_and_set("lock", 1, None) == 2
    assert memory.get_entry("lock") == (None, 2)  # a stored None is not a missing key


def test_keys_lists_existing_keys_under_a_prefix_sorted(any_system):
    memory = any_system.memory
    for key in ("jobs/2", "jobs/1", "notes/x", "jobs%"):
        memory.put(key, True)
    memory.delete("jobs/2")
    assert memory.keys() == ["jobs%", "jobs/1", "notes/x"]
    assert memory.keys("jobs/") == ["jobs/1"]
    assert memory.keys("none") == []


def test_a_message_value_comes_back_as_a_message(any_system):
    memory = any_system.memory
    memory.put("note", Note(text="hello"))
    assert memory.get("note") == Note(text="hello")
    assert type(memory.get("note")) is Note


def test_values_are_copied_in_and_out(any_system):
    memory = any_system.memory
    value = {"items": [1, 2]}
    memory.put("v", value)
    value["items"].append(3)
    read = memory.get("v")
    read["items"].append(4)
    assert memory.get("v") == {"items": [1, 2]}


@pytest.mark.parametrize(
    "value",
    [{1, 2}, (1, 2), {1: "a"}, math.nan, object(), b"bytes", [Ping()]],
    ids=["set", "tuple", "int-keys", "nan", "object", "bytes", "message-in-list"],
)
def test_a_value_that_is_not_json_compatible_is_refused_naming_the_key(system, value):
    with pytest.raises(InvalidMemoryEntry, match="'bad'") as caught:
        system.memory.put("bad", value)
    assert caught.value.key == "bad"
    assert system.memory.get_entry("bad") is None


@pytest.mark.parametrize("key", ["", 3, None])
def test_a_key_must_be_a_non_empty_string(system, key):
    with pytest.raises(InvalidMemoryEntry):
        system.memory.put(key, 1)


def test_expected_version_must_be_a_non_negative_int(system):
    with pytest.raises(InvalidMemoryEntry, match="expected_version"):
        system.memory.compare_and_set("k", -1, 1)


# -- many writers ---------------------------------------------------------------------------------


def test_concurrent_compare_and_set_from_threads_loses_no_update(any_system):
    memory = any_system.memory
    start = threading.Barrier(WRITERS)
    retries: list[int] = []

    def writer() -> None:
        start.wait(WAIT)
        retries.append(sum(increment(memory, "counter") for _ in range(INCREMENTS)))

    threads = [threading.Thread(target=writer, name=f"writer-{i}") for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)
    assert len(retries) == WRITERS
    assert memory.get_entry("counter") == (WRITERS * INCREMENTS, WRITERS * INCREMENTS)


class Incrementer(AgentActor):
    """On Item(n): increments the shared counter n times with compare-and-set."""

    @handler
    def on_item(self, msg: Item) -> int:
        return sum(increment(self.system.memory, "shared/counter") for _ in range(msg.n))


def test_concurrent_compare_and_set_from_agents_loses_no_update(any_system):
    refs = [any_system.spawn(Incrementer, name=f"inc-{i}") for i in range(WRITERS)]
    futures = [ref.ask_future(Item(n=INCREMENTS), timeout=WAIT) for ref in refs]
    for future in futures:
        future.get(timeout=WAIT)
    total = WRITERS * INCREMENTS
    assert any_system.memory.get_entry("shared/counter") == (total, total)


def test_two_systems_on_one_sqlite_file_lose_no_update(tmp_path):
    url = sqlite_url(tmp_path)
    with ActorSystem("one", memory=url) as one, ActorSystem("two", memory=url) as two:
        start = threading.Barrier(WRITERS)

        def writer(memory: Blackboard) -> None:
            start.wait(WAIT)
            for _ in range(INCREMENTS // 4):
                increment(memory, "counter")

        threads = [
            threading.Thread(target=writer, args=((one, two)[i % 2].memory,), name=f"w-{i}")
            for i in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert not any(thread.is_alive() for thread in threads)
        assert one.memory.get("counter") == two.memory.get("counter") == WRITERS * INCREMENTS // 4


# -- watches --------------------------------------------------------------------------------------


class MemoryWatcher(AgentActor):
    """Watches ``prefix`` from on_start; journals every MemoryChanged with its envelope."""

    def __init__(self, journal: Journal, prefix: str) -> None:
        super().__init__()
        self.journal = journal
        self.prefix = prefix

    def on_start(self) -> None:
        self.watch_memory(self.prefix)
        self.watch_memory(self.prefix)  # twice is one watch

    @handler
    def on_changed(self, msg: MemoryChanged) -> None:
        self.journal.add(msg)

    @handler
    def on_note(self, msg: Note) -> None:
        """Note("unwatch"): stop watching; Note("write:<key>"): write the key itself."""
        if msg.text == "unwatch":
            self.unwatch_memory(self.prefix)
        elif msg.text.startswith("write:"):
            self.system.memory.put(msg.text.removeprefix("write:"), "mine")

    @handler
    def on_watch(self, msg: Watch) -> None:
        """Watch(name=prefix): watch another prefix through system.memory.watch."""
        self.system.memory.watch(msg.name)


def test_watchers_get_memory_changed_for_keys_under_their_prefix(any_system):
    journal = Journal()
    any_system.spawn(MemoryWatcher, journal, "jobs/", name="watcher")
    memory = any_system.memory
    memory.put("other/1", "ignored")
    memory.put("jobs/1", {"state": "open"})
    memory.compare_and_set("jobs/1", 1, {"state": "done"})
    memory.compare_and_set("jobs/1", 1, "refused: no notice")
    memory.delete("jobs/1")
    seen = journal.wait_len(3)
    assert seen == [
        MemoryChanged(key="jobs/1", version=1, value={"state": "open"}),
        MemoryChanged(key="jobs/1", version=2, value={"state": "done"}),
        MemoryChanged(key="jobs/1", version=3, value=None, deleted=True),
    ]


def test_a_watch_made_through_system_memory_and_an_unwatch(system):
    journal = Journal()
    ref = system.spawn(MemoryWatcher, journal, "a/", name="watcher")
    ref.tell(Watch(name="b/"))
    ref.tell(Note(text="unwatch"))  # drops "a/"
    ref.tell(Note(text="write:b/own"))  # a watcher sees its own writes too
    journal.wait_len(1)
    system.memory.put("a/x", 1)
    system.memory.put("b/x", Note(text="hi"))
    seen = journal.wait_len(2)
    assert seen == [
        MemoryChanged(key="b/own", version=1, value="mine"),
        MemoryChanged(key="b/x", version=1, value=Note(text="hi"), value_type=Note.type_name),
    ]


def test_watching_outside_an_agent_is_refused(system):
    with pytest.raises(RegimentError, match="handler"):
        system.memory.watch("x")


def test_a_stopped_watcher_is_dropped(system):
    journal = Journal()
    ref = system.spawn(MemoryWatcher, journal, "", name="watcher")
    system.memory.put("k", 1)
    journal.wait_len(1)
    ref.stop()
    expect_event(system, AgentStopped, name="watcher", timeout=WAIT)
    system.memory.put("k", 2)
    assert system.memory._watches == {}
    assert not [
        letter
        for letter in system.dead_letters()
        if isinstance(letter.envelope.body, MemoryChanged)
    ]


def test_memory_changed_survives_a_json_round_trip_with_a_message_value(system):
    journal = Journal()
    system.spawn(MemoryWatcher, journal, "", name="watcher")
    system.memory.put("note", Note(text="hi"))
    (changed,) = journal.wait_len(1)
    envelope = Envelope(to="watcher", body=changed)
    body = Envelope.from_json(envelope.to_json()).body
    assert body == changed
    assert type(body.value) is Note


# -- persistence ----------------------------------------------------------------------------------


def test_the_sqlite_memory_survives_a_new_system_on_the_same_file(tmp_path):
    url = sqlite_url(tmp_path)
    with ActorSystem("before", memory=url) as system:
        assert system.memory.persistent
        system.memory.put("plan", {"steps": ["a", "b"]})
        system.memory.put("plan", {"steps": ["b"]})
        system.memory.put("note", Note(text="kept"))
        system.memory.put("gone", 1)
        system.memory.delete("gone")
    with pytest.raises(SystemStopped):
        system.memory.get("plan")  # closed with its system
    with ActorSystem("after", memory=url) as system:
        memory = system.memory
        assert memory.get_entry("plan") == ({"steps": ["b"]}, 2)
        assert memory.get("note") == Note(text="kept")
        assert memory.keys() == ["note", "plan"]
        assert memory.put("gone", 2) == 3  # the deletion's version was kept too
    with sqlite3.connect(tmp_path / "memory.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_the_in_memory_blackboard_ends_with_its_system():
    with ActorSystem("first") as system:
        assert not system.memory.persistent
        system.memory.put("k", 1)
    with pytest.raises(SystemStopped):
        system.memory.put("k", 2)
    with ActorSystem("second") as system:
        assert system.memory.get("k") is None


@pytest.mark.parametrize(
    "memory", ["redis://localhost", "sqlite://", "sqlite:///", "sqlite:///:memory:", 3]
)
def test_an_unknown_memory_setting_is_refused_before_anything_starts(memory):
    with pytest.raises(InvalidConfig):
        ActorSystem("bad", memory=memory)


def test_a_database_that_cannot_be_opened_is_refused(tmp_path):
    with pytest.raises(InvalidConfig, match="cannot"):
        ActorSystem("bad", memory=f"sqlite:///{tmp_path / 'missing-dir' / 'm.db'}")
