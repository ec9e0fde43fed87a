"""The slot lifecycle: one written table of legal transitions, enforced, and every change seen."""

from __future__ import annotations

import pytest
from loguru import logger

from actors import ActorSystem, LifecycleChanged, _lifecycle
from actors._lifecycle import TRANSITIONS, IllegalTransition, SlotState
from tests.helpers import WAIT, record_events
from tests.messages import Boom, Crashable


def test_closed_is_final_and_every_other_state_can_close():
    assert TRANSITIONS[SlotState.CLOSED] == frozenset()
    for state in SlotState:
        if state is not SlotState.CLOSED:
            assert SlotState.CLOSED in TRANSITIONS[state], state


def test_every_state_is_reachable_from_new():
    seen = {SlotState.NEW}
    frontier = [SlotState.NEW]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(SlotState)


def test_an_illegal_transition_raises_in_strict_mode_and_leaves_the_state(system: ActorSystem):
    ref = system.spawn(Crashable, name="a")
    slot = ref._slot
    assert slot.state is SlotState.RUNNING
    with pytest.raises(IllegalTransition, match="running -> new"):
        slot.transition(SlotState.NEW)
    assert slot.state is SlotState.RUNNING
    assert _lifecycle.illegal_transitions == [("a", SlotState.RUNNING, SlotState.NEW)]
    _lifecycle.illegal_transitions.clear()  # expected here: the autouse check must not fail


def test_an_illegal_transition_is_logged_at_error_outside_strict_mode(
    system: ActorSystem, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(_lifecycle, "strict", False)
    ref = system.spawn(Crashable, name="a")
    lines: list[str] = []
    sink = logger.add(lines.append, level="ERROR", format="{level} {message}")
    try:
        assert ref._slot.transition(SlotState.STARTING) is False
    finally:
        logger.remove(sink)
    assert ref._slot.state is SlotState.RUNNING
    assert any("ERROR" in line and "running -> starting" in line for line in lines), lines
    _lifecycle.illegal_transitions.clear()


def test_the_same_state_again_is_no_change_and_publishes_nothing(system: ActorSystem):
    ref = system.spawn(Crashable, name="a")
    journal = record_events(system, LifecycleChanged)
    assert ref._slot.transition(SlotState.RUNNING) is False
    assert ref._slot.transition(SlotState.STOPPED) is True  # a legal change is published
    assert [(e.previous, e.state) for e in journal.items()] == [("running", "stopped")]


def test_a_start_a_crash_a_restart_and_a_stop_publish_each_change_in_order(system: ActorSystem):
    journal = record_events(system, LifecycleChanged)
    ref = system.spawn(Crashable, name="a")
    ref.tell(Boom())
    journal.wait_for(lambda items: sum(e.previous == "starting" for e in items) == 2, WAIT)
    assert ref.stop(timeout=WAIT)
    journal.wait_for(lambda items: any(e.state == "closed" for e in items), WAIT)
    changes = [(e.previous, e.state) for e in journal.items() if e.name == "a"]
    assert changes == [
        ("new", "starting"),
        ("starting", "running"),
        ("running", "suspended"),
        ("suspended", "restarting"),
        ("restarting", "starting"),
        ("starting", "running"),
        ("running", "stopped"),
        ("stopped", "closed"),
    ]
    assert all(e.kind == "agent" for e in journal.items() if e.name == "a")
