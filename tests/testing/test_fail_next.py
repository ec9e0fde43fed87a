"""system.testing.fail_next: an agent's next handler runs fail without touching its code."""

from __future__ import annotations

import pytest

from actors import (
    AgentActor,
    AgentFailed,
    AgentRestarted,
    Escalated,
    InvalidConfig,
    Message,
    UnknownAddress,
    handler,
)
from actors.testing import InjectedFault, expect_dead_letter, expect_event
from supervision import ChildSpec, Directive, RestartPolicy, SupervisorSpec


class Add(Message):
    n: int


class Total(Message):
    pass


class Counter(AgentActor):
    """Adds numbers; the total lives in the incarnation (a restart resets it)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    @handler
    def on_add(self, add: Add) -> int:
        self.total += add.n
        return self.total

    @handler
    def on_total(self, _: Total) -> int:
        return self.total


def test_fail_next_makes_a_supervised_agent_fail_and_restart(actor_system):
    actor_system.start_tree(SupervisorSpec("team", children=[ChildSpec(Counter, name="counter")]))
    assert actor_system.ask("counter", Add(n=5), timeout=5.0) == 5
    actor_system.testing.fail_next("counter", RuntimeError("disk full"))
    actor_system.tell("counter", Add(n=1))  # this one fails instead of being handled
    restarted = expect_event(actor_system, AgentRestarted, name="counter", timeout=5.0)
    assert restarted.restarts == 1
    letter = expect_dead_letter(actor_system, "handler_failed")
    assert letter.envelope.body == Add(n=1)
    assert "disk full" in (letter.detail or "")
    assert actor_system.ask("counter", Total(), timeout=5.0) == 0  # a fresh incarnation
    assert actor_system.ask("counter", Add(n=2), timeout=5.0) == 2  # and its code is untouched


def test_an_ask_gets_agent_failed_caused_by_the_injected_error(actor_system):
    actor_system.spawn(Counter, name="counter")
    error = ValueError("injected")
    actor_system.testing.fail_next("counter", error)
    with pytest.raises(AgentFailed) as failure:
        actor_system.ask("counter", Add(n=1), timeout=5.0)
    assert failure.value.__cause__ is error
    expect_dead_letter(actor_system, "handler_failed")
    assert actor_system.ask("counter", Add(n=1), timeout=5.0) == 1


def test_times_fails_that_many_handler_runs_across_restarts(actor_system):
    actor_system.spawn(Counter, name="counter")
    actor_system.testing.fail_next("counter", times=2)
    assert actor_system.testing.pending_faults("counter") == 2
    for n in (1, 2):
        actor_system.tell("counter", Add(n=n))
    assert expect_event(actor_system, AgentRestarted, name="counter", timeout=5.0).restarts == 1
    assert expect_event(actor_system, AgentRestarted, name="counter", timeout=5.0).restarts == 2
    for _ in range(2):
        letter = expect_dead_letter(actor_system, "handler_failed", timeout=5.0)
        assert "InjectedFault" in (letter.detail or "")
    assert actor_system.testing.pending_faults("counter") == 0
    assert actor_system.ask("counter", Add(n=3), timeout=5.0) == 3


def test_an_exception_class_is_raised_with_a_message_naming_the_agent(actor_system):
    actor_system.spawn(Counter, name="counter")
    actor_system.testing.fail_next("counter", KeyError)
    with pytest.raises(AgentFailed) as failure:
        actor_system.ask("counter", Add(n=1), timeout=5.0)
    assert isinstance(failure.value.__cause__, KeyError)
    assert "counter" in str(failure.value.__cause__)
    expect_dead_letter(actor_system, "handler_failed")


def test_a_resumed_agent_keeps_its_state_and_takes_the_remaining_faults(actor_system):
    policy = RestartPolicy(decider=lambda error: Directive.RESUME)
    actor_system.start_tree(
        SupervisorSpec("team", children=[ChildSpec(Counter, name="counter")], policy=policy)
    )
    assert actor_system.ask("counter", Add(n=10), timeout=5.0) == 10
    actor_system.testing.fail_next("counter", times=2)
    for n in (1, 2):
        actor_system.tell("counter", Add(n=n))
    assert actor_system.ask("counter", Add(n=3), timeout=5.0) == 13  # 1 and 2 failed, state kept
    for _ in range(2):
        expect_dead_letter(actor_system, "handler_failed", timeout=5.0)


def test_the_metrics_count_the_failed_message_as_received(actor_system):
    actor_system.spawn(Counter, name="counter")
    actor_system.testing.fail_next("counter", RuntimeError("x"))
    actor_system.tell("counter", Add(n=1))
    expect_event(actor_system, AgentRestarted, name="counter", timeout=5.0)
    actor_system.ask("counter", Add(n=1), timeout=5.0)
    agent = actor_system.metrics().agents["counter"]
    assert (agent.received, agent.failed, agent.handled) == (2, 1, 1)
    expect_dead_letter(actor_system, "handler_failed")


def test_a_fault_without_a_supervisor_budget_left_escalates_like_a_real_failure(actor_system):
    policy = RestartPolicy(max_restarts=0, within=5.0)
    actor_system.start_tree(
        SupervisorSpec("team", children=[ChildSpec(Counter, name="counter")], policy=policy)
    )
    actor_system.testing.fail_next("counter")
    actor_system.tell("counter", Add(n=1))
    escalated = expect_event(actor_system, Escalated, supervisor="team", timeout=5.0)
    assert "InjectedFault" in escalated.cause
    expect_dead_letter(actor_system, "handler_failed")


def test_fail_next_refuses_what_is_not_an_agent(actor_system, probe):
    with pytest.raises(UnknownAddress, match="'nobody': it is no agent"):
        actor_system.testing.fail_next("nobody")
    with pytest.raises(UnknownAddress, match="it is an inbox, not an agent"):
        actor_system.testing.fail_next(probe.name)
    actor_system.start_tree(SupervisorSpec("team", children=[ChildSpec(Counter, name="counter")]))
    with pytest.raises(UnknownAddress, match="it is a supervisor, not an agent"):
        actor_system.testing.fail_next("team")


def test_fail_next_refuses_bad_arguments(actor_system):
    actor_system.spawn(Counter, name="counter")
    with pytest.raises(InvalidConfig, match="times"):
        actor_system.testing.fail_next("counter", times=0)
    with pytest.raises(InvalidConfig, match="error"):
        actor_system.testing.fail_next("counter", error="boom")  # type: ignore[arg-type]
    assert actor_system.testing.pending_faults("counter") == 0


def test_the_default_error_is_injected_fault(actor_system):
    actor_system.spawn(Counter, name="counter")
    actor_system.testing.fail_next("counter")
    with pytest.raises(AgentFailed) as failure:
        actor_system.ask("counter", Add(n=1), timeout=5.0)
    assert isinstance(failure.value.__cause__, InjectedFault)
    expect_dead_letter(actor_system, "handler_failed")
