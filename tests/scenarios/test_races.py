"""Races and stuck threads found under fault injection, each reproduced on purpose.

Each test repeats its scenario a few times: a race that a single run might miss shows up in
one of the rounds.
"""

from __future__ import annotations

import threading
import time

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentRef,
    AgentStarted,
    DeadLetterReason,
    Message,
    SystemFailed,
    SystemStopped,
    handler,
)
from supervision import RestartPolicy
from tests.helpers import WAIT, dead_letter_count, record_events
from tests.messages import Boom, Crashable, Note, Recorder

ROUNDS = 5


class Hold(Message):
    """The handler waits on ``HOLD[key]`` (bounded)."""

    key: str


class Tick(Message):
    n: int


HOLD: dict[str, threading.Event] = {}
HELD: dict[str, threading.Event] = {}


class Overlap(AgentActor):
    """Counts how many of its Tick handlers run at once (across incarnations of the slot)."""

    lock = threading.Lock()
    running = 0
    most = 0
    handled: list[tuple[int, int]] = []

    @classmethod
    def reset(cls) -> None:
        cls.running = cls.most = 0
        cls.handled = []

    def _enter(self) -> None:
        with Overlap.lock:
            Overlap.running += 1
            Overlap.most = max(Overlap.most, Overlap.running)

    def _leave(self) -> None:
        with Overlap.lock:
            Overlap.running -= 1

    @handler
    def on_hold(self, msg: Hold) -> None:
        HELD[msg.key].set()
        assert HOLD[msg.key].wait(WAIT)

    @handler
    def on_tick(self, msg: Tick) -> None:
        self._enter()
        try:
            time.sleep(0.0005)  # work, so that ticks are still queued when the old one returns
            Overlap.handled.append((id(self), msg.n))
        finally:
            self._leave()


def held_and_abandoned(system: ActorSystem, name: str, key: str) -> AgentRef:
    """Spawn an Overlap, hold its handler, and restart it: the held incarnation is abandoned.

    The caller must set ``HOLD[key]`` at the end (a failure here sets it already).
    """
    Overlap.reset()
    HOLD[key], HELD[key] = threading.Event(), threading.Event()
    ref = system.spawn(Overlap, name=name, shutdown_timeout=0.05)
    try:
        ref.tell(Hold(key=key))
        assert HELD[key].wait(WAIT)
        # The held handler outlives the stop timeout: the restart abandons it.
        assert system.supervisor("root").restart_child(name)
    except BaseException:
        HOLD[key].set()
        raise
    return ref


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_an_abandoned_incarnation_never_takes_another_message(system, round_):
    key = f"abandon-{round_}"
    ref = held_and_abandoned(system, "slot", key)
    try:
        for n in range(300):
            ref.tell(Tick(n=n))
    finally:
        HOLD[key].set()  # the abandoned handler returns now, with ticks still queued
    assert ref.ask(Tick(n=300), timeout=WAIT) is None  # every tick before it has been handled
    assert Overlap.most == 1, "two Tick handlers of one agent ran at once"
    assert [n for _, n in Overlap.handled] == list(range(301))
    assert len({instance for instance, _ in Overlap.handled}) == 1  # all by the new incarnation


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_an_abandoned_incarnation_cannot_swallow_its_successors_stop_order(system, round_):
    key = f"swallow-{round_}"
    ref = held_and_abandoned(system, "slot2", key)
    try:
        assert ref.stop(timeout=WAIT)  # the successor stops; the old one is still held
    finally:
        HOLD[key].set()
    assert not ref.is_alive()
    assert Overlap.handled == []


def test_a_restart_whose_new_on_start_outlives_the_start_timeout_leaves_one_consumer(system):
    started = threading.Event()
    release = threading.Event()

    class SlowStart(AgentActor):
        @handler
        def on_tick(self, msg: Tick) -> int:
            return self.context.restarts

        def on_start(self) -> None:
            if self.context.restarts:  # the restart's on_start hangs on
                started.set()
                assert release.wait(WAIT)

    ref = system.spawn(SlowStart, name="slow-start", start_timeout=0.1)
    root = system.supervisor("root")
    try:
        with pytest.raises(Exception, match="did not finish starting"):
            root.restart_child("slow-start")
        assert started.is_set()
    finally:
        release.set()
    assert not ref.is_alive()  # a restart that failed to start leaves the child removed


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_an_outside_shutdown_racing_the_fatal_shutdown_returns_true_promptly(round_):
    system = ActorSystem("racing", root_policy=RestartPolicy(max_restarts=0))
    failed = record_events(system, SystemFailed)
    system.spawn(Crashable, name="fragile")
    system.tell("fragile", Boom())
    failed.wait_len(1)
    started = time.monotonic()
    assert system.shutdown(timeout=WAIT) is True
    assert time.monotonic() - started < WAIT / 2
    assert system.wait(0)
    assert system.failure is not None


