"""Logs: per-message DEBUG lines only while an application sink wants DEBUG; guard trips.

Also the loguru behaviour `actors._logs` relies on (a contract test, like the pykka ones): its
handler registry is replaced, not mutated, on every add and remove.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from loguru import logger

from actors import ActorSystem, AgentActor, Message, handler
from actors._logs import core, debug_wanted
from tests.helpers import WAIT, Journal, logged
from tests.messages import Ping


class Work(Message):
    n: int


class Worker(AgentActor):
    @handler
    def on_work(self, message: Work) -> None:
        pass

    @handler
    def on_ping(self, message: Ping) -> int:
        return 1


@pytest.fixture
def debug_records() -> Iterator[Journal]:
    journal = Journal()
    sink = logger.add(lambda message: journal.add(message.record), level="DEBUG")
    try:
        yield journal
    finally:
        logger.remove(sink)


def test_loguru_replaces_its_handler_registry_on_every_add_and_remove():
    before = core.handlers
    sink = logger.add(lambda message: None, level="INFO")
    try:
        added = core.handlers
        assert added is not before
        assert added[sink].levelno == 20
    finally:
        logger.remove(sink)
    assert core.handlers is not added
    assert sink not in core.handlers


def test_debug_is_wanted_only_for_a_sink_the_application_added():
    assert not debug_wanted({0: type("H", (), {"levelno": 10})()}), "loguru's default handler"
    sink = logger.add(lambda message: None, level="DEBUG")
    try:
        assert debug_wanted(core.handlers)
    finally:
        logger.remove(sink)


def test_each_handled_message_is_logged_at_debug_with_its_ids(
    system: ActorSystem, debug_records: Journal
):
    ref = system.spawn(Worker, name="w")
    ref.tell(Work(n=1), correlation_id="conv-1")
    assert ref.ask(Ping(), timeout=WAIT) == 1
    records = debug_records.wait_for(logged("took tests.messages.Ping"))
    (line,) = [r for r in records if "took tests.actors.test_logs.Work" in r["message"]]
    assert line["level"].name == "DEBUG"
    assert line["extra"]["agent"] == "w"
    assert line["extra"]["correlation_id"] == "conv-1"
    assert line["extra"]["msg_id"]
    assert "causation_id" in line["extra"]
    assert ": ok" in line["message"]


def test_a_sink_added_while_agents_run_gets_the_lines_from_then_on(system: ActorSystem):
    ref = system.spawn(Worker, name="w")
    assert ref.ask(Ping(), timeout=WAIT) == 1
    journal = Journal()
    sink = logger.add(lambda message: journal.add(message.record), level="DEBUG")
    try:
        ref.tell(Work(n=2))
        journal.wait_for(logged("took tests.actors.test_logs.Work"))
    finally:
        logger.remove(sink)


def test_no_line_per_message_when_no_sink_wants_debug(system: ActorSystem):
    journal = Journal()
    sink = logger.add(lambda message: journal.add(message.record), level="INFO")
    try:
        ref = system.spawn(Worker, name="w")
        for n in range(20):
            ref.tell(Work(n=n))
        assert ref.ask(Ping(), timeout=WAIT) == 1
    finally:
        logger.remove(sink)
    assert not [r for r in journal.items() if "took" in r["message"]]


def test_a_max_messages_guard_trip_is_logged_once_naming_the_agent(system: ActorSystem, logs):
    ref = system.spawn(Worker, name="w", max_messages=3)
    for n in range(5):
        ref.tell(Work(n=n))
    records = logs.wait_for(logged("reached its max_messages guard (3)", "WARNING"))
    trips = [r for r in records if "max_messages guard" in r["message"]]
    assert len(trips) == 1
    assert trips[0]["extra"]["agent"] == "w"


def test_a_run_until_limit_is_logged_with_the_agent_that_reached_it(system: ActorSystem, logs):
    ref = system.spawn(Worker, name="w")
    for n in range(10):
        ref.tell(Work(n=n))
    report = system.run_until(max_messages=5, max_runtime=WAIT)
    assert report.messages == 5
    records = logs.wait_for(logged("run_until stopped at its max_messages limit", "WARNING"))
    (line,) = [r for r in records if "run_until stopped" in r["message"]]
    assert line["extra"]["agent"] == "w"
