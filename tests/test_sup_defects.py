"""Defects against the supervision issue, each pinned by a test that failed before the fix."""

from __future__ import annotations

import threading

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentCrashed,
    AgentRestarted,
    AgentStarted,
    AgentStopped,
    InvalidAddress,
    ManualClock,
    handler,
)
from supervision import (
    STOP,
    Backoff,
    ChildSpec,
    InvalidName,
    InvalidTree,
    RestartPolicy,
    Strategy,
    SupervisorSpec,
)
from tests.helpers import WAIT, Journal, record_events
from tests.messages import Boom, Crashable, Ping


@pytest.mark.parametrize(
    "spawn",
    [
        lambda s: s.spawn(Crashable, name="Bad Name"),
        lambda s: s.spawn(Crashable, name="ok", roles=("Not A Role",)),
        lambda s: s.spawn(ChildSpec(Crashable, name="no.dots")),
        lambda s: s.start_tree(SupervisorSpec("UPPER", [ChildSpec(Crashable, name="fine")])),
    ],
    ids=["spawn name", "spawn role", "child spec name", "supervisor name"],
)
def test_a_malformed_name_or_role_is_an_invalid_address_and_an_invalid_tree(system, spawn):
    with pytest.raises(InvalidName) as info:
        spawn(system)
    assert isinstance(info.value, InvalidAddress)
    assert isinstance(info.value, InvalidTree)
    assert system.agents() == []


class StartsOnce(AgentActor):
    """Fails to start on the first restart of its slot (``FAIL_ON`` counts the starts)."""

    starts: dict[str, int] = {}
    fail_on: dict[str, int] = {}

    def on_start(self) -> None:
        count = StartsOnce.starts[self.name] = StartsOnce.starts.get(self.name, 0) + 1
        if StartsOnce.fail_on.get(self.name) == count:
            msg = f"{self.name} cannot start (start {count})"
            raise RuntimeError(msg)

    @handler
    def on_ping(self, msg: Ping) -> int:
        return StartsOnce.starts[self.name]

    @handler
    def on_boom(self, msg: Boom) -> None:
        raise RuntimeError("boom")


def test_one_for_all_restarts_the_whole_group_again_when_a_member_fails_to_start(system):
    StartsOnce.starts.clear()
    StartsOnce.fail_on.clear()
    StartsOnce.fail_on["g2"] = 2  # g2's first restart fails in on_start
    started = record_events(system, AgentStarted, AgentRestarted)
    system.start_tree(
        SupervisorSpec(
            "group",
            [ChildSpec(StartsOnce, name=n) for n in ("g1", "g2", "g3")],
            strategy=Strategy.ONE_FOR_ALL,
            policy=RestartPolicy(max_restarts=5, within=60.0),
        )
    )
    system.tell("g3", Boom())
    # g1 restarted, g2 failed to start: g1 goes down again and all three start once more.
    assert system.ask("g3", Ping(), timeout=WAIT) == 2  # the failed round never reached it
    assert system.ask("g2", Ping(), timeout=WAIT) == 3
    assert system.ask("g1", Ping(), timeout=WAIT) == 3  # not 2: it was restarted again
    restarts = [e.name for e in started.items() if isinstance(e, AgentRestarted)]
    assert restarts.count("g1") == 2
    assert system.ref("g1").is_alive()


def test_a_child_stopped_for_good_by_a_decider_comes_back_when_its_supervisor_restarts(system):
    def stop_runtime_errors(error: BaseException):
        from supervision import ESCALATE

        return STOP if isinstance(error, RuntimeError) else ESCALATE

    system.start_tree(
        SupervisorSpec(
            "outer",
            [
                SupervisorSpec(
                    "inner",
                    [ChildSpec(Crashable, name="stoppable"), ChildSpec(Crashable, name="other")],
                    policy=RestartPolicy(decider=stop_runtime_errors),
                )
            ],
        )
    )
    stopped = threading.Event()
    system.events.subscribe(
        lambda event: stopped.set() if event.name == "stoppable" else None,
        AgentStopped,
    )
    system.tell("stoppable", Boom())
    assert stopped.wait(WAIT)
    assert "stoppable" not in [ref.name for ref in system.agents()]

    assert system.supervisor("outer").restart_child("inner", timeout=WAIT)

    assert system.ask("stoppable", Ping(), timeout=WAIT) == 0  # a fresh slot, as in the spec
    assert system.ask("other", Ping(), timeout=WAIT) == 1  # restarted with its supervisor


def test_restart_child_during_a_backoff_cancels_the_delayed_restart():
    clock = ManualClock(start=1000.0)
    with ActorSystem("backoff", clock=clock) as system:
        restarted = record_events(system, AgentRestarted)
        crashes = Journal()
        system.events.subscribe(crashes.add, AgentCrashed)
        healthy = record_events(system, AgentStarted)
        sup = system.start_tree(
            SupervisorSpec(
                "sup",
                [ChildSpec(Crashable, name="slow"), ChildSpec(Crashable, name="healthy")],
                policy=RestartPolicy(
                    max_restarts=10, within=60.0, backoff=Backoff(min=5.0, max=5.0, jitter=0.0)
                ),
            )
        )
        system.tell("slow", Boom())
        crashes.wait_len(1)
        sup.children(timeout=WAIT)  # the failure was handled: the restart waits 5 s

        assert sup.restart_child("slow", timeout=WAIT)
        assert system.ask("slow", Ping(), timeout=WAIT) == 1

        passed = threading.Event()
        system.timers.call_later(5.0, passed.set)
        clock.advance(5.0)  # the cancelled delayed restart would fire now
        assert passed.wait(WAIT)
        assert sup.children(timeout=WAIT)  # the supervisor did not stall
        assert system.ask("slow", Ping(), timeout=WAIT) == 1  # not restarted a second time
        assert system.ask("healthy", Ping(), timeout=WAIT) == 0  # its sibling was never touched
        assert [e.name for e in restarted.items()] == ["slow"]
        assert system.failure is None
        assert [e.name for e in healthy.items()].count("healthy") == 1


def test_a_message_kept_for_retry_is_redelivered_to_a_resumed_instance_first(system):
    from supervision import RESUME
    from tests.messages import Note

    seen: list[str] = []

    class FlakyOnce(AgentActor):
        failed = False

        @handler
        def on_note(self, msg: Note) -> None:
            if msg.text == "flaky" and not FlakyOnce.failed:
                FlakyOnce.failed = True
                raise RuntimeError("once")
            seen.append(msg.text)

    system.start_tree(
        SupervisorSpec(
            "resumer",
            [ChildSpec(FlakyOnce, name="flaky", retry_failed=1)],
            policy=RestartPolicy(decider=lambda error: RESUME),
        )
    )
    system.tell("flaky", Note(text="flaky"))
    system.tell("flaky", Note(text="after"))
    assert system.ask("flaky", Note(text="last"), timeout=WAIT) is None
    assert seen == ["flaky", "after", "last"]
