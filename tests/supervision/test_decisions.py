"""Supervision's pure decisions, without threads: budget, strategies, restart types, backoff."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors import InvalidConfig
from supervision import (
    ESCALATE,
    RESTART,
    Backoff,
    Directive,
    Restart,
    RestartPolicy,
    Strategy,
    add_restart,
    affected,
    default_decider,
    should_restart,
)

# -- add_restart: the sliding-window budget -------------------------------------------------------


def test_add_restart_allows_max_restarts_in_the_window_and_refuses_the_next():
    history: tuple[float, ...] = ()
    verdicts = []
    for now in (10.0, 10.5, 11.0, 11.5):
        allowed, history = add_restart(history, now, 3, 5.0)
        verdicts.append(allowed)
    assert verdicts == [True, True, True, False]
    assert history == (10.0, 10.5, 11.0, 11.5)


def test_add_restart_with_a_zero_budget_refuses_the_first_restart():
    allowed, history = add_restart((), 1.0, 0, 5.0)
    assert allowed is False
    assert history == (1.0,)


def test_add_restart_drops_restarts_exactly_one_window_old():
    allowed, history = add_restart((100.0,), 105.0, 1, 5.0)
    assert allowed is True
    assert history == (105.0,)


def test_add_restart_keeps_restarts_just_inside_the_window():
    allowed, history = add_restart((100.0,), 104.999, 1, 5.0)
    assert allowed is False
    assert history == (100.0, 104.999)


def test_add_restart_keeps_only_the_restarts_still_in_the_window_oldest_first():
    _, history = add_restart((1.0, 2.0, 7.0, 8.0), 10.0, 10, 5.0)
    assert history == (7.0, 8.0, 10.0)


def test_add_restart_does_not_modify_the_history_it_is_given():
    history = (1.0, 2.0)
    add_restart(history, 3.0, 5, 5.0)
    assert history == (1.0, 2.0)


def _reference_verdicts(times: list[float], max_restarts: int, within: float) -> list[bool]:
    """The obvious model: restart i is allowed if at most max_restarts attempts (it included)
    happened in the ``within`` seconds up to it. Every attempt is charged, allowed or not."""
    verdicts = []
    for i, now in enumerate(times):
        in_window = sum(1 for t in times[: i + 1] if now - t < within)
        verdicts.append(in_window <= max_restarts)
    return verdicts


@settings(database=None, max_examples=300)
@given(
    gaps=st.lists(
        st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5]) | st.floats(0, 10),
        max_size=40,
    ),
    max_restarts=st.integers(min_value=0, max_value=6),
    within=st.sampled_from([0.5, 1.0, 2.0, 5.0, 10.0]) | st.floats(0.01, 30),
)
def test_add_restart_agrees_with_a_reference_model_of_the_sliding_window(
    gaps, max_restarts, within
):
    times = []
    now = 1000.0
    for gap in gaps:
        now += gap
        times.append(now)
    history: tuple[float, ...] = ()
    verdicts = []
    for t in times:
        allowed, history = add_restart(history, t, max_restarts, within)
        verdicts.append(allowed)
        assert history[-1] == t
        assert all(t - kept < within for kept in history)
        assert list(history) == sorted(history)
    assert verdicts == _reference_verdicts(times, max_restarts, within)


# -- affected: what a strategy restarts -----------------------------------------------------------

CHILDREN = ["a", "b", "c", "d"]


@pytest.mark.parametrize("failed", CHILDREN)
def test_one_for_one_affects_only_the_failed_child(failed):
    assert affected(Strategy.ONE_FOR_ONE, CHILDREN, failed) == [failed]


@pytest.mark.parametrize("failed", CHILDREN)
def test_one_for_all_affects_every_child_in_start_order(failed):
    assert affected(Strategy.ONE_FOR_ALL, CHILDREN, failed) == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    ("failed", "expected"),
    [("a", ["a", "b", "c", "d"]), ("b", ["b", "c", "d"]), ("c", ["c", "d"]), ("d", ["d"])],
)
def test_rest_for_one_affects_the_failed_child_and_those_started_after_it(failed, expected):
    assert affected(Strategy.REST_FOR_ONE, CHILDREN, failed) == expected


def test_affected_returns_a_new_list_that_does_not_alias_the_children():
    children = ["a", "b"]
    result = affected(Strategy.ONE_FOR_ALL, children, "a")
    result.append("x")
    assert children == ["a", "b"]


def test_affected_raises_value_error_for_a_child_that_is_not_there():
    with pytest.raises(ValueError, match="zzz"):
        affected(Strategy.ONE_FOR_ONE, CHILDREN, "zzz")


def test_affected_compares_children_by_identity_of_the_objects_given():
    first, second = object(), object()
    assert affected(Strategy.REST_FOR_ONE, [first, second], second) == [second]


# -- should_restart: restart types ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("restart", "abnormal", "expected"),
    [
        (Restart.PERMANENT, True, True),
        (Restart.PERMANENT, False, True),
        (Restart.TRANSIENT, True, True),
        (Restart.TRANSIENT, False, False),
        (Restart.TEMPORARY, True, False),
        (Restart.TEMPORARY, False, False),
    ],
)
def test_should_restart_follows_the_restart_type_and_how_the_child_ended(
    restart, abnormal, expected
):
    assert should_restart(restart, abnormal=abnormal) is expected


# -- Backoff.delay --------------------------------------------------------------------------------


def test_backoff_without_jitter_doubles_from_min_and_caps_at_max():
    backoff = Backoff(min=1.0, max=10.0, jitter=0.0)
    assert [backoff.delay(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_backoff_never_overflows_for_a_huge_attempt_number():
    backoff = Backoff(min=0.5, max=30.0, jitter=0.0)
    assert backoff.delay(10_000) == 30.0


def test_backoff_with_min_zero_never_waits():
    assert Backoff(min=0.0, max=5.0, jitter=0.0).delay(7) == 0.0


def test_backoff_jitter_stays_within_its_fraction_of_the_base_delay():
    backoff = Backoff(min=1.0, max=100.0, jitter=0.25)
    rng = random.Random(1234)
    delays = [backoff.delay(2, rng) for _ in range(500)]
    assert all(3.0 <= d <= 5.0 for d in delays)
    assert len(set(delays)) > 1, "jitter must actually spread the delays"


def test_backoff_jitter_is_reproducible_with_a_seeded_rng():
    backoff = Backoff(min=1.0, max=10.0, jitter=0.5)
    first = [backoff.delay(n, random.Random(7)) for n in range(5)]
    second = [backoff.delay(n, random.Random(7)) for n in range(5)]
    assert first == second


@settings(database=None, max_examples=200)
@given(
    low=st.floats(0, 50),
    extra=st.floats(0, 50),
    jitter=st.floats(0, 1),
    attempt=st.integers(0, 200),
    seed=st.integers(0, 2**32 - 1),
)
def test_backoff_delay_is_never_negative_and_never_beyond_max_plus_jitter(
    low, extra, jitter, attempt, seed
):
    backoff = Backoff(min=low, max=low + extra, jitter=jitter)
    delay = backoff.delay(attempt, random.Random(seed))
    assert math.isfinite(delay)
    assert 0.0 <= delay <= backoff.max * (1.0 + jitter) + 1e-9


@pytest.mark.parametrize(
    "backoff",
    [
        Backoff(min=2.0, max=1.0),
        Backoff(min=-1.0),
        Backoff(max=math.inf),
        Backoff(jitter=1.5),
        Backoff(reset_after=0.0),
    ],
)
def test_backoff_reports_out_of_range_settings(backoff):
    assert backoff.problems()


def test_sane_backoff_and_policy_report_no_problems():
    assert Backoff().problems() == []
    assert RestartPolicy(backoff=Backoff(min=1.0, max=10.0, jitter=0.0)).problems() == []


@pytest.mark.parametrize(
    "policy",
    [
        RestartPolicy(max_restarts=-1),
        RestartPolicy(max_restarts=True),
        RestartPolicy(max_restarts=2.5),  # type: ignore[arg-type]
        RestartPolicy(within=0),
        RestartPolicy(within=math.nan),
        RestartPolicy(decider="restart"),  # type: ignore[arg-type]
        RestartPolicy(backoff=Backoff(min=5.0, max=1.0)),
    ],
)
def test_restart_policy_reports_out_of_range_settings(policy):
    assert policy.problems()


def test_restart_policy_defaults_are_three_restarts_in_five_seconds_without_backoff():
    policy = RestartPolicy()
    assert (policy.max_restarts, policy.within, policy.backoff) == (3, 5.0, None)
    assert policy.decider is default_decider


# -- the default decider --------------------------------------------------------------------------


@pytest.mark.parametrize("error", [RuntimeError("x"), ValueError("x"), InvalidConfig("x")])
def test_the_default_decider_restarts_on_any_exception(error):
    assert default_decider(error) is RESTART


@pytest.mark.parametrize("error", [SystemExit(1), KeyboardInterrupt(), GeneratorExit()])
def test_the_default_decider_escalates_anything_that_is_not_an_exception(error):
    assert default_decider(error) is ESCALATE


def test_directive_constants_are_the_enum_members():
    assert [d.value for d in Directive] == ["restart", "resume", "stop", "escalate"]
