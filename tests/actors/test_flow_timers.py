"""Timers: schedule / schedule_every on the system clock, cancel, and cleanup on stop/restart.

Every test runs on a `ManualClock`. Deliveries are observed through a `queue.Queue` the agents
put what they handle in. To show that a timer did *not* fire, a probe agent's "marker" timer is
scheduled due *after* it: the one timer thread fires timers in due order and delivers each
before firing the next, so had the other timer fired, its message would be queued first.
"""

from __future__ import annotations

import queue
import threading

import pytest

from actors import AgentFailed, AgentRestarted, InvalidConfig, Message, Timer, handler
from actors.testing import expect_event
from tests.helpers import WAIT
from tests.messages import Boom, Crashable, Note, Ping


class Arm(Message):
    """Ask the agent to schedule Note(text) after ``delay`` (every ``delay`` if ``every``)."""

    text: str
    delay: float
    every: bool = False
    to: str | None = None


class Ticker(Crashable):
    """Schedules notes on request and puts (name, text) of every note it handles in a queue."""

    def __init__(self, arrivals: queue.Queue) -> None:
        super().__init__()
        self.arrivals = arrivals

    @handler
    def on_arm(self, msg: Arm) -> Timer:
        note = Note(text=msg.text)
        if msg.every:
            return self.schedule_every(msg.delay, note, to=msg.to)
        return self.schedule(msg.delay, note, to=msg.to)

    @handler
    def on_note(self, msg: Note) -> None:
        self.arrivals.put((self.name, msg.text))


@pytest.fixture
def arrivals() -> queue.Queue:
    return queue.Queue()


@pytest.fixture
def ticker(manual_system, arrivals):
    return manual_system.spawn(Ticker, arrivals, name="ticker")


@pytest.fixture
def probe(manual_system, arrivals):
    return manual_system.spawn(Ticker, arrivals, name="probe")


def arm(ref, text: str, delay: float, *, every: bool = False, to: str | None = None) -> Timer:
    timer = ref.ask(Arm(text=text, delay=delay, every=every, to=to), timeout=5)
    assert isinstance(timer, Timer)
    return timer


def collect(arrivals: queue.Queue, count: int) -> list:
    """Up to ``count`` deliveries, waiting a bounded time for each."""
    got = []
    for _ in range(count):
        try:
            got.append(arrivals.get(timeout=2))
        except queue.Empty:
            break
    return got


def nothing_more(arrivals: queue.Queue) -> bool:
    """True if no further delivery shows up within a short grace period."""
    try:
        item = arrivals.get(timeout=0.1)
    except queue.Empty:
        return True
    pytest.fail(f"unexpected delivery {item!r}")


def test_a_scheduled_message_arrives_once_its_delay_has_passed(ticker, probe, clock, arrivals):
    tick = arm(ticker, "tick", 1.0)
    arm(probe, "marker", 0.5)

    clock.advance(0.5)
    assert arrivals.get(timeout=5) == ("probe", "marker")
    assert tick.fired == 0
    clock.advance(0.5)
    assert arrivals.get(timeout=5) == ("ticker", "tick")

    assert tick.fired == 1
    assert not tick.active
    clock.advance(10.0)
    assert nothing_more(arrivals)


def test_timers_follow_the_system_clock_not_real_time(ticker, clock, arrivals):
    arm(ticker, "tick", 0.01)

    assert nothing_more(arrivals)  # 0.1 real seconds later, the manual clock has not moved
    clock.advance(0.01)
    assert arrivals.get(timeout=5) == ("ticker", "tick")


@pytest.mark.parametrize("interval", [1.0, 0.25, 0.1])
def test_a_repeating_timer_fires_once_per_interval_passed(ticker, clock, arrivals, interval):
    every = arm(ticker, "tick", interval, every=True)

    clock.advance(3 * interval)
    assert collect(arrivals, 3) == [("ticker", "tick")] * 3
    assert nothing_more(arrivals)
    assert every.fired == 3
    assert every.active

    clock.advance(interval)
    assert arrivals.get(timeout=2) == ("ticker", "tick")
    assert every.fired == 4


