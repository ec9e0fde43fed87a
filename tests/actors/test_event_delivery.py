"""Event delivery: buffered (a thread per subscriber), inline, queue and async subscribers.

A slow or blocked subscriber must never stall `publish` (and so message delivery): its buffer
fills and what does not fit is dropped and counted. No test sleeps to synchronise: gates are
`threading.Event`s, and every wait is bounded and fails loudly.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator

import pytest

from actors import (
    ActorSystem,
    AgentStarted,
    AgentStopped,
    AsyncSubscription,
    Event,
    EventStream,
    InvalidConfig,
    Subscription,
)
from tests.helpers import WAIT, Journal, logged
from tests.messages import Counting, Ping


class Tick(Event):
    n: int


class Tock(Event):
    n: int


def tick(n: int) -> Tick:
    return Tick(system="t", n=n)


class Gate:
    """A callback that blocks on its first event until released; counts its calls."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.seen: list[object] = []

    def __call__(self, event: Event) -> None:
        self.seen.append(getattr(event, "n", event))
        self.entered.set()
        assert self.release.wait(WAIT), "the test never released the gate"


@pytest.fixture
def stream() -> Iterator[EventStream]:
    """A bare stream, closed after the test (its delivery threads joined)."""
    events = EventStream()
    yield events
    events.close(WAIT)


@pytest.fixture
def gate() -> Iterator[Gate]:
    """A blocking callback, released after the test whatever happened."""
    blocker = Gate()
    yield blocker
    blocker.release.set()


def ns(journal: Journal) -> list[int]:
    return [event.n for event in journal.items()]


# -- buffered ---------------------------------------------------------------------------------


def test_a_buffered_callback_gets_every_event_in_order_in_a_thread_of_its_own(stream):
    journal = Journal()
    threads: set[str] = set()

    def record(event: Tick) -> None:
        threads.add(threading.current_thread().name)
        journal.add(event)

    sub = stream.subscribe(record, Tick)
    assert sub.mode == "buffered"
    assert sub.callback is record  # the old name still works
    for n in range(500):
        stream.publish(tick(n))
    assert sub.drain(WAIT)
    assert ns(journal) == list(range(500))
    assert threads == {"regiment-events-1"}
    assert sub.dropped == 0


def test_a_blocked_callback_blocks_neither_publish_nor_the_other_subscribers(stream, gate):
    others = Journal()
    blocked = stream.subscribe(gate, Tick)
    other = stream.subscribe(others.add, Tick)
    stream.publish(tick(0))
    assert gate.entered.wait(WAIT)
    for n in range(1, 1_001):
        stream.publish(tick(n))
    # The publisher got here while the blocker still sits in its first call.
    assert not gate.release.is_set()
    assert gate.seen == [0]
    assert other.drain(WAIT)
    assert ns(others) == list(range(1_001))
    assert not blocked.drain(0.05)  # its callback is still running: a bounded wait says so
    gate.release.set()
    assert blocked.drain(WAIT)
    assert gate.seen == list(range(1_001))
    assert blocked.dropped == 0


def test_a_full_buffer_drops_and_counts_exactly_the_overflow(stream, gate):
    sub = stream.subscribe(gate, Tick, buffer=5)
    stream.publish(tick(0))
    assert gate.entered.wait(WAIT)  # 0 is in the callback: the buffer is empty
    for n in range(1, 21):
        stream.publish(tick(n))
    assert sub.dropped == 15  # 1..5 fit, 6..20 do not
    gate.release.set()
    assert sub.drain(WAIT)
    assert gate.seen == [0, 1, 2, 3, 4, 5]
    assert sub.dropped == 15


