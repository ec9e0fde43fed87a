"""AgentRef.status(): what an agent is doing, observed in every state, from outside."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentRestarted,
    AgentStatus,
    ManualClock,
    Message,
    handler,
)
from supervision import Backoff, ChildSpec, Directive, RestartPolicy, SupervisorSpec
from tests.helpers import WAIT, park, record_events
from tests.messages import Boom, Crashable, Parkable, Ping

pytestmark = pytest.mark.usefixtures("gates_opened")


class Worker(Crashable, Parkable):
    """Crashes on Boom, parks on Block, answers Ping."""


class Ask(Message):
    to: str


class Asker(AgentActor):
    @handler
    def on_ask(self, message: Ask) -> object:
        return self.ask(message.to, Ping(), timeout=WAIT)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` with short event waits (a status has no event of its own)."""
    tick = threading.Event()
    for _ in range(int(WAIT / 0.005)):
        if condition():
            return
        tick.wait(0.005)
    pytest.fail(f"timed out waiting until {what}")


def test_an_agent_waiting_for_messages_is_idle(system: ActorSystem):
    ref = system.spawn(Worker, name="w")
    assert ref.status() is AgentStatus.IDLE
    assert ref.status() == "idle", "a str-valued enum"


def test_an_agent_inside_a_handler_is_processing(system: ActorSystem):
    ref = system.spawn(Worker, name="w")
    release = park(ref, "w")
    assert ref.status() is AgentStatus.PROCESSING
    assert system.tree().find("w").status == "processing"
    release.set()
    wait_until(lambda: ref.status() is AgentStatus.IDLE, "w is idle again")


def test_an_agent_blocked_in_a_blocking_ask_is_waiting(system: ActorSystem):
    asker = system.spawn(Asker, name="asker")
    callee = system.spawn(Worker, name="callee")
    release = park(callee, "callee")
    future = asker.ask_future(Ask(to="callee"), timeout=WAIT)
    wait_until(lambda: asker.status() is AgentStatus.WAITING, "the asker waits")
    assert callee.status() is AgentStatus.PROCESSING
    release.set()
    assert future.get(timeout=WAIT) == 0
    wait_until(lambda: asker.status() is AgentStatus.IDLE, "the asker is idle again")


def test_a_crashed_agent_is_failed_until_its_supervisor_decides(system: ActorSystem):
    deciding, decide = threading.Event(), threading.Event()

    def slow_decider(error: BaseException) -> Directive:
        deciding.set()
        assert decide.wait(WAIT)
        return Directive.RESUME

    system.start_tree(
        SupervisorSpec(
            "sup", [ChildSpec(Worker, name="w")], policy=RestartPolicy(decider=slow_decider)
        )
    )
    ref = system.ref("w")
    ref.tell(Boom())
    assert deciding.wait(WAIT)
    assert ref.status() is AgentStatus.FAILED
    decide.set()
    wait_until(lambda: ref.status() is AgentStatus.IDLE, "w resumed")


def test_an_agent_in_a_restart_backoff_is_restarting(clock: ManualClock):
    with ActorSystem("backoff", clock=clock) as system:
        restarted = record_events(system, AgentRestarted)
        policy = RestartPolicy(backoff=Backoff(min=10.0, max=10.0, jitter=0.0))
        sup = system.start_tree(SupervisorSpec("sup", [ChildSpec(Worker, name="w")], policy=policy))
        ref = system.ref("w")
        ref.tell(Boom())
        wait_until(lambda: ref.status() is AgentStatus.RESTARTING, "w backs off")
        sup.children(timeout=WAIT)
        assert ref.status() is AgentStatus.RESTARTING, "still backing off: the clock stands"
        clock.advance(10.0)
        restarted.wait_len(1)
        assert ref.status() is AgentStatus.IDLE


def test_an_agent_whose_on_start_runs_is_starting(system: ActorSystem):
    entered, release = threading.Event(), threading.Event()

    class Slow(AgentActor):
        def on_start(self) -> None:
            entered.set()
            assert release.wait(WAIT)

    spawned = threading.Thread(target=lambda: system.spawn(Slow, name="slow"))
    spawned.start()
    try:
        assert entered.wait(WAIT)
        assert system.ref("slow").status() is AgentStatus.STARTING
    finally:
        release.set()
        spawned.join(WAIT)
    assert system.ref("slow").status() is AgentStatus.IDLE


def test_a_stopped_agent_is_stopped(system: ActorSystem):
    ref = system.spawn(Worker, name="w")
    assert ref.stop(timeout=WAIT)
    assert ref.status() is AgentStatus.STOPPED
