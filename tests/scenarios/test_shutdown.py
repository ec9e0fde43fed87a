"""Shutdown: drain, ordered stop, `shutdown` dead letters, SystemStopped, and stuck handlers."""

from __future__ import annotations

import asyncio
import subprocess
import textwrap
import threading
import time

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentStopped,
    DeadLetterReason,
    SystemStopped,
    handler,
)
from actors.testing import expect_event
from supervision import ChildSpec, SupervisorSpec
from tests.helpers import WAIT, fresh_python, park
from tests.messages import Blocker, Item, Note, Ping, Recorder

pytestmark = pytest.mark.usefixtures("gates_opened")


class Slow(AgentActor):
    """Handles each Item after a short pause of real work, counting what it handled."""

    def __init__(self, handled: list[int]) -> None:
        super().__init__()
        self.handled = handled

    @handler
    def on_item(self, msg: Item) -> None:
        time.sleep(0.002)  # the work itself, not synchronisation
        self.handled.append(msg.n)


def test_leaving_the_with_block_handles_every_queued_message_first():
    handled: list[int] = []
    with ActorSystem("drain") as system:
        ref = system.spawn(Slow, handled)
        for n in range(50):
            ref.tell(Item(n=n))
    assert handled == list(range(50))
    assert system.dead_letters() == []


def test_a_drain_lets_agents_go_on_messaging_each_other_while_outside_sends_are_refused():
    class Relay(AgentActor):
        @handler
        def on_note(self, msg: Note) -> None:
            self.tell("sink", Note(text=f"relayed {msg.text}"))

    seen: list = []
    system = ActorSystem("relaying")
    relay = system.spawn(Blocker, name="relay-gate")
    system.spawn(Recorder, seen, name="sink")
    system.spawn(Relay, name="relay")
    release = park(relay, "relay-gate")
    system.tell("relay", Note(text="late"))  # queued behind nothing: handled during the drain
    done = threading.Event()
    result: list[bool] = []
    stopper = threading.Thread(
        target=lambda: (result.append(system.shutdown(timeout=WAIT, drain=WAIT)), done.set())
    )
    stopper.start()
    deadline = time.monotonic() + WAIT
    while True:  # bounded: the refusal starts as soon as shutdown is called
        try:
            system.tell("sink", Note(text="from outside"))
        except SystemStopped:
            break
        assert time.monotonic() < deadline, "outside sends were never refused"
        time.sleep(0.001)
    release.set()
    assert done.wait(WAIT)
    stopper.join(WAIT)
    assert result == [True]
    texts = [msg.text for _, msg in seen]
    assert "relayed late" in texts
    assert texts.count("from outside") == len(texts) - 1  # only those sent before the refusal


def test_what_cannot_finish_is_dead_lettered_shutdown_and_pending_asks_fail_with_system_stopped():
    system = ActorSystem("unfinished")
    ref = system.spawn(Blocker, name="stuck", shutdown_timeout=WAIT)
    release = park(ref, "stuck-at-shutdown")
    for n in range(5):
        ref.tell(Note(text=str(n)))
    pending = ref.ask_future(Ping(n=1), timeout=WAIT)

    stopper = threading.Thread(target=system.shutdown, kwargs={"timeout": WAIT, "drain": 0.2})
    stopper.start()
    # The drain gives up (the agent is parked), then the stop waits for the current handler:
    # release it once the queue has been closed behind it.
    with pytest.raises(SystemStopped):
        pending.get(timeout=WAIT)
    release.set()
    stopper.join(WAIT)
    assert not stopper.is_alive()

    reasons = [letter.reason for letter in system.dead_letters()]
    assert reasons.count(DeadLetterReason.SHUTDOWN) == 6  # five notes and the ask


@pytest.mark.parametrize(
    "call",
    [
        lambda s, r: s.tell("a", Note()),
        lambda s, r: s.broadcast(Note()),
        lambda s, r: s.ask("a", Ping(), timeout=1),
        lambda s, r: s.ask_future("a", Ping(), timeout=1),
        lambda s, r: asyncio.run(s.ask_async("a", Ping(), timeout=1)),
        lambda s, r: s.spawn(Recorder, name="b"),
        lambda s, r: s.start_tree(SupervisorSpec("t", [ChildSpec(Recorder, name="c")])),
        lambda s, r: r.tell(Note()),
        lambda s, r: r.ask(Ping(), timeout=1),
        lambda s, r: r.ask_future(Ping(), timeout=1),
        lambda s, r: asyncio.run(r.ask_async(Ping(), timeout=1)),
    ],
    ids=[
        "system.tell",
        "system.broadcast",
        "system.ask",
        "system.ask_future",
        "system.ask_async",
        "system.spawn",
        "system.start_tree",
        "ref.tell",
        "ref.ask",
        "ref.ask_future",
        "ref.ask_async",
    ],
)
def test_every_entry_point_raises_system_stopped_after_shutdown(call):
    system = ActorSystem("stopped")
    ref = system.spawn(Recorder, name="a")
    assert system.shutdown()
    with pytest.raises(SystemStopped):
        call(system, ref)


