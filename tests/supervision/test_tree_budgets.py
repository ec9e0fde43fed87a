"""The budget-aware tree: each supervisor's budget use, each slot's effective tolerance, and
nested budgets that surprise, in every rendering (text, Mermaid, dict, JSON)."""

from __future__ import annotations

import json

from actors import ActorSystem, AgentRestarted
from actors.testing import expect_event
from supervision import Budget, ChildSpec, Restart, RestartPolicy, SupervisorSpec
from tests.helpers import WAIT
from tests.messages import Boom, Crashable


def three_levels(inner: RestartPolicy | None = None) -> SupervisorSpec:
    """outer (2 in 10 s) -> inner (1 in 5 s, or ``inner``) -> worker, plus a temporary one."""
    return SupervisorSpec(
        "outer",
        [
            SupervisorSpec(
                "inner",
                [ChildSpec(Crashable, name="worker")],
                policy=inner or RestartPolicy(max_restarts=1, within=5.0),
            ),
            ChildSpec(Crashable, name="once", restart=Restart.TEMPORARY),
        ],
        policy=RestartPolicy(max_restarts=2, within=10.0),
    )


def test_every_supervisor_shows_its_budget_and_every_slot_its_tolerance(system: ActorSystem):
    system.start_tree(three_levels())
    tree = system.tree()
    root, outer = tree, tree.find("outer")
    inner, worker = tree.find("inner"), tree.find("worker")
    assert root.budget == Budget(0, 3, 5.0)
    assert outer.budget == Budget(0, 2, 10.0)
    assert inner.budget == Budget(0, 1, 5.0)
    assert worker.budget is None
    # The root's children: 3 + 1 failures reach the fatal policy; each level multiplies.
    assert root.tolerance is None
    assert outer.tolerance == 4 - 1
    assert inner.tolerance == 4 * 3 - 1
    assert worker.tolerance == 4 * 3 * 2 - 1
    assert tree.find("once").tolerance is None, "a temporary child is never charged"


def test_a_restart_is_counted_against_its_supervisors_budget(system: ActorSystem):
    system.start_tree(three_levels())
    system.tell("worker", Boom())
    expect_event(system, AgentRestarted, name="worker", timeout=WAIT)
    system.supervisor("inner").children(timeout=WAIT)  # the decision has been applied
    tree = system.tree()
    assert tree.find("inner").budget == Budget(1, 1, 5.0)
    assert tree.find("outer").budget == Budget(0, 2, 10.0)
    assert "inner [supervisor] running restarts=0 mailbox=0 budget=1/1 in 5s" in str(tree)


def test_a_supervisor_restarted_after_escalating_starts_with_a_fresh_budget(
    system: ActorSystem,
):
    system.start_tree(three_levels())
    system.tell("worker", Boom())
    expect_event(system, AgentRestarted, name="worker", timeout=WAIT)
    system.tell("worker", Boom())  # over inner's budget: inner escalates, outer restarts it
    expect_event(system, AgentRestarted, name="inner", timeout=WAIT)
    system.supervisor("inner").children(timeout=WAIT)
    tree = system.tree()
    assert tree.find("inner").budget == Budget(0, 1, 5.0)
    assert tree.find("outer").budget == Budget(1, 2, 10.0)


def test_a_larger_inner_budget_in_a_shorter_window_is_flagged_everywhere(system: ActorSystem):
    system.start_tree(three_levels(inner=RestartPolicy(max_restarts=10, within=1.0)))
    tree = system.tree()
    (warning,) = tree.find("inner").warnings
    assert "10 in 1s" in warning
    assert "'outer'" in warning
    assert "2 in 10s" in warning
    assert tree.find("outer").warnings == ()
    assert f"  ! {warning}" in str(tree)
    assert warning.replace('"', "'") in tree.mermaid()
    assert tree.to_dict()["children"][0]["children"][0]["warnings"] == [warning]


def test_a_smaller_or_slower_inner_budget_is_not_flagged(system: ActorSystem):
    system.start_tree(three_levels(inner=RestartPolicy(max_restarts=10, within=60.0)))
    system.start_tree(
        SupervisorSpec(
            "calm",
            [SupervisorSpec("small", [ChildSpec(Crashable, name="w2")], policy=RestartPolicy(1))],
        )
    )
    tree = system.tree()
    assert all(not node.warnings for node, _ in tree._pairs(None))


def test_the_tree_converts_to_plain_data_and_json(system: ActorSystem):
    system.start_tree(three_levels())
    tree = system.tree()
    data = tree.to_dict()
    assert json.loads(tree.to_json()) == data
    assert json.loads(tree.to_json(indent=2)) == data
    outer = data["children"][0]
    assert outer["name"] == "outer"
    assert outer["kind"] == "supervisor"
    assert outer["budget"] == {"used": 0, "max_restarts": 2, "within": 10.0}
    assert outer["tolerance"] == 3
    worker = outer["children"][0]["children"][0]
    assert worker == {
        "name": "worker",
        "kind": "agent",
        "roles": [],
        "state": "running",
        "status": "idle",
        "restarts": 0,
        "mailbox": 0,
        "capacity": None,
        "budget": None,
        "tolerance": 23,
        "warnings": [],
        "children": [],
    }


def test_the_mermaid_graph_shows_budgets_and_tolerances(system: ActorSystem):
    system.start_tree(three_levels())
    graph = system.tree().mermaid()
    inner = next(line for line in graph.splitlines() if line.strip().startswith("n_inner(["))
    assert "budget=0/1 in 5s" in inner
    assert "tolerance=11" in inner