def test_a_buffered_callback_that_raises_is_logged_and_detached_and_others_go_on(stream, logs):
    calls: list[int] = []
    others = Journal()

    def hostile(event: Tick) -> None:
        calls.append(event.n)
        raise SystemExit(1)

    sub = stream.subscribe(hostile, Tick)
    other = stream.subscribe(others.add, Tick)
    for n in range(3):
        stream.publish(tick(n))
    logs.wait_for(logged("raised on Tick; detached", "ERROR"))
    assert sub.drain(WAIT)  # its thread has ended: nothing is pending
    assert not sub.active
    assert calls == [0]  # detached at once: what was still buffered is discarded
    stream.publish(tick(3))
    assert other.drain(WAIT)
    assert ns(others) == [0, 1, 2, 3]
    assert calls == [0]
    assert stream.wants(Tick)  # the other one still wants it


def test_cancel_discards_what_is_buffered_and_ends_the_thread(stream, gate):
    sub = stream.subscribe(gate, Tick)
    stream.publish(tick(0))
    assert gate.entered.wait(WAIT)
    stream.publish(tick(1))
    with sub:
        pass  # leaving the block cancels
    assert not sub.active
    sub.cancel()  # idempotent
    assert not stream.wants(Tick)
    gate.release.set()
    assert sub.drain(WAIT)
    assert gate.seen == [0]


def test_drain_from_the_delivery_thread_raises_instead_of_waiting_for_itself(stream):
    errors: list[BaseException] = []
    done = threading.Event()
    holder: list[Subscription] = []

    def callback(event: Tick) -> None:
        try:
            holder[0].drain(WAIT)
        except RuntimeError as error:
            errors.append(error)
        done.set()

    holder.append(stream.subscribe(callback, Tick))
    stream.publish(tick(0))
    assert done.wait(WAIT)
    assert len(errors) == 1
    assert holder[0].active


# -- inline -----------------------------------------------------------------------------------


def test_an_inline_callback_runs_before_publish_returns_in_the_publishing_thread(stream):
    seen: list[tuple[int, threading.Thread]] = []
    sub = stream.subscribe(lambda e: seen.append((e.n, threading.current_thread())), inline=True)
    stream.publish(tick(7))
    assert seen == [(7, threading.current_thread())]
    assert sub.drain(0)
    assert sub.mode == "inline"


def test_an_inline_callback_that_raises_is_logged_and_detached_at_once(stream, logs):
    others = Journal()

    def hostile(event: Tick) -> None:
        raise SystemExit(1)

    sub = stream.subscribe(hostile, Tick, inline=True)
    stream.subscribe(others.add, Tick, inline=True)
    stream.publish(tick(0))
    assert not sub.active
    assert logs.wait_for(logged("raised on Tick; detached", "ERROR"), timeout=0)
    stream.publish(tick(1))
    assert ns(others) == [0, 1]


# -- queues -----------------------------------------------------------------------------------


def test_a_queue_gets_the_events_in_the_publishing_thread(stream):
    target: queue.SimpleQueue[Tick] = queue.SimpleQueue()
    sub = stream.subscribe(target, Tick)
    assert sub.mode == "queue"
    for n in range(3):
        stream.publish(tick(n))
    assert [target.get_nowait().n for _ in range(3)] == [0, 1, 2]  # already there
    assert sub.drain(0)


def test_a_full_queue_drops_and_counts(stream):
    target: queue.Queue[Tick] = queue.Queue(maxsize=2)
    sub = stream.subscribe(target, Tick)
    for n in range(5):
        stream.publish(tick(n))
    assert sub.dropped == 3
    assert [target.get_nowait().n for _ in range(2)] == [0, 1]
    assert sub.active


class QueueFull(Exception):  # named as asyncio names it: counts as a full queue
    pass