def test_a_timer_can_send_to_another_agent(ticker, probe, clock, arrivals):
    arm(ticker, "hello", 1.0, to="probe")

    clock.advance(1.0)
    assert arrivals.get(timeout=5) == ("probe", "hello")


def test_a_cancelled_timer_never_fires(ticker, probe, clock, arrivals):
    tick = arm(ticker, "tick", 1.0)
    arm(probe, "marker", 2.0)

    tick.cancel()
    tick.cancel()  # idempotent
    clock.advance(2.0)

    assert arrivals.get(timeout=5) == ("probe", "marker")
    assert nothing_more(arrivals)
    assert tick.cancelled
    assert not tick.active
    assert tick.fired == 0


def test_cancelling_a_repeating_timer_stops_it_after_the_ticks_already_fired(
    ticker, probe, clock, arrivals
):
    every = arm(ticker, "tick", 1.0, every=True)
    clock.advance(1.0)
    assert arrivals.get(timeout=5) == ("ticker", "tick")

    every.cancel()
    arm(probe, "marker", 3.0)
    clock.advance(3.0)

    assert arrivals.get(timeout=5) == ("probe", "marker")
    assert every.fired == 1
    assert not every.active


def test_an_agents_timers_are_cancelled_when_it_stops(
    manual_system, ticker, probe, clock, arrivals
):
    once = arm(ticker, "once", 1.0)
    every = arm(ticker, "every", 1.0, every=True)
    elsewhere = arm(ticker, "elsewhere", 1.0, to="probe")
    arm(probe, "marker", 2.0)

    assert ticker.stop(timeout=5)
    assert once.cancelled
    assert every.cancelled
    assert elsewhere.cancelled
    clock.advance(2.0)

    assert arrivals.get(timeout=5) == ("probe", "marker")
    assert manual_system.dead_letters() == [], "a timer of the stopped agent still fired"


def test_an_agents_timers_are_cancelled_when_it_restarts(
    manual_system, ticker, probe, clock, arrivals
):
    old = arm(ticker, "old", 1.0, every=True)
    arm(probe, "marker", 3.0)

    ticker.tell(Boom(reason="restart me"))
    expect_event(manual_system, AgentRestarted, name="ticker", timeout=WAIT)
    assert ticker.ask(Ping(), timeout=5) == 1  # the new incarnation answers
    clock.advance(3.0)

    assert arrivals.get(timeout=5) == ("probe", "marker"), "the old incarnation's timer fired"
    assert old.cancelled
    assert old.fired == 0


def test_the_new_incarnation_can_schedule_its_own_timers(ticker, clock, arrivals):
    old = arm(ticker, "old", 1.0)
    ticker.tell(Boom())
    assert ticker.ask(Ping(), timeout=5) == 1

    new = arm(ticker, "new", 1.0)
    clock.advance(1.0)

    assert arrivals.get(timeout=5) == ("ticker", "new")
    assert nothing_more(arrivals)
    assert old.cancelled
    assert new.fired == 1


def test_one_timer_thread_serves_every_agent_of_a_system(
    manual_system, ticker, probe, clock, arrivals
):
    arm(ticker, "a", 1.0)
    arm(ticker, "b", 2.0, every=True)
    arm(probe, "c", 1.0)
    arm(probe, "d", 3.0, to="ticker")

    clock.advance(3.0)
    assert sorted(collect(arrivals, 4)) == [
        ("probe", "c"),
        ("ticker", "a"),
        ("ticker", "b"),
        ("ticker", "d"),
    ]
    timer_threads = [
        t.name
        for t in threading.enumerate()
        if t.name.startswith(f"regiment:{manual_system.name}/") and t.name.endswith("timers")
    ]
    assert timer_threads == [f"regiment:{manual_system.name}/timers"]


@pytest.mark.parametrize(("delay", "every"), [(-1.0, False), (0.0, True), (float("nan"), False)])
def test_a_bad_delay_or_interval_is_refused(ticker, delay, every):
    with pytest.raises(AgentFailed) as info:
        ticker.ask(Arm(text="x", delay=delay, every=every), timeout=5)
    assert isinstance(info.value.__cause__, InvalidConfig)
