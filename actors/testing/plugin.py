"""regiment's pytest plugin: the ``actor_system`` and ``probe`` fixtures and their markers.

pytest loads it through the ``pytest11`` entry point of the installed package; nothing needs to
import it.

Fixtures:

- ``actor_system``: a fresh `actors.ActorSystem` named ``"test"`` for one test. After the test
  it checks, and fails the test's teardown otherwise, that no dead letter was left that the
  test did not take with `actors.testing.expect_dead_letter` (those made while shutting down
  do not count), that the system shut down cleanly within 10 s, and that every thread started
  during the test ended.
- ``probe``: a `actors.testing.TestProbe` in ``actor_system`` (``probe-<n>``).

Markers:

- ``@pytest.mark.manual_clock`` (or ``manual_clock(start=1000.0)``): the system runs on an
  `actors.ManualClock`, reached as ``actor_system.clock``; time moves only by ``advance``.
- ``@pytest.mark.allow_dead_letters`` allows any dead letter;
  ``allow_dead_letters("unhandled", ...)`` allows those reasons only.
- ``@pytest.mark.actor_system(**options)``: keyword arguments for the `ActorSystem`
  (``ask_timeout=``, ``routes=``, ``tool_policy=``, ...).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from actors.clock import ManualClock
from actors.events import DeadLetterReason
from actors.system import ActorSystem
from actors.testing.probe import TestProbe

__all__ = ["actor_system", "probe", "pytest_configure", "pytest_runtest_makereport"]

SHUTDOWN_TIMEOUT = 10.0  # seconds the fixture's shutdown may take
THREAD_GRACE = 5.0  # seconds the test's threads get to end once the system is shut down
_FAILED = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's markers (so ``--strict-markers`` accepts them)."""
    config.addinivalue_line(
        "markers", "manual_clock(start=1000.0): actor_system runs on a ManualClock"
    )
    config.addinivalue_line(
        "markers",
        "allow_dead_letters(*reasons): actor_system tolerates dead letters (of these reasons)",
    )
    config.addinivalue_line(
        "markers", "actor_system(**options): keyword arguments for actor_system's ActorSystem"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Note whether the test itself failed: its teardown then skips the dead-letter check."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.fixture
def actor_system(request: pytest.FixtureRequest) -> Iterator[ActorSystem]:
    """A fresh `ActorSystem` for one test, checked after it (see the module docstring)."""
    before = set(threading.enumerate())
    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("actor_system")
    if marker is not None:
        options.update(marker.kwargs)
    clock = request.node.get_closest_marker("manual_clock")
    if clock is not None:
        options["clock"] = ManualClock(start=clock.kwargs.get("start", 1000.0))
    system = ActorSystem("test", **options)
    record = system.testing.record()
    problems: list[str] = []
    try:
        yield system
    finally:
        allowed = _allowed(request.node.get_closest_marker("allow_dead_letters"))
        letters = [d for d in record.untaken_dead_letters() if d.reason not in allowed]
        if not system.shutdown(timeout=SHUTDOWN_TIMEOUT):
            problems.append(f"the system did not shut down within {SHUTDOWN_TIMEOUT:g}s")
        record.close()
        leaked = _leaked_threads(before)
        if leaked:
            problems.append(f"threads still running after the test: {leaked}")
        if letters and not request.node.stash.get(_FAILED, False):
            shown = "".join(f"\n  {_letter(d)}" for d in letters[:10])
            problems.append(
                f"{len(letters)} unexpected dead letter(s) (take them with "
                f"expect_dead_letter, or mark the test allow_dead_letters):{shown}"
            )
    if problems:
        pytest.fail("actor_system: " + "; ".join(problems), pytrace=False)


@pytest.fixture
def probe(actor_system: ActorSystem) -> TestProbe:
    """A `actors.testing.TestProbe` in ``actor_system``."""
    # Not closed here: the system's shutdown closes it after actor_system's dead-letter check,
    # so messages the test left in it are not reported.
    return TestProbe(actor_system)


def _allowed(marker: pytest.Mark | None) -> frozenset[DeadLetterReason]:
    if marker is None:
        return frozenset()
    if not marker.args:
        return frozenset(DeadLetterReason)
    return frozenset(DeadLetterReason(reason) for reason in marker.args)


def _leaked_threads(before: set[threading.Thread]) -> list[str]:
    deadline = time.monotonic() + THREAD_GRACE
    for thread in threading.enumerate():
        if thread not in before and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in threading.enumerate() if t not in before and t.is_alive()]


def _letter(letter: Any) -> str:
    envelope = letter.envelope
    detail = f" ({letter.detail})" if letter.detail else ""
    return f"{letter.reason.value}: {type(envelope.body).__name__} to {envelope.to}{detail}"
