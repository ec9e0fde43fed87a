"""Trees: starting (and failing to start), validation, SupervisorRef, snapshots and death watch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actors import (
    ActorSystem,
    AgentRef,
    AgentRestarted,
    AgentStopped,
    ExitReason,
    InvalidConfig,
    Mailbox,
    StartFailed,
    Terminated,
    UnknownAddress,
)
from actors.testing import TestProbe, expect_event
from supervision import (
    Backoff,
    ChildInfo,
    ChildSpec,
    InvalidTree,
    RestartPolicy,
    SupervisorRef,
    SupervisorSpec,
)
from tests.helpers import WAIT, Journal, Watcher, park, record_events
from tests.messages import Boom, Crashable, Note, Parkable, Ping, Watch


class Member(Crashable):
    """Records on_start / on_stop as ``"<name>.<hook>"``; fails to start if told to."""

    def __init__(self, journal: Journal, *, broken: bool = False) -> None:
        super().__init__()
        self.journal = journal
        self.broken = broken

    def on_start(self) -> None:
        self.journal.add(f"{self.name}.on_start")
        if self.broken:
            raise ValueError(f"{self.name} has no config")

    def on_stop(self) -> None:
        self.journal.add(f"{self.name}.on_stop")


class Parked(Member, Parkable):
    """A Member that a Block message parks on a gate."""


def causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__
    return chain


# -- a tree that fails to start -------------------------------------------------------------------


def failing_tree(journal: Journal) -> SupervisorSpec:
    return SupervisorSpec(
        "team",
        [
            ChildSpec(Member, journal, name="first"),
            SupervisorSpec(
                "crew",
                [ChildSpec(Member, journal, name="deck"), ChildSpec(Member, journal, name="hold")],
            ),
            ChildSpec(Member, journal, name="broken", broken=True),
            ChildSpec(Member, journal, name="never"),
        ],
    )


def test_a_tree_whose_child_fails_to_start_raises_start_failed_with_the_cause(system):
    with pytest.raises(StartFailed) as info:
        system.start_tree(failing_tree(Journal()))
    chain = causes(info.value)
    assert isinstance(chain[-1], ValueError)
    assert str(chain[-1]) == "broken has no config"
    assert "broken" in {getattr(e, "agent", None) for e in chain}


def test_a_failed_tree_start_stops_the_started_children_in_reverse_order(system):
    journal = Journal()
    with pytest.raises(StartFailed):
        system.start_tree(failing_tree(journal))
    assert journal.items() == [
        "first.on_start",
        "deck.on_start",
        "hold.on_start",
        "broken.on_start",
        "hold.on_stop",
        "deck.on_stop",
        "first.on_stop",
    ]


def test_a_failed_tree_start_retries_nothing_and_charges_no_budget():
    journal = Journal()
    fatal = Journal()
    with ActorSystem(
        "strict", root_policy=RestartPolicy(max_restarts=0), on_fatal=fatal.add
    ) as system:
        restarted = record_events(system, AgentRestarted)
        with pytest.raises(StartFailed):
            system.start_tree(failing_tree(journal))
        assert journal.items().count("broken.on_start") == 1
        assert restarted.items() == []
        assert system.failure is None
        assert not system.wait(0)
        assert system.spawn(Member, journal, name="after").ask(Ping(), timeout=WAIT) == 0
    assert fatal.items() == []


def test_a_failed_tree_start_frees_every_name(system):
    with pytest.raises(StartFailed):
        system.start_tree(failing_tree(Journal()))
    assert system.agents() == []
    assert system.tree().children == ()
    for name in ("team", "crew", "first", "deck", "hold", "broken", "never"):
        assert system.tell(name, Note()) == 0
    journal = Journal()
    sup = system.start_tree(
        SupervisorSpec(
            "team",
            [
                ChildSpec(Member, journal, name="first"),
                SupervisorSpec("crew", [ChildSpec(Member, journal, name="deck")]),
                ChildSpec(Member, journal, name="broken"),
            ],
        )
    )
    assert [c.name for c in sup.children()] == ["first", "crew", "broken"]
    assert system.ask("broken", Ping(), timeout=WAIT) == 0


def test_children_of_a_tree_start_one_at_a_time_in_spec_order(system):
    journal = Journal()
    system.start_tree(
        SupervisorSpec(
            "team",
            [
                ChildSpec(Member, journal, name="one"),
                SupervisorSpec("inner", [ChildSpec(Member, journal, name="two")]),
                ChildSpec(Member, journal, name="three"),
            ],
        )
    )
    assert journal.items() == ["one.on_start", "two.on_start", "three.on_start"]


# -- invalid trees --------------------------------------------------------------------------------


def _cycle() -> SupervisorSpec:
    outer = SupervisorSpec("outer")
    inner = SupervisorSpec("inner", [outer])
    outer.children = (inner,)
    return outer


def _invalid_specs(journal: Journal) -> dict[str, Callable[[], SupervisorSpec]]:
    def child(name: str, **options: Any) -> ChildSpec:
        return ChildSpec(Member, journal, name=name, **options)

    return {
        "duplicate names in the tree": lambda: SupervisorSpec("t", [child("a"), child("a")]),
        "a child named like its supervisor": lambda: SupervisorSpec("t", [child("t")]),
        "duplicate across subtrees": lambda: SupervisorSpec(
            "t", [child("a"), SupervisorSpec("u", [child("a")])]
        ),
        "a name taken by a running agent": lambda: SupervisorSpec("t", [child("taken")]),
        "an invalid child name": lambda: SupervisorSpec("t", [child("Bad Name")]),
        "an invalid supervisor name": lambda: SupervisorSpec("Bad Name", [child("a")]),
        "an invalid role": lambda: SupervisorSpec("t", [child("a", roles=("Not A Role",))]),
        "a cycle": _cycle,
        "max_restarts=-1": lambda: SupervisorSpec(
            "t", [child("a")], policy=RestartPolicy(max_restarts=-1)
        ),
        "within=0": lambda: SupervisorSpec("t", [child("a")], policy=RestartPolicy(within=0)),
        "child shutdown_timeout=0": lambda: SupervisorSpec("t", [child("a", shutdown_timeout=0)]),
        "supervisor shutdown_timeout=0": lambda: SupervisorSpec(
            "t", [child("a")], shutdown_timeout=0
        ),
        "start_timeout=0": lambda: SupervisorSpec("t", [child("a", start_timeout=0)]),
        "backoff max < min": lambda: SupervisorSpec(
            "t", [child("a")], policy=RestartPolicy(backoff=Backoff(min=5.0, max=1.0))
        ),
        "retry_failed=-1": lambda: SupervisorSpec("t", [child("a", retry_failed=-1)]),
        "max_messages=0": lambda: SupervisorSpec("t", [child("a", max_messages=0)]),
        "a bad sub-supervisor deep down": lambda: SupervisorSpec(
            "t",
            [child("a"), SupervisorSpec("u", [child("b")], policy=RestartPolicy(within=-1.0))],
        ),
        "not a spec": lambda: SupervisorSpec("t", [child("a"), "b"]),  # type: ignore[list-item]
    }


@pytest.mark.parametrize("case", list(_invalid_specs(Journal())))
def test_an_invalid_tree_raises_invalid_tree_and_starts_nothing(system, case):
    journal = Journal()
    existing = system.spawn(Member, journal, name="taken")
    journal.clear()
    spec = _invalid_specs(journal)[case]()
    with pytest.raises(InvalidTree) as info:
        system.start_tree(spec)
    assert isinstance(info.value, InvalidConfig)
    assert info.value.problem == str(info.value)
    assert journal.items() == []
    assert [r.name for r in system.agents()] == ["taken"]
    assert [node.name for node in system.tree().children] == ["taken"]
    assert existing.ask(Ping(), timeout=WAIT) == 0


def test_an_invalid_tree_names_the_problem(system):
    spec = SupervisorSpec("t", [ChildSpec(Member, Journal(), name="x")] * 2)
    with pytest.raises(InvalidTree, match=r"'x'.*more than once"):
        system.start_tree(spec)


def test_a_cycle_is_reported_as_a_cycle_naming_the_path(system):
    with pytest.raises(InvalidTree, match=r"cycle.*outer -> inner -> outer"):
        system.start_tree(_cycle())


def test_roles_given_as_a_plain_string_are_refused_when_the_spec_is_made():
    with pytest.raises(InvalidTree):
        ChildSpec(Member, Journal(), name="a", roles="coder")


def test_names_of_an_invalid_tree_stay_free(system):
    with pytest.raises(InvalidTree):
        system.start_tree(
            SupervisorSpec("t", [ChildSpec(Member, Journal(), name="a")], shutdown_timeout=0)
        )
    sup = system.start_tree(SupervisorSpec("t", [ChildSpec(Member, Journal(), name="a")]))
    assert [c.name for c in sup.children()] == ["a"]


# -- SupervisorRef --------------------------------------------------------------------------------


def team(system: ActorSystem, journal: Journal) -> SupervisorRef:
    return system.start_tree(
        SupervisorSpec(
            "team",
            [
                ChildSpec(Member, journal, name="lead", roles=("lead",)),
                SupervisorSpec("crew", [ChildSpec(Member, journal, name="deck")]),
            ],
            policy=RestartPolicy(max_restarts=0),
        )
    )


def test_start_tree_returns_a_supervisor_ref_that_lists_its_children_in_start_order(system):
    sup = team(system, Journal())
    assert isinstance(sup, SupervisorRef)
    assert sup.name == "team"
    assert sup.is_alive()
    assert sup.children() == [
        ChildInfo("lead", "agent", "running", 0, ("lead",)),
        ChildInfo("crew", "supervisor", "running", 0, ()),
    ]
    assert system.supervisor("team") == sup


def test_supervisor_ref_spawn_adds_and_starts_an_agent_last(system):
    journal = Journal()
    sup = team(system, journal)
    journal.clear()
    ref = sup.spawn(ChildSpec(Member, journal, name="extra", roles=("helper",)))
    assert isinstance(ref, AgentRef)
    assert journal.items() == ["extra.on_start"]
    assert [c.name for c in sup.children()] == ["lead", "crew", "extra"]
    assert system.ask("role:helper", Ping(), timeout=WAIT) == 0
    assert sup.child("extra") == ref


def test_supervisor_ref_spawn_of_a_supervisor_spec_returns_a_supervisor_ref(system):
    journal = Journal()
    sup = team(system, journal)
    sub = sup.spawn(SupervisorSpec("sub", [ChildSpec(Member, journal, name="inner")]))
    assert isinstance(sub, SupervisorRef)
    assert [c.name for c in sub.children()] == ["inner"]
    assert system.ask("inner", Ping(), timeout=WAIT) == 0


def test_supervisor_ref_spawn_refuses_a_taken_name_and_starts_nothing(system):
    journal = Journal()
    sup = team(system, journal)
    journal.clear()
    with pytest.raises(InvalidTree):
        sup.spawn(ChildSpec(Member, journal, name="deck"))
    assert journal.items() == []
    assert [c.name for c in sup.children()] == ["lead", "crew"]


def test_supervisor_ref_spawn_of_a_child_that_fails_to_start_raises_and_frees_the_name(system):
    journal = Journal()
    sup = team(system, journal)
    with pytest.raises(StartFailed):
        sup.spawn(ChildSpec(Member, journal, name="extra", broken=True))
    assert [c.name for c in sup.children()] == ["lead", "crew"]
    assert system.tell("extra", Note()) == 0
    sup.spawn(ChildSpec(Member, journal, name="extra"))
    assert system.ask("extra", Ping(), timeout=WAIT) == 0


def test_supervisor_ref_stop_child_stops_it_for_good(system):
    journal = Journal()
    sup = team(system, journal)
    probe = TestProbe(system)
    probe.watch("lead")
    journal.clear()
    assert sup.stop_child("lead") is True
    assert journal.items() == ["lead.on_stop"]
    assert [c.name for c in sup.children()] == ["crew"]
    assert probe.expect_terminated("lead", timeout=WAIT).reason == ExitReason.NORMAL
    with pytest.raises(UnknownAddress):
        system.ref("lead")


def test_supervisor_ref_stop_child_of_a_sub_supervisor_stops_its_whole_subtree(system):
    journal = Journal()
    sup = team(system, journal)
    journal.clear()
    assert sup.stop_child("crew") is True
    assert journal.items() == ["deck.on_stop"]
    assert [c.name for c in sup.children()] == ["lead"]
    assert system.tell("deck", Note()) == 0


def test_supervisor_ref_stop_child_of_an_unknown_name_returns_false(system):
    sup = team(system, Journal())
    assert sup.stop_child("ghost") is False
    assert sup.stop_child("deck") is False, "deck is a grandchild, not a child"
    assert [c.name for c in sup.children()] == ["lead", "crew"]


def test_supervisor_ref_restart_child_restarts_it_without_charging_the_budget(system):
    journal = Journal()
    sup = team(system, journal)  # max_restarts=0: any charged restart would escalate
    ref = system.ref("lead")
    journal.clear()
    assert sup.restart_child("lead") is True
    assert sup.restart_child("lead") is True
    assert journal.items() == ["lead.on_stop", "lead.on_start"] * 2
    assert ref.ask(Ping(), timeout=WAIT) == 2
    assert sup.children()[0] == ChildInfo("lead", "agent", "running", 2, ("lead",))
    assert system.failure is None


def test_supervisor_ref_restart_child_of_an_unknown_name_returns_false(system):
    sup = team(system, Journal())
    assert sup.restart_child("ghost") is False


def test_supervisor_ref_stop_stops_the_supervisor_and_its_subtree(system):
    journal = Journal()
    sup = team(system, journal)
    journal.clear()
    assert sup.stop() is True
    assert not sup.is_alive()
    assert journal.items() == ["deck.on_stop", "lead.on_stop"]
    assert system.agents() == []


def test_a_child_stuck_past_its_shutdown_timeout_is_abandoned_and_its_siblings_still_stop(
    system,
):
    journal = Journal()
    sup = system.start_tree(
        SupervisorSpec(
            "team",
            [
                ChildSpec(Member, journal, name="a"),
                ChildSpec(Parked, journal, name="stuck", shutdown_timeout=0.2),
                ChildSpec(Member, journal, name="c"),
            ],
        )
    )
    release = park(system.ref("stuck"), "stuck")
    journal.clear()
    try:
        assert sup.stop(timeout=WAIT) is True
        assert journal.items() == ["c.on_stop", "a.on_stop"]
        assert system.agents() == []
    finally:
        release.set()


# -- snapshots ------------------------------------------------------------------------------------


def snapshot_tree(system: ActorSystem):
    """team(lead, crew(deck)) with deck restarted once and lead parked with two queued notes."""
    journal = Journal()
    system.start_tree(
        SupervisorSpec(
            "team",
            [
                ChildSpec(Parked, journal, name="lead", roles=("lead", "coder")),
                SupervisorSpec("crew", [ChildSpec(Member, journal, name="deck")]),
            ],
        )
    )
    system.tell("deck", Boom())
    expect_event(system, AgentRestarted, name="deck", timeout=WAIT)
    system.supervisor("crew").children(timeout=WAIT)
    release = park(system.ref("lead"), "lead")
    system.tell("lead", Note())
    system.tell("lead", Note())
    return release


def test_the_tree_snapshot_shows_names_kinds_states_restarts_roles_and_mailbox_depth(system):
    release = snapshot_tree(system)
    try:
        tree = system.tree()
    finally:
        release.set()
    assert tree.name == "root"
    [team_node] = tree.children
    lead, crew = team_node.children
    assert (team_node.name, team_node.kind, team_node.state) == ("team", "supervisor", "running")
    assert (lead.name, lead.kind, lead.roles, lead.mailbox, lead.restarts) == (
        "lead",
        "agent",
        ("coder", "lead"),
        2,
        0,
    )
    deck = tree.find("deck")
    assert deck is crew.children[0]
    assert (deck.kind, deck.state, deck.restarts, deck.mailbox) == ("agent", "running", 1, 0)
    assert tree.find("nobody") is None


def test_the_tree_renders_as_indented_text(system):
    release = snapshot_tree(system)
    try:
        text = str(system.tree())
    finally:
        release.set()
    # Default budgets (3 restarts in 5 s) at every level: a child of the root tolerates 3
    # failures, one level down 4 * 4 - 1 = 15, two levels down 4 * 4 * 4 - 1 = 63.
    assert text.splitlines() == [
        "root [supervisor] running restarts=0 mailbox=0 budget=0/3 in 5s",
        "  team [supervisor] running restarts=0 mailbox=0 budget=0/3 in 5s tolerance=3",
        "    lead [agent] running restarts=0 mailbox=2 roles=coder,lead tolerance=15",
        "    crew [supervisor] running restarts=0 mailbox=0 budget=1/3 in 5s tolerance=15",
        "      deck [agent] running restarts=1 mailbox=0 tolerance=63",
    ]


def test_the_tree_renders_as_a_mermaid_graph_with_every_slot_and_edge(system):
    release = snapshot_tree(system)
    try:
        graph = system.tree().mermaid()
    finally:
        release.set()
    lines = graph.splitlines()
    assert lines[0] == "graph TD"
    nodes = {line.split('"')[0].strip(): line for line in lines[1:] if "-->" not in line}
    assert set(nodes) == {"n_root([", "n_team([", "n_crew([", "n_lead[", "n_deck["}
    assert nodes["n_team(["].endswith('"])'), "supervisors are rounded boxes"
    assert nodes["n_deck["].endswith('"]')
    assert "team<br/>running" in nodes["n_team(["]
    assert "restarts=1" in nodes["n_deck["]
    assert "restarts=0" in nodes["n_lead["]
    for edge in ("n_root --> n_team", "n_team --> n_lead", "n_team --> n_crew"):
        assert f"    {edge}" in lines
    assert "    n_crew --> n_deck" in lines
    assert sum(1 for line in lines if "-->" in line) == 4


def test_the_mermaid_graph_shows_roles_and_mailbox_depth_too(system):
    release = snapshot_tree(system)
    try:
        graph = system.tree().mermaid()
    finally:
        release.set()
    [lead_line] = [line for line in graph.splitlines() if line.strip().startswith("n_lead[")]
    assert "coder" in lead_line
    assert "lead" in lead_line.split("<br/>", 1)[1], "roles belong in the label"
    assert "mailbox=2" in lead_line


def test_the_snapshot_shows_the_capacity_of_a_bounded_mailbox(system):
    system.start_tree(
        SupervisorSpec(
            "team", [ChildSpec(Member, Journal(), name="small", mailbox=Mailbox(capacity=8))]
        )
    )
    node = system.tree().find("small")
    assert node.capacity == 8
    assert "mailbox=0/8" in str(system.tree())


# -- death watch ----------------------------------------------------------------------------------


def watch_setup(system: ActorSystem) -> tuple[SupervisorRef, Journal]:
    notices = Journal()
    sup = system.start_tree(
        SupervisorSpec(
            "team",
            [ChildSpec(Member, Journal(), name="target"), ChildSpec(Watcher, notices, name="w")],
        )
    )
    system.ask("w", Watch(name="target"), timeout=WAIT)
    return sup, notices


def test_watch_delivers_terminated_when_the_agent_stops_for_good(system):
    sup, notices = watch_setup(system)
    assert sup.stop_child("target") is True
    assert notices.wait_len(1) == [Terminated(name="target", reason=ExitReason.NORMAL)]


def test_watch_delivers_terminated_at_once_for_an_agent_already_gone(system):
    _, notices = watch_setup(system)
    system.ask("w", Watch(name="ghost"), timeout=WAIT)
    assert notices.wait_len(1) == [Terminated(name="ghost", reason=ExitReason.NOT_FOUND)]


def test_a_restart_is_not_a_termination_for_watchers(system):
    sup, notices = watch_setup(system)
    system.tell("target", Boom())
    expect_event(system, AgentRestarted, name="target", timeout=WAIT)
    sup.stop_child("target")
    assert notices.wait_len(1) == [Terminated(name="target", reason=ExitReason.NORMAL)]
    system.ask("w", Watch(name="ghost"), timeout=WAIT)  # queued after any stray notice
    assert notices.wait_len(2)[1:] == [Terminated(name="ghost", reason=ExitReason.NOT_FOUND)]


def test_watch_reports_the_reason_an_agent_stopped_for(system):
    notices = Journal()
    sup = system.start_tree(
        SupervisorSpec(
            "team",
            [
                ChildSpec(Member, Journal(), name="target", max_messages=1),
                ChildSpec(Watcher, notices, name="w"),
            ],
        )
    )
    system.ask("w", Watch(name="target"), timeout=WAIT)
    system.tell("target", Ping())
    assert notices.wait_len(1) == [Terminated(name="target", reason=ExitReason.MAX_MESSAGES)]
    assert [c.name for c in sup.children(timeout=WAIT)] == ["w"]


def test_a_watcher_still_gets_terminated_after_it_was_restarted_itself(system):
    sup, notices = watch_setup(system)
    system.testing.fail_next("w", RuntimeError("boom"))
    system.tell("w", Watch(name="ghost"))  # fails instead of being handled
    expect_event(system, AgentRestarted, name="w", timeout=WAIT)
    sup.stop_child("target")
    assert notices.wait_len(1) == [Terminated(name="target", reason=ExitReason.NORMAL)]


def test_a_stopped_agent_publishes_agent_stopped_with_its_reason(system):
    sup = system.start_tree(SupervisorSpec("team", [ChildSpec(Member, Journal(), name="gone")]))
    sup.stop_child("gone")
    expect_event(system, AgentStopped, name="gone", reason=ExitReason.NORMAL, timeout=WAIT)
