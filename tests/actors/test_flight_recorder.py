"""Flight recordings: the last messages an agent took, in crash events, logs and escalations."""

from __future__ import annotations

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentCrashed,
    HandledMessage,
    Message,
    MessageOutcome,
    handler,
)
from actors.testing import expect_event
from supervision import ChargedRestart, ChildSpec, InvalidTree, RestartPolicy, SupervisorSpec
from tests.helpers import WAIT, logged
from tests.messages import Ping


class Step(Message):
    n: int


class Crash(Message):
    pass


class Stepper(AgentActor):
    @handler
    def on_step(self, message: Step) -> None:
        pass

    @handler
    def on_crash(self, message: Crash) -> None:
        raise RuntimeError("crash after steps")

    @handler
    def on_ping(self, message: Ping) -> int:
        return 1


def test_recent_returns_the_last_n_messages_oldest_first(system: ActorSystem):
    ref = system.spawn(Stepper, name="s", flight_recorder=4)
    for n in range(10):
        ref.tell(Step(n=n), correlation_id=f"c{n}")
    assert ref.ask(Ping(), timeout=WAIT) == 1
    recent = ref.recent()
    assert [type(entry) for entry in recent] == [HandledMessage] * 4
    assert [entry.correlation_id for entry in recent[:3]] == ["c7", "c8", "c9"]
    assert recent[-1].type.endswith("Ping")
    assert all(entry.outcome is MessageOutcome.OK for entry in recent)
    assert all(entry.sender is None for entry in recent)


def test_a_crash_event_carries_the_recording_of_the_messages_before_it(system: ActorSystem):
    ref = system.spawn(Stepper, name="s")
    for n in range(5):
        ref.tell(Step(n=n), correlation_id=f"step-{n}")
    ref.tell(Crash())
    crash = expect_event(system, AgentCrashed, name="s", timeout=WAIT)
    assert [entry.correlation_id for entry in crash.recent[:5]] == [f"step-{n}" for n in range(5)]
    assert [entry.outcome for entry in crash.recent] == [MessageOutcome.OK] * 5 + [
        MessageOutcome.FAILED
    ]
    assert crash.recent[-1].type.endswith("Crash")
    assert AgentCrashed.model_validate_json(crash.model_dump_json()) == crash


def test_the_crash_log_line_spells_out_the_last_messages(system: ActorSystem, logs):
    ref = system.spawn(Stepper, name="s")
    ref.tell(Step(n=1))
    ref.tell(Crash())
    records = logs.wait_for(logged("agent 's' failed", "ERROR"))
    line = next(r for r in records if "agent 's' failed" in r["message"])
    assert "its last 2 of 2 messages" in line["message"]
    assert "Step from -: ok" in line["message"]
    assert "Crash from -: failed" in line["message"]
    assert [entry["outcome"] for entry in line["extra"]["recent"]] == ["ok", "failed"]


def test_an_escalation_history_carries_each_charged_failure_with_its_recording():
    with ActorSystem("esc", root_policy=RestartPolicy(max_restarts=0, within=60)) as system:
        system.start_tree(
            SupervisorSpec(
                "team",
                [ChildSpec(Stepper, name="s")],
                policy=RestartPolicy(max_restarts=1, within=60),
            )
        )
        for round_ in range(2):
            system.tell("s", Step(n=round_), correlation_id=f"before-{round_}")
            system.tell("s", Crash())
        assert system.wait(WAIT)
        escalation = system.failure.chain[1]
    assert len(escalation.history) == 2
    assert all(isinstance(entry, ChargedRestart) for entry in escalation.history)
    first, last = escalation.history
    assert first.child == last.child == "s"
    assert "crash after steps" in (last.error or "")
    assert [entry.correlation_id for entry in last.recent][-2] == "before-1"
    assert last.recent[-1].outcome is MessageOutcome.FAILED
    assert first.at <= last.at


def test_flight_recorder_zero_keeps_nothing(system: ActorSystem):
    ref = system.spawn(Stepper, name="s", flight_recorder=0)
    ref.tell(Step(n=1))
    ref.tell(Crash())
    assert expect_event(system, AgentCrashed, name="s", timeout=WAIT).recent == ()
    assert ref.recent() == ()


@pytest.mark.parametrize("size", [-1, 1.5, True, "8"])
def test_a_bad_flight_recorder_size_is_refused_with_a_clear_error(system: ActorSystem, size):
    with pytest.raises(InvalidTree, match="flight_recorder"):
        system.spawn(ChildSpec(Stepper, name="s", flight_recorder=size))
