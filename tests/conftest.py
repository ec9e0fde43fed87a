"""Shared fixtures: a fresh system per test, captured logs, a check that no test leaks threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from loguru import logger

from actors import ActorSystem, ManualClock, _lifecycle
from tests.helpers import Journal, open_every_gate

THREAD_GRACE = 5.0  # seconds a finished test's threads get to end before it counts as a leak


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="run the reliability suite at full size (tests/reliability)",
    )


@pytest.fixture(autouse=True)
def no_thread_leaks() -> Iterator[None]:
    """Every test leaves threading.active_count() as it found it."""
    before = set(threading.enumerate())
    count = threading.active_count()
    yield
    deadline = time.monotonic() + THREAD_GRACE
    for thread in threading.enumerate():
        if thread not in before:
            thread.join(max(0.0, deadline - time.monotonic()))
    leaked = [t.name for t in threading.enumerate() if t not in before]
    assert not leaked, f"threads leaked by the test: {leaked}"
    assert threading.active_count() == count


@pytest.fixture(autouse=True)
def slot_transitions_are_legal() -> Iterator[None]:
    """Every slot moves only along the written transition table while a test runs.

    In strict mode an illegal transition raises where it happens (in whichever thread); it
    is also recorded, and checked here, so one swallowed by a thread still fails the test.
    """
    _lifecycle.strict = True
    _lifecycle.illegal_transitions.clear()
    yield
    seen = list(_lifecycle.illegal_transitions)
    _lifecycle.illegal_transitions.clear()
    assert not seen, f"illegal slot transitions: {seen}"


@pytest.fixture
def system() -> Iterator[ActorSystem]:
    """A running system, shut down (and checked clean) after the test.

    Its event record starts with it, so `actors.testing.expect_event` and
    `actors.testing.expect_dead_letter` also find what was published before they are called.
    """
    with ActorSystem("test") as sys_:
        sys_.testing.record()
        yield sys_
        assert sys_.shutdown(timeout=10.0), "system did not shut down cleanly"


@pytest.fixture
def gates_opened(system: ActorSystem) -> Iterator[None]:
    """Opens every gate after the test, before ``system`` shuts down.

    A failing test must not leave an agent parked (the shutdown would wait for it). Modules
    whose agents park on gates use it with ``pytest.mark.usefixtures("gates_opened")``.
    """
    yield
    open_every_gate()


@pytest.fixture
def logs() -> Iterator[Journal]:
    """Every loguru record (DEBUG and up) logged while the test runs, in a waitable Journal."""
    journal = Journal()
    sink = logger.add(lambda message: journal.add(message.record), level="DEBUG")
    yield journal
    logger.remove(sink)


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock starting at 1000.0."""
    return ManualClock(start=1000.0)


@pytest.fixture
def manual_system(clock: ManualClock) -> Iterator[ActorSystem]:
    """A system whose time only moves when the test advances ``clock``; its event record on."""
    with ActorSystem("manual", clock=clock) as sys_:
        sys_.testing.record()
        yield sys_