def test_an_on_fatal_callback_that_calls_sys_exit_still_lets_wait_return():
    called = threading.Event()

    def on_fatal(cause: BaseException) -> None:
        called.set()
        raise SystemExit(3)

    system = ActorSystem("exiting", root_policy=RestartPolicy(max_restarts=0), on_fatal=on_fatal)
    system.spawn(Crashable, name="fragile")
    system.tell("fragile", Boom())
    assert system.wait(WAIT), "the system was never marked stopped"
    assert called.is_set()
    assert system.shutdown(timeout=WAIT)


def test_a_subscriber_raising_system_exit_is_detached_and_breaks_nothing(system):
    seen: list[str] = []

    def hostile(event: AgentStarted) -> None:
        raise SystemExit(1)

    system.events.subscribe(hostile, AgentStarted, inline=True)
    system.events.subscribe(lambda event: seen.append(event.name), AgentStarted, inline=True)
    system.spawn(Recorder, name="first")
    system.spawn(Recorder, name="second")
    assert seen == ["first", "second"]
    assert system.ask("second", Note(), timeout=WAIT) is None


class Flood(Message):
    pass


class Flooder(AgentActor):
    """Floods ``target`` with notes, for ever (each Flood queues the next)."""

    @handler
    def on_flood(self, msg: Flood) -> None:
        for _ in range(200):
            self.tell("target", Note(text="flood"))
        self.tell(self.name, Flood())


@pytest.mark.slow
def test_shutdown_finishes_in_time_while_senders_keep_sending_and_loses_nothing_silently():
    system = ActorSystem("flooded")
    system.spawn(Recorder, name="target")
    for n in range(2):
        system.spawn(Flooder, name=f"flooder-{n}")
    for _ in range(100_000):
        system.tell("target", Note(text="queued"))
    sent = [0, 0]
    stop_sending = threading.Event()

    def outside(index: int) -> None:
        while not stop_sending.is_set():
            try:
                system.tell("target", Note(text="outside"))
            except SystemStopped:
                return
            sent[index] += 1

    senders = [threading.Thread(target=outside, args=(i,)) for i in range(2)]
    for sender in senders:
        sender.start()
    system.tell("flooder-0", Flood())
    system.tell("flooder-1", Flood())
    started = time.monotonic()
    try:
        clean = system.shutdown(timeout=5.0, drain=1.0)
    finally:
        stop_sending.set()
        for sender in senders:
            sender.join(WAIT)
    elapsed = time.monotonic() - started
    assert elapsed < 8.0, f"shutdown took {elapsed:.1f}s"
    assert clean
    assert all(not sender.is_alive() for sender in senders)
    dropped = dead_letter_count(system, DeadLetterReason.SHUTDOWN, DeadLetterReason.STOPPED)
    assert dropped > 0  # counted, not lost: the queue behind the stop was dead-lettered


def test_an_agent_calling_its_own_supervisor_while_being_stopped_fails_fast(system):
    errors: list[BaseException] = []

    class Needy(AgentActor):
        def on_stop(self) -> None:
            try:
                self.system.supervisor("root").children(timeout=WAIT)
            except Exception as exc:  # noqa: BLE001 - recorded for the assertion
                errors.append(exc)

    ref = system.spawn(Needy, name="needy")
    started = time.monotonic()
    assert ref.stop(timeout=WAIT)
    assert time.monotonic() - started < WAIT / 2, "the stop waited for the call to time out"
    assert len(errors) == 1
    assert "waiting for that stop to finish" in str(errors[0])


def test_an_on_fatal_callback_may_call_shutdown_itself():
    returned: list[bool] = []

    def on_fatal(cause: BaseException) -> None:
        returned.append(system.shutdown(timeout=WAIT))

    system = ActorSystem(
        "self-stopping", root_policy=RestartPolicy(max_restarts=0), on_fatal=on_fatal
    )
    system.spawn(Crashable, name="fragile")
    started = time.monotonic()
    system.tell("fragile", Boom())
    assert system.wait(WAIT)
    assert time.monotonic() - started < WAIT / 2, "shutdown inside on_fatal waited for itself"
    assert returned == [False]  # the shutdown it asked for was already under way
    assert system.shutdown(timeout=WAIT)
