"""The supervisor's planner (`plan`), without threads: each event, override, backoff and
escalation as a returned value, then a state machine against a reference model of OTP's
supervisor."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from actors import ExitReason
from supervision import (
    ESCALATE,
    RESTART,
    RESUME,
    STOP,
    Backoff,
    ChildBackoff,
    ChildExit,
    ChildFailure,
    Decision,
    Directive,
    Escalation,
    Restart,
    RestartFailure,
    RestartPolicy,
    StartDue,
    StopRequest,
    Strategy,
    SupervisorEvent,
    SupervisorState,
    plan,
)

PERMANENT, TRANSIENT, TEMPORARY = Restart.PERMANENT, Restart.TRANSIENT, Restart.TEMPORARY
NOW = 100.0
BOOM = RuntimeError("boom")


def decide(
    event: SupervisorEvent,
    children: dict[str, Restart] | None = None,
    *,
    state: SupervisorState | None = None,
    strategy: Strategy = Strategy.ONE_FOR_ONE,
    policy: RestartPolicy | None = None,
    now: float = NOW,
    backoff_delay: Callable[[int], float] | None = None,
) -> Decision:
    return plan(
        state if state is not None else SupervisorState(),
        event,
        children if children is not None else {"a": PERMANENT},
        strategy=strategy,
        policy=policy if policy is not None else RestartPolicy(),
        now=now,
        backoff_delay=backoff_delay,
    )


def always(directive: Directive) -> RestartPolicy:
    return RestartPolicy(decider=lambda error: directive)


ABC = {"a": PERMANENT, "b": PERMANENT, "c": PERMANENT}


# -- a child failed -------------------------------------------------------------------------------


def test_a_failure_the_decider_restarts_stops_and_starts_the_child_at_once_and_is_charged():
    decision = decide(ChildFailure("a", BOOM))
    assert decision == Decision(
        SupervisorState(history=(NOW,)),
        directive=RESTART,
        stop=("a",),
        start=("a",),
        delay=None,
        cause=BOOM,
    )


def test_resume_with_a_live_thread_resumes_the_same_instance_without_charging():
    decision = decide(ChildFailure("a", BOOM, alive=True), policy=always(RESUME))
    assert decision == Decision(SupervisorState(), directive=RESUME, resume="a")


def test_resume_of_a_child_whose_thread_died_restarts_it_instead():
    decision = decide(ChildFailure("a", BOOM, alive=False), policy=always(RESUME))
    assert decision.directive is RESTART
    assert (decision.resume, decision.stop, decision.start) == (None, ("a",), ("a",))
    assert decision.state.history == (NOW,)


def test_a_temporary_child_the_decider_restarts_is_stopped_for_good_instead():
    decision = decide(ChildFailure("a", BOOM), {"a": TEMPORARY})
    assert decision == Decision(
        SupervisorState(), directive=STOP, remove=("a",), reason=ExitReason.FAILED
    )


@pytest.mark.parametrize("restart", [PERMANENT, TRANSIENT])
def test_a_transient_or_permanent_child_the_decider_restarts_is_restarted(restart):
    decision = decide(ChildFailure("a", BOOM), {"a": restart})
    assert (decision.directive, decision.start) == (RESTART, ("a",))


def test_stop_removes_the_child_with_reason_failed_without_charging():
    decision = decide(ChildFailure("a", BOOM), policy=always(STOP))
    assert decision == Decision(
        SupervisorState(), directive=STOP, remove=("a",), reason=ExitReason.FAILED
    )


def test_escalate_plans_an_escalation_without_charging_the_budget():
    state = SupervisorState(history=(99.0,))
    decision = decide(ChildFailure("a", BOOM), state=state, policy=always(ESCALATE))
    assert decision == Decision(
        state,
        directive=ESCALATE,
        escalation=Escalation("a", BOOM, "decider chose escalate"),
    )


def test_a_decider_that_raises_plans_an_escalation_and_hands_back_its_error():
    broken = ValueError("no idea")

    def decider(error: BaseException) -> Directive:
        raise broken

    decision = decide(ChildFailure("a", BOOM), policy=RestartPolicy(decider=decider))
    assert decision.directive is ESCALATE
    assert decision.decider_error is broken
    assert decision.escalation == Escalation("a", BOOM, "decider chose escalate")
    assert decision.state == SupervisorState()


def test_a_decider_that_raises_a_base_exception_lets_it_through():
    def decider(error: BaseException) -> Directive:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        decide(ChildFailure("a", BOOM), policy=RestartPolicy(decider=decider))


def test_the_default_decider_escalates_a_failure_that_is_not_an_exception():
    exit_ = SystemExit(3)
    decision = decide(ChildFailure("a", exit_))
    assert decision.escalation == Escalation("a", exit_, "decider chose escalate")


def test_a_restart_beyond_the_budget_plans_an_escalation_with_the_history_it_charged():
    state = SupervisorState(history=(97.0, 98.0, 99.0))
    decision = decide(ChildFailure("a", BOOM), state=state, policy=RestartPolicy(3, 5.0))
    assert decision == Decision(
        SupervisorState(history=(97.0, 98.0, 99.0, NOW)),
        directive=RESTART,  # what the decider chose, reported before the escalation
        escalation=Escalation("a", BOOM, "restart budget exhausted"),
    )


def test_restarts_older_than_the_window_no_longer_count():
    state = SupervisorState(history=(90.0, 94.0, 99.0))
    decision = decide(ChildFailure("a", BOOM), state=state, policy=RestartPolicy(3, 10.0))
    assert decision.escalation is None
    assert decision.state.history == (94.0, 99.0, NOW)


def test_a_zero_budget_escalates_on_the_first_failure():
    decision = decide(ChildFailure("a", BOOM), policy=RestartPolicy(max_restarts=0))
    assert decision.escalation == Escalation("a", BOOM, "restart budget exhausted")
    assert (decision.stop, decision.start) == ((), ())


@pytest.mark.parametrize(
    "event",
    [
        ChildFailure("zz", BOOM),
        ChildExit("zz", ExitReason.NORMAL),
        StopRequest("zz"),
    ],
)
def test_an_event_about_a_name_that_is_not_a_child_is_ignored(event):
    state = SupervisorState(history=(99.0,))
    assert decide(event, state=state) == Decision(state)


# -- a child exited by itself ---------------------------------------------------------------------


def test_a_permanent_child_that_exits_normally_is_restarted_and_charged_without_a_cause():
    decision = decide(ChildExit("a", ExitReason.NORMAL))
    assert decision == Decision(
        SupervisorState(history=(NOW,)), stop=("a",), start=("a",), delay=None, cause=None
    )


def test_a_permanent_child_that_keeps_exiting_escalates_with_an_error_naming_it():
    state = SupervisorState(history=(99.0,))
    decision = decide(ChildExit("a", ExitReason.NORMAL), state=state, policy=RestartPolicy(1))
    escalation = decision.escalation
    assert escalation is not None
    assert (escalation.child, escalation.reason) == ("a", "restart budget exhausted")
    assert isinstance(escalation.cause, RuntimeError)
    assert str(escalation.cause) == "'a' kept exiting"


@pytest.mark.parametrize("restart", [TRANSIENT, TEMPORARY])
def test_transient_and_temporary_children_that_exit_normally_are_removed(restart):
    decision = decide(ChildExit("a", ExitReason.NORMAL), {"a": restart})
    assert decision == Decision(SupervisorState(), remove=("a",), reason=ExitReason.NORMAL)


@pytest.mark.parametrize("restart", list(Restart))
def test_a_child_that_reached_max_messages_is_removed_whatever_its_restart_type(restart):
    decision = decide(ChildExit("a", ExitReason.MAX_MESSAGES), {"a": restart})
    assert decision == Decision(SupervisorState(), remove=("a",), reason=ExitReason.MAX_MESSAGES)


# -- strategies -----------------------------------------------------------------------------------


def test_one_for_one_touches_only_the_failed_child():
    decision = decide(ChildFailure("b", BOOM), ABC)
    assert (decision.stop, decision.start) == (("b",), ("b",))


def test_one_for_all_stops_every_child_in_reverse_and_starts_them_in_order():
    decision = decide(ChildFailure("b", BOOM), ABC, strategy=Strategy.ONE_FOR_ALL)
    assert (decision.stop, decision.start) == (("c", "b", "a"), ("a", "b", "c"))


def test_rest_for_one_restarts_the_failed_child_and_those_started_after_it():
    decision = decide(ChildFailure("b", BOOM), ABC, strategy=Strategy.REST_FOR_ONE)
    assert (decision.stop, decision.start) == (("c", "b"), ("b", "c"))


def test_a_temporary_sibling_caught_in_a_strategy_is_stopped_then_dropped_not_started():
    children = {"a": TEMPORARY, "b": PERMANENT, "c": TRANSIENT}
    decision = decide(ChildFailure("b", BOOM), children, strategy=Strategy.ONE_FOR_ALL)
    assert decision.stop == ("c", "b", "a")
    assert decision.drop == ("a",)
    assert decision.start == ("b", "c")


# -- backoff --------------------------------------------------------------------------------------

BACKOFF = RestartPolicy(10, 60.0, backoff=Backoff(min=1.0, max=8.0, jitter=0.5, reset_after=30.0))


class Delays:
    """A backoff delay function that records the attempt numbers it was asked about."""

    def __init__(self, delay: float = 2.5) -> None:
        self.delay = delay
        self.asked: list[int] = []

    def __call__(self, attempt: int) -> float:
        self.asked.append(attempt)
        return self.delay


def test_a_restart_under_backoff_waits_the_given_delay_of_attempt_zero_first():
    delays = Delays(2.5)
    decision = decide(ChildFailure("a", BOOM), policy=BACKOFF, backoff_delay=delays)
    assert delays.asked == [0]
    assert (decision.stop, decision.start, decision.delay) == (("a",), ("a",), 2.5)
    assert decision.state.backoff == {"a": ChildBackoff(attempts=1, since=NOW + 2.5)}


def test_consecutive_restarts_count_up_the_backoff_attempts():
    delays = Delays(1.0)
    state = SupervisorState()
    for now in (100.0, 102.0, 104.0):
        state = decide(
            ChildFailure("a", BOOM), state=state, policy=BACKOFF, now=now, backoff_delay=delays
        ).state
    assert delays.asked == [0, 1, 2]
    assert state.backoff["a"] == ChildBackoff(3, 105.0)


def test_the_backoff_count_starts_again_once_the_child_ran_reset_after_seconds():
    delays = Delays(1.0)
    state = SupervisorState(backoff={"a": ChildBackoff(4, 70.0)})
    ran_long_enough = decide(
        ChildFailure("a", BOOM), state=state, policy=BACKOFF, now=100.0, backoff_delay=delays
    )
    not_quite = decide(
        ChildFailure("a", BOOM), state=state, policy=BACKOFF, now=99.5, backoff_delay=delays
    )
    assert delays.asked == [0, 4]
    assert ran_long_enough.state.backoff["a"] == ChildBackoff(1, 101.0)
    assert not_quite.state.backoff["a"] == ChildBackoff(5, 100.5)


def test_a_zero_backoff_delay_starts_at_once_but_still_counts():
    decision = decide(ChildFailure("a", BOOM), policy=BACKOFF, backoff_delay=lambda n: 0.0)
    assert decision.delay is None
    assert decision.start == ("a",)
    assert decision.state.backoff["a"] == ChildBackoff(1, NOW)


def test_the_backoff_is_counted_for_the_failed_child_alone_even_when_siblings_restart():
    decision = decide(
        ChildFailure("b", BOOM),
        ABC,
        strategy=Strategy.ONE_FOR_ALL,
        policy=BACKOFF,
        backoff_delay=Delays(3.0),
    )
    assert decision.start == ("a", "b", "c")
    assert decision.delay == 3.0
    assert set(decision.state.backoff) == {"b"}


def test_without_a_delay_function_plan_waits_the_backoffs_delay_without_jitter():
    state = SupervisorState(backoff={"a": ChildBackoff(2, 99.0)})
    decision = decide(ChildFailure("a", BOOM), state=state, policy=BACKOFF)
    assert decision.delay == 4.0  # min * 2**2, no jitter, whatever the random state


def test_without_a_backoff_nothing_is_counted():
    decision = decide(ChildFailure("a", BOOM), backoff_delay=Delays())
    assert decision.delay is None
    assert decision.state.backoff == {}


@pytest.mark.parametrize(
    ("event", "policy", "children"),
    [
        (ChildFailure("a", BOOM), always(STOP), {"a": PERMANENT}),
        (ChildExit("a", ExitReason.NORMAL), BACKOFF, {"a": TRANSIENT}),
        (StopRequest("a"), BACKOFF, {"a": PERMANENT}),
        (ChildFailure("b", BOOM), BACKOFF, {"a": TEMPORARY, "b": PERMANENT}),  # a is dropped
    ],
)
def test_a_child_removed_for_good_loses_its_backoff_count(event, policy, children):
    state = SupervisorState(backoff={"a": ChildBackoff(3, 99.0)})
    decision = decide(
        event,
        children,
        state=state,
        strategy=Strategy.ONE_FOR_ALL,
        policy=policy,
        backoff_delay=Delays(),
    )
    assert "a" in decision.remove + decision.drop
    assert "a" not in decision.state.backoff


# -- a restart attempt failed ---------------------------------------------------------------------


@pytest.mark.parametrize("strategy", [Strategy.ONE_FOR_ONE, Strategy.REST_FOR_ONE])
def test_a_failed_restart_attempt_is_charged_and_retried_by_a_message_from_that_child_on(
    strategy,
):
    event = RestartFailure("b", BOOM, group=("a", "b", "c"), started=("a",))
    decision = decide(event, ABC, strategy=strategy)
    assert decision == Decision(
        SupervisorState(history=(NOW,)), start=("b", "c"), delay=0.0, cause=BOOM
    )


def test_a_failed_restart_attempt_under_one_for_all_stops_the_started_and_retries_the_group():
    event = RestartFailure("c", BOOM, group=("a", "b", "c"), started=("a", "b"))
    decision = decide(event, ABC, strategy=Strategy.ONE_FOR_ALL)
    assert decision == Decision(
        SupervisorState(history=(NOW,)),
        stop=("b", "a"),
        start=("a", "b", "c"),
        delay=0.0,
        cause=BOOM,
    )


def test_a_failed_restart_attempt_beyond_the_budget_escalates():
    state = SupervisorState(history=(99.0,))
    event = RestartFailure("a", BOOM, group=("a",))
    decision = decide(event, state=state, policy=RestartPolicy(max_restarts=1))
    assert decision == Decision(
        SupervisorState(history=(99.0, NOW)),
        escalation=Escalation("a", BOOM, "restart budget exhausted"),
    )


def test_a_restart_failure_of_a_child_outside_its_group_raises_value_error():
    with pytest.raises(ValueError, match="not in tuple"):
        decide(RestartFailure("a", BOOM, group=("b",)))


# -- a delayed start is due; a stop is requested --------------------------------------------------


def test_a_due_start_starts_the_children_still_there_at_once_with_its_cause():
    decision = decide(StartDue(("a", "gone", "c"), BOOM), ABC)
    assert decision == Decision(SupervisorState(), start=("a", "c"), delay=None, cause=BOOM)


def test_a_stop_request_removes_the_child_with_reason_normal_without_charging():
    decision = decide(StopRequest("b"), ABC)
    assert decision == Decision(SupervisorState(), remove=("b",), reason=ExitReason.NORMAL)


# -- purity ---------------------------------------------------------------------------------------


def test_plan_changes_neither_the_state_nor_the_children_it_is_given():
    state = SupervisorState(history=(99.0,), backoff={"b": ChildBackoff(1, 98.0)})
    children = {"a": TEMPORARY, "b": PERMANENT}
    decide(
        ChildFailure("b", BOOM),
        children,
        state=state,
        strategy=Strategy.ONE_FOR_ALL,
        policy=BACKOFF,
        backoff_delay=Delays(),
    )
    assert state == SupervisorState(history=(99.0,), backoff={"b": ChildBackoff(1, 98.0)})
    assert children == {"a": TEMPORARY, "b": PERMANENT}


def test_the_same_arguments_give_the_same_decision():
    def once() -> Decision:
        return decide(ChildFailure("b", BOOM), ABC, policy=BACKOFF, strategy=Strategy.REST_FOR_ONE)

    assert once() == once()


def test_the_backoff_of_a_state_returned_by_plan_is_read_only():
    state = decide(ChildFailure("a", BOOM), policy=BACKOFF).state
    with pytest.raises(TypeError):
        state.backoff["a"] = ChildBackoff(0, 0.0)  # type: ignore[index]


def test_forget_drops_a_childs_backoff_and_returns_the_same_state_when_there_is_none():
    state = SupervisorState(backoff={"a": ChildBackoff(1, 1.0), "b": ChildBackoff(2, 2.0)})
    assert state.forget("a") == SupervisorState(backoff={"b": ChildBackoff(2, 2.0)})
    assert state.forget("zz") is state


# -- a state machine against a reference model of OTP's supervisor --------------------------------


class RestartMe(Exception):
    pass


class ResumeMe(Exception):
    pass


class StopMe(Exception):
    pass


class EscalateMe(Exception):
    pass


class ConfuseTheDecider(Exception):
    pass


KINDS: dict[type[Exception], Directive | None] = {
    RestartMe: RESTART,
    ResumeMe: RESUME,
    StopMe: STOP,
    EscalateMe: ESCALATE,
    ConfuseTheDecider: None,  # the decider raises
}


def model_decider(error: BaseException) -> Directive:
    directive = KINDS[type(error)]  # type: ignore[index]
    if directive is None:
        msg = f"cannot decide about {error!r}"
        raise LookupError(msg)
    return directive


def outcome(**fields: Any) -> dict[str, Any]:
    """What a decision does, as the model and the planner are compared on."""
    done: dict[str, Any] = {
        "directive": None,
        "decider_raised": False,
        "escalation": None,
        "resume": None,
        "remove": (),
        "reason": ExitReason.NORMAL,
        "stop": (),
        "drop": (),
        "start": (),
        "delay": None,
        "cause": None,
    }
    done.update(fields)
    return done


def outcome_of(decision: Decision) -> dict[str, Any]:
    escalation = decision.escalation
    return outcome(
        directive=decision.directive,
        decider_raised=decision.decider_error is not None,
        escalation=None
        if escalation is None
        else (escalation.child, escalation.reason, type(escalation.cause), str(escalation.cause)),
        resume=decision.resume,
        remove=decision.remove,
        reason=decision.reason,
        stop=decision.stop,
        drop=decision.drop,
        start=decision.start,
        delay=decision.delay,
        cause=decision.cause,
    )


class OtpSupervisor:
    """A reference model of OTP's supervisor, written from its documentation, not from `plan`.

    Children are a list of ``[name, restart type]`` in start order. Every restart attempt is
    charged at the time it happens and never forgotten: a restart is allowed while at most
    ``intensity`` attempts (it included) fall within ``period`` seconds before it. Backoff
    (not OTP's, regiment's): a child's n-th consecutive backoff restart waits
    ``backoff.delay(n)``; the run of consecutive restarts ends once the child has run
    ``reset_after`` seconds since it was started last.
    """

    def __init__(
        self,
        children: list[tuple[str, Restart]],
        *,
        strategy: Strategy,
        intensity: int,
        period: float,
        backoff: Backoff | None,
        seed: int,
    ) -> None:
        self.children = [list(child) for child in children]
        self.strategy = strategy
        self.intensity = intensity
        self.period = period
        self.backoff = backoff
        self.rng = random.Random(seed)
        self.charged: list[float] = []
        self.runs: dict[str, tuple[int, float]] = {}  # name -> (consecutive restarts, since)

    def names(self) -> list[str]:
        return [name for name, _ in self.children]

    def restart_type(self, name: str) -> Restart:
        return next(restart for child, restart in self.children if child == name)

    def window(self, now: float) -> tuple[float, ...]:
        return tuple(t for t in self.charged if now - t < self.period)

    def charge(self, now: float) -> bool:
        self.charged.append(now)
        return len(self.window(now)) <= self.intensity

    def escalated(self) -> None:
        """The supervisor failed; its parent starts a fresh one (history and counts empty)."""
        self.charged.clear()
        self.runs.clear()

    def remove(self, *names: str) -> None:
        self.children = [child for child in self.children if child[0] not in names]
        for name in names:
            self.runs.pop(name, None)

    def group(self, name: str) -> list[str]:
        names = self.names()
        if self.strategy is Strategy.ONE_FOR_ONE:
            return [name]
        if self.strategy is Strategy.ONE_FOR_ALL:
            return names
        return names[names.index(name) :]

    def restart(self, name: str, cause: BaseException | None, now: float) -> dict[str, Any]:
        if not self.charge(now):
            error: tuple[Any, str] = (
                (type(cause), str(cause))
                if cause is not None
                else (RuntimeError, f"{name!r} kept exiting")
            )
            return outcome(escalation=(name, "restart budget exhausted", *error))
        group = self.group(name)
        dropped = [n for n in group if n != name and self.restart_type(n) is TEMPORARY]
        self.remove(*dropped)
        delay = None
        if self.backoff is not None:
            count, since = self.runs.get(name, (0, now))
            if name not in self.runs or now - since >= self.backoff.reset_after:
                count = 0
            wait = self.backoff.delay(count, self.rng)
            self.runs[name] = (count + 1, now + wait)
            delay = wait if wait > 0 else None
        return outcome(
            stop=tuple(group[::-1]),
            drop=tuple(dropped),
            start=tuple(n for n in group if n not in dropped),
            delay=delay,
            cause=cause,
        )

    def failed(self, name: str, error: Exception, alive: bool, now: float) -> dict[str, Any]:
        chosen = KINDS[type(error)]
        if chosen is None:
            return outcome(
                directive=ESCALATE,
                decider_raised=True,
                escalation=(name, "decider chose escalate", type(error), str(error)),
            )
        if chosen is RESUME and not alive:
            chosen = RESTART
        if chosen is RESTART and self.restart_type(name) is TEMPORARY:
            chosen = STOP
        if chosen is RESUME:
            return outcome(directive=RESUME, resume=name)
        if chosen is STOP:
            self.remove(name)
            return outcome(directive=STOP, remove=(name,), reason=ExitReason.FAILED)
        if chosen is ESCALATE:
            return outcome(
                directive=ESCALATE,
                escalation=(name, "decider chose escalate", type(error), str(error)),
            )
        return {**self.restart(name, error, now), "directive": RESTART}

    def exited(self, name: str, reason: ExitReason, now: float) -> dict[str, Any]:
        if reason is ExitReason.NORMAL and self.restart_type(name) is PERMANENT:
            return self.restart(name, None, now)
        self.remove(name)
        return outcome(remove=(name,), reason=reason)

    def start_failed(
        self, name: str, error: Exception, group: list[str], started: list[str], now: float
    ) -> dict[str, Any]:
        if not self.charge(now):
            return outcome(escalation=(name, "restart budget exhausted", type(error), str(error)))
        if self.strategy is Strategy.ONE_FOR_ALL:
            return outcome(
                stop=tuple(reversed(started)), start=tuple(group), delay=0.0, cause=error
            )
        return outcome(start=tuple(group[group.index(name) :]), delay=0.0, cause=error)

    def stop_requested(self, name: str) -> dict[str, Any]:
        if name not in self.names():
            return outcome()
        self.remove(name)
        return outcome(remove=(name,))


RESTART_TYPES = st.sampled_from(list(Restart))
# Restarts weigh most: they exercise the budget, the strategies and the backoff.
FAILURES = st.sampled_from(
    [RestartMe, RestartMe, RestartMe, RestartMe, ResumeMe, StopMe, EscalateMe, ConfuseTheDecider]
)
EXITS = st.sampled_from([ExitReason.NORMAL, ExitReason.NORMAL, ExitReason.MAX_MESSAGES])


class PlannerAgainstOtp(RuleBasedStateMachine):
    """Feeds the same events to `plan` (as a supervisor would) and to `OtpSupervisor`."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.state = SupervisorState()
        self.children: dict[str, Restart] = {}
        self.starting: tuple[str, ...] = ()  # the last start planned: a restart attempt
        self.gone: list[str] = []
        self.serial = 0

    @initialize(
        restarts=st.lists(RESTART_TYPES, min_size=2, max_size=6),
        strategy=st.sampled_from(list(Strategy)),
        intensity=st.integers(0, 6),
        period=st.sampled_from([1.0, 2.0, 5.0]),
        backoff=st.none()
        | st.builds(
            Backoff,
            min=st.sampled_from([0.0, 0.5, 1.0]),
            max=st.just(4.0),
            jitter=st.sampled_from([0.0, 0.5]),
            reset_after=st.sampled_from([1.0, 3.0]),
        ),
        seed=st.integers(0, 2**16),
        explicit_delay=st.booleans(),
    )
    def configure(self, *, restarts, strategy, intensity, period, backoff, seed, explicit_delay):
        children = [(self.fresh_name(), restart) for restart in restarts]
        self.children = dict(children)
        self.strategy = strategy
        self.policy = RestartPolicy(intensity, period, backoff=backoff, decider=model_decider)
        rng = random.Random(seed)
        self.delay: Callable[[int], float] | None = None
        if backoff is not None and (explicit_delay or backoff.jitter > 0):
            self.delay = lambda attempt: backoff.delay(attempt, rng)
        self.model = OtpSupervisor(
            children,
            strategy=strategy,
            intensity=intensity,
            period=period,
            backoff=backoff,
            seed=seed,
        )

    def fresh_name(self) -> str:
        self.serial += 1
        return f"c{self.serial}"

    def pick(self, index: int) -> str:
        names = list(self.children)
        return names[index % len(names)]

    def decide(self, event: SupervisorEvent, expected: dict[str, Any]) -> Decision:
        decision = plan(
            self.state,
            event,
            self.children,
            strategy=self.strategy,
            policy=self.policy,
            now=self.now,
            backoff_delay=self.delay,
        )
        assert outcome_of(decision) == expected
        assert decision.state.backoff == {
            name: ChildBackoff(*run) for name, run in self.model.runs.items()
        }
        escalation = expected["escalation"]
        over_budget = escalation is not None and escalation[1] == "restart budget exhausted"
        if expected["stop"] or expected["delay"] == 0.0 or over_budget:  # a restart charged
            assert decision.state.history == self.model.window(self.now)
        self.state = decision.state
        for name in decision.remove + decision.drop:  # what the executor closes
            del self.children[name]
            self.gone.append(name)
        if decision.escalation is not None:
            self.state = SupervisorState()
            self.model.escalated()
            self.starting = ()
        elif decision.start:
            self.starting = decision.start
        return decision

    @rule(dt=st.sampled_from([0.0, 0.5, 1.0, 2.5, 5.0]))  # sums land on window edges
    def time_passes(self, dt):
        self.now += dt

    @rule(index=st.integers(0, 9))
    def time_passes_to_an_edge(self, index):
        """Exactly to when a charged restart leaves the window, or a backoff run resets."""
        model = self.model
        edges = [t + model.period for t in model.charged]
        if model.backoff is not None:
            edges += [since + model.backoff.reset_after for _, since in model.runs.values()]
        later = sorted(edge for edge in edges if edge >= self.now)
        if later:
            self.now = later[index % len(later)]

    @rule(restart=RESTART_TYPES)
    def a_child_is_added(self, restart):
        name = self.fresh_name()
        self.children[name] = restart
        self.model.children.append([name, restart])

    @precondition(lambda self: self.children)
    @rule(index=st.integers(0, 9), kind=FAILURES, alive=st.booleans())
    def a_child_fails(self, index, kind, alive):
        name = self.pick(index)
        error = kind(name)
        expected = self.model.failed(name, error, alive, self.now)
        self.decide(ChildFailure(name, error, alive=alive), expected)

    @precondition(lambda self: self.children)
    @rule(index=st.integers(0, 9), reason=EXITS)
    def a_child_exits(self, index, reason):
        name = self.pick(index)
        expected = self.model.exited(name, reason, self.now)
        self.decide(ChildExit(name, reason), expected)

    @precondition(lambda self: any(name in self.children for name in self.starting))
    @rule(index=st.integers(0, 9), mask=st.lists(st.booleans(), min_size=10, max_size=10))
    def a_restart_attempt_fails(self, index, mask):
        group = [name for name in self.starting if name in self.children]
        name = group[index % len(group)]
        position = group.index(name)
        started = [other for other, bit in zip(group[:position], mask, strict=False) if bit]
        error = RestartMe(f"{name} cannot start")
        expected = self.model.start_failed(name, error, group, started, self.now)
        self.decide(RestartFailure(name, error, tuple(group), tuple(started)), expected)

    @precondition(lambda self: self.starting)
    @rule()
    def a_restart_attempt_succeeds(self):
        self.starting = ()

    @precondition(lambda self: self.children)
    @rule(
        picks=st.lists(st.integers(0, 20), max_size=4, unique=True),
        cause=st.sampled_from([None, RestartMe("earlier")]),
    )
    def a_delayed_start_is_due(self, picks, cause):
        known = list(self.children) + self.gone
        names = tuple(sorted({known[i % len(known)] for i in picks}, key=known.index))
        expected = outcome(
            start=tuple(name for name in names if name in self.model.names()), cause=cause
        )
        self.decide(StartDue(names, cause), expected)

    @precondition(lambda self: self.children)
    @rule(index=st.integers(0, 9), unknown=st.sampled_from([False, False, False, True]))
    def a_stop_is_requested(self, index, unknown):
        name = "nobody" if unknown else self.pick(index)
        self.decide(StopRequest(name), self.model.stop_requested(name))

    @invariant()
    def the_children_are_the_models(self):
        assert [[name, restart] for name, restart in self.children.items()] == self.model.children


def test_the_planner_decides_what_a_reference_model_of_an_otp_supervisor_decides():
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        PlannerAgainstOtp,
        settings=settings(max_examples=150, stateful_step_count=30, deadline=None, database=None),
    )