def test_a_second_shutdown_returns_the_first_ones_result_at_once():
    system = ActorSystem("twice")
    system.spawn(Recorder, name="a")
    assert system.shutdown(timeout=WAIT)
    started = time.monotonic()
    assert system.shutdown(timeout=WAIT)
    assert time.monotonic() - started < 1.0


def test_ref_stop_returns_false_when_the_handler_outlasts_the_timeout(system):
    ref = system.spawn(Blocker, name="long-handler")
    release = park(ref, "long-handler-gate")
    try:
        assert ref.stop(timeout=0.2) is False
        assert ref.is_alive()
    finally:
        release.set()
    # its supervisor goes on stopping it once the handler returns
    expect_event(system, AgentStopped, name="long-handler", timeout=WAIT)
    assert not ref.is_alive()


def test_shutdown_async_stops_the_system_from_an_event_loop_without_blocking_it():
    system = ActorSystem("lifespan")
    system.spawn(Recorder, name="a")
    ticks = 0

    async def lifespan_end() -> bool:
        nonlocal ticks

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        ticker = asyncio.ensure_future(tick())
        try:
            return await system.shutdown_async(timeout=WAIT)
        finally:
            ticker.cancel()

    assert asyncio.run(lifespan_end()) is True
    assert ticks > 0  # the loop kept running while the system stopped
    assert system.wait(0)


STUCK_SCRIPT = textwrap.dedent(
    """
    import threading, time
    from loguru import logger
    logger.remove()
    from actors import ActorSystem, AgentActor, Message, handler

    class Work(Message):
        pass

    class Stuck(AgentActor):
        @handler
        def on_work(self, msg: Work) -> None:
            entered.set()
            time.sleep(1.5)  # a handler that outlives the shutdown's timeout

    entered = threading.Event()
    system = ActorSystem("stuck")
    for n in range(3):
        system.spawn(Stuck, name=f"s{n}")
    system.tell("s1", Work())
    system.tell("s1", Work())
    assert entered.wait(5)
    print("shutdown", system.shutdown(timeout=0.3), flush=True)
    print("second", system.shutdown(timeout=5), flush=True)
    """
)


def run_script(script: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter; fail (after killing it) if it never exits."""
    try:
        done = fresh_python("-c", script, timeout=timeout)
    except subprocess.TimeoutExpired as exc:  # the process was killed
        pytest.fail(f"the process never exited: threads were left running: {exc.stdout!r}")
    assert done.returncode == 0, done.stderr
    return done


def test_a_handler_stuck_past_the_shutdown_timeout_does_not_keep_the_process_alive():
    started = time.monotonic()
    done = run_script(STUCK_SCRIPT, timeout=20)
    assert done.stdout.split() == ["shutdown", "False", "second", "False"]
    assert time.monotonic() - started < 15


IDLE_SCRIPT = textwrap.dedent(
    """
    from loguru import logger
    logger.remove()
    from actors import ActorSystem, AgentActor

    for round in range(20):
        system = ActorSystem("idle")
        for n in range(5):
            system.spawn(AgentActor, name=f"a{n}")
        system.shutdown(timeout=0)
    print("done", flush=True)
    """
)


def test_a_shutdown_with_no_time_at_all_strands_no_thread():
    done = run_script(IDLE_SCRIPT, timeout=60)
    assert done.stdout.split() == ["done"]


EXIT_WAITS_SCRIPT = textwrap.dedent(
    """
    import threading, time
    from loguru import logger
    logger.remove()
    from actors import ActorSystem, AgentActor, Message, handler

    class Work(Message):
        pass

    class Worker(AgentActor):
        @handler
        def on_work(self, msg: Work) -> None:
            time.sleep(0.3)  # still working when the main thread has ended
            print("handled", threading.current_thread().daemon, flush=True)
            self.system.shutdown()

    system = ActorSystem("exit-waits")
    system.spawn(Worker, name="w")
    system.tell("w", Work())
    print("main done", flush=True)
    """
)


def test_interpreter_exit_waits_for_the_agents_of_a_non_daemon_system():
    # The agent threads are daemon threads (see actors._exit), yet the process waits for
    # them as it would for non-daemon threads: the handler finishes after the main thread.
    done = run_script(EXIT_WAITS_SCRIPT, timeout=30)
    assert done.stdout.split() == ["main", "done", "handled", "True"]
