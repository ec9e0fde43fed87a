"""RestartPolicy(reset_on_success=True): a success after a restart takes it out of the window."""

from __future__ import annotations

import pytest

from actors import ActorSystem, AgentRestarted, Escalated
from supervision import ChildSpec, InvalidTree, RestartPolicy, SupervisorSpec
from tests.helpers import WAIT, record_events
from tests.messages import Boom, Crashable, Ping


class Worker(Crashable):
    """Fails on Boom; answers Ping (a successful message)."""


def crash_and_recover(system: ActorSystem, rounds: int, *, succeed: bool) -> None:
    restarted = record_events(system, AgentRestarted)
    for n in range(rounds):
        system.tell("w", Boom())
        restarted.wait_len(n + 1)
        if succeed:
            assert system.ask("w", Ping(), timeout=WAIT) is not None


def tree(reset: bool) -> SupervisorSpec:
    return SupervisorSpec(
        "team",
        [ChildSpec(Worker, name="w")],
        policy=RestartPolicy(max_restarts=2, within=600, reset_on_success=reset),
    )


def test_with_reset_on_success_restarts_separated_by_successes_never_escalate():
    with ActorSystem("forgiving", root_policy=RestartPolicy(max_restarts=0)) as system:
        escalated = record_events(system, Escalated)
        system.start_tree(tree(reset=True))
        crash_and_recover(system, 6, succeed=True)
        assert escalated.items() == []
        assert system.tree().find("team").budget.used <= 1
        assert system.failure is None


def test_without_a_success_in_between_the_budget_still_runs_out():
    with ActorSystem("strict-anyway", root_policy=RestartPolicy(max_restarts=0)) as system:
        escalated = record_events(system, Escalated)
        system.start_tree(tree(reset=True))
        crash_and_recover(system, 2, succeed=False)
        system.tell("w", Boom())
        escalated.wait_len(1)
        assert system.wait(WAIT)


def test_the_default_sliding_window_counts_every_restart_successes_or_not():
    with ActorSystem("erlang", root_policy=RestartPolicy(max_restarts=0)) as system:
        escalated = record_events(system, Escalated)
        system.start_tree(tree(reset=False))
        crash_and_recover(system, 2, succeed=True)
        system.tell("w", Boom())
        escalated.wait_len(1)
        assert system.wait(WAIT)


def test_reset_on_success_must_be_a_bool(system: ActorSystem):
    with pytest.raises(InvalidTree, match="reset_on_success"):
        system.start_tree(
            SupervisorSpec("bad", [], policy=RestartPolicy(reset_on_success="yes"))  # type: ignore[arg-type]
        )