class Picky:
    """Queue-like and callable: the queue side must win."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error
        self.called = False

    def put_nowait(self, item: object) -> None:
        if self.error is not None:
            raise self.error

    def __call__(self, event: object) -> None:
        self.called = True


def test_an_error_named_queuefull_drops_any_other_detaches(stream, logs):
    full = stream.subscribe(Picky(QueueFull()), Tick)
    broken_target = Picky(ValueError("broken"))
    broken = stream.subscribe(broken_target, Tick)
    stream.publish(tick(0))
    assert (full.dropped, full.active) == (1, True)
    assert (broken.dropped, broken.active) == (0, False)
    assert not broken_target.called
    assert logs.wait_for(logged("raised on Tick; detached", "ERROR"), timeout=0)


def test_subscribe_refuses_bad_targets_types_and_buffers(stream):
    with pytest.raises(TypeError):
        stream.subscribe(42, Tick)
    with pytest.raises(TypeError):
        stream.subscribe(print, int)
    with pytest.raises(InvalidConfig):
        stream.subscribe(print, Tick, buffer=0)
    with pytest.raises(TypeError):
        stream.subscribe_async(str)


# -- async ------------------------------------------------------------------------------------


def publish_from_a_thread(stream: EventStream, count: int, *, close: bool = False):
    def run() -> None:
        for n in range(count):
            stream.publish(tick(n))
        if close:
            stream.close(WAIT)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_an_async_subscriber_gets_events_from_another_thread_in_order_and_ends_on_cancel(
    stream,
):
    sub = stream.subscribe_async(Tick)
    assert isinstance(sub, AsyncSubscription)
    stream.publish(tick(-1))  # before the first __anext__: buffered

    async def main() -> list[int]:
        got: list[int] = []
        publisher = publish_from_a_thread(stream, 200)
        try:
            async for event in sub:
                got.append(event.n)
                if len(got) == 201:
                    sub.cancel()
        finally:
            publisher.join(WAIT)
        return got

    assert asyncio.run(asyncio.wait_for(main(), WAIT)) == [-1, *range(200)]
    assert not sub.active
    assert not stream.wants(Tick)


def test_an_async_subscriber_awaiting_is_woken_by_a_publish_from_another_thread(stream):
    sub = stream.subscribe_async(Tick)

    async def main() -> list[int]:
        got: list[int] = []
        for n in range(20):
            waiting = asyncio.ensure_future(anext(sub))
            await asyncio.sleep(0)  # one loop step: the task now awaits an event (not a timer)
            assert not waiting.done()
            await asyncio.to_thread(stream.publish, tick(n))
            got.append((await asyncio.wait_for(waiting, WAIT)).n)
        return got

    assert asyncio.run(main()) == list(range(20))


def test_an_async_subscriber_cancelled_from_another_thread_while_awaiting_stops(stream):
    async def main() -> list[int]:
        got: list[int] = []
        async with stream.subscribe_async(Tick) as sub:
            received = threading.Event()

            def canceller() -> None:
                stream.publish(tick(0))
                assert received.wait(WAIT)
                sub.cancel()

            thread = threading.Thread(target=canceller)
            thread.start()
            try:
                async for event in sub:
                    got.append(event.n)
                    received.set()
            finally:
                thread.join(WAIT)
        return got

    assert asyncio.run(asyncio.wait_for(main(), WAIT)) == [0]


def test_an_async_subscriber_yields_what_it_holds_then_stops_when_the_stream_closes(stream):
    sub = stream.subscribe_async(Tick, Tock)

    async def main() -> list[int]:
        publisher = publish_from_a_thread(stream, 50, close=True)
        try:
            return [event.n async for event in sub]
        finally:
            publisher.join(WAIT)

    assert asyncio.run(asyncio.wait_for(main(), WAIT)) == list(range(50))
    assert not sub.active


def test_an_async_subscriber_has_a_bounded_buffer(stream):
    sub = stream.subscribe_async(buffer=3)
    for n in range(10):
        stream.publish(tick(n))
    assert sub.dropped == 7

    async def main() -> list[int]:
        await sub.aclose()
        return [event.n async for event in sub]

    assert asyncio.run(main()) == []  # aclose discards what was buffered


def test_an_async_subscriber_whose_loop_closed_is_detached(stream, logs):
    sub = stream.subscribe_async(Tick)
    loop = asyncio.new_event_loop()
    task = loop.create_task(anext(sub))
    loop.run_until_complete(asyncio.sleep(0))  # one step: the task now awaits an event
    assert not task.done()
    task._log_destroy_pending = False  # it stays pending for good: that is the point
    loop.close()
    stream.publish(tick(0))
    assert not sub.active
    assert logs.wait_for(logged("event loop is closed; detached", "WARNING"), timeout=0)


# -- close, listeners -------------------------------------------------------------------------


def test_close_delivers_what_is_buffered_and_joins_the_delivery_threads(gate):
    before = threading.active_count()
    stream = EventStream()
    journal = Journal()
    sub = stream.subscribe(gate, Tick)
    other = stream.subscribe(journal.add, Tick)
    async_sub = stream.subscribe_async(Tick)
    assert threading.active_count() == before + 2
    for n in range(10):
        stream.publish(tick(n))
    assert gate.entered.wait(WAIT)
    gate.release.set()
    stream.close(WAIT)
    assert gate.seen == list(range(10))  # delivered before close returned
    assert ns(journal) == list(range(10))
    assert threading.active_count() == before
    assert [sub.active, other.active, async_sub.active] == [False, False, False]
    stream.close(WAIT)  # idempotent
    late = stream.subscribe(journal.add, Tick)
    assert not late.active
    assert threading.active_count() == before  # no thread for it
    stream.publish(tick(99))
    assert not stream.wants(Tick)
    assert ns(journal) == list(range(10))
    assert late.drain(0)


def test_close_gives_up_on_a_stuck_subscriber_after_its_timeout(stream, gate, logs):
    sub = stream.subscribe(gate, Tick)
    for n in range(3):
        stream.publish(tick(n))
    assert gate.entered.wait(WAIT)
    stream.close(0.05)  # a bounded wait for a subscriber that will not finish in time
    assert not sub.active
    assert logs.wait_for(logged("still busy when its stream closed", "WARNING"), timeout=0)
    gate.release.set()
    assert sub.drain(WAIT)
    assert gate.seen == [0]  # the rest of its buffer was discarded


def test_listeners_hear_of_every_change_of_subscribers(stream):
    heard: list[bool] = []
    stream.add_listener(lambda: heard.append(stream.wants(Tick)))
    sub = stream.subscribe(print, Tick, inline=True)
    assert heard == [True]
    sub.cancel()
    sub.cancel()
    assert heard == [True, False]
    stream.subscribe(lambda e: 1 / 0, Tick, inline=True)
    stream.subscribe_async(Tock)
    assert heard == [True, False, True, True]
    stream.publish(tick(0))  # the hostile one is detached
    assert heard == [True, False, True, True, False]
    stream.close(WAIT)  # the async one goes
    assert heard == [True, False, True, True, False, False]


# -- in a system ------------------------------------------------------------------------------


def test_a_system_keeps_delivering_messages_while_a_subscriber_to_everything_blocks(system, gate):
    sub = system.events.subscribe(gate)  # every event
    ref = system.spawn(Counting, name="counter")
    assert gate.entered.wait(WAIT)  # blocked on one of the spawn's events
    for _ in range(100):
        system.tell("counter", Ping())
    answers = [ref.ask(Ping(), timeout=WAIT) for _ in range(100)]
    assert answers == list(range(101, 201))
    assert not gate.release.is_set()
    assert len(gate.seen) == 1  # still in its first call
    assert sub.active
    gate.release.set()
    assert sub.drain(WAIT)


def test_a_system_shutdown_delivers_buffered_events_in_a_thread_of_the_system():
    journal = Journal()
    threads: set[str] = set()

    def record(event: Event) -> None:
        threads.add(threading.current_thread().name)
        journal.add(event)

    with ActorSystem("delivery") as system:
        system.events.subscribe(record, AgentStarted, AgentStopped)
        system.spawn(Counting, name="counter")
    names = [(type(event).__name__, getattr(event, "name", None)) for event in journal.items()]
    assert ("AgentStarted", "counter") in names
    assert ("AgentStopped", "counter") in names  # published during the shutdown, delivered
    assert threads == {"regiment:delivery/events-1"}
