"""Logs sized for big systems: one line per failure, DEBUG per agent at shutdown, short CRITICAL."""

from __future__ import annotations

import pytest

from actors import ActorSystem, AgentFailed
from supervision import RestartPolicy
from tests.helpers import WAIT
from tests.messages import Boom, Crashable


def test_stopping_many_agents_at_shutdown_logs_nothing_above_debug_per_agent(logs):
    with ActorSystem("quiet") as system:
        for n in range(50):
            system.spawn(Crashable, name=f"a{n}")
    records = logs.items()
    stopped = [r for r in records if "stopped (shutdown)" in r["message"]]
    assert len(stopped) == 51  # 50 agents and the root supervisor
    assert {r["level"].name for r in stopped} == {"DEBUG"}
    assert [r for r in records if r["level"].no >= 20 and r["extra"].get("agent")] == []


def test_a_failed_ask_is_logged_once(system, logs):
    ref = system.spawn(Crashable, name="asked")
    with pytest.raises(AgentFailed):
        ref.ask(Boom(reason="nope"), timeout=WAIT)
    records = logs.items()
    about_it = [r for r in records if r["level"].no >= 20 and r["extra"].get("agent") == "asked"]
    about_it += [r for r in records if "dead letter" in r["message"]]
    assert len(about_it) == 1, [r["message"] for r in about_it]
    assert about_it[0]["exception"] is not None  # the one line carries the traceback


def test_a_fatal_failure_names_its_cause_chain_in_a_few_lines_at_critical(logs):
    system = ActorSystem("doomed", root_policy=RestartPolicy(max_restarts=0))
    system.spawn(Crashable, name="fragile")
    system.tell("fragile", Boom(reason="the disk is full"))
    assert system.wait(WAIT)
    records = logs.items()
    [critical] = [r for r in records if r["level"].name == "CRITICAL"]
    lines = critical["message"].splitlines()
    assert len(lines) <= 8
    assert critical["exception"] is None
    assert "EscalationError" in lines[1]
    assert "RuntimeError: the disk is full" in lines[-1]
    tracebacks = [r for r in records if r["level"].name == "DEBUG" and r["exception"]]
    assert tracebacks, "the full traceback must still be logged, at DEBUG"
    assert system.shutdown(timeout=WAIT)
