"""The supervisor's decisions, as pure functions (OTP's ``do_restart``, ``restart/3`` and more).

- `should_restart`: is this child restarted at all, given its restart type and how it ended?
- `affected`: which children does the strategy restart, in start order?
- `plan`: everything a supervisor decides about one event, built on those two and on
  `add_restart` (the budget). It takes the supervisor's `SupervisorState`, one event
  (`ChildFailure`, `ChildExit`, `RestartFailure`, `StartDue`, `StopRequest`), the children in
  start order with their restart types, the policy and the current monotonic time, and
  returns a `Decision`: what to do, and the new state. It reads no clock and draws no random
  number (the backoff's jittered delay comes in as a function), and it never touches a
  thread: the supervisor actor only turns signals into events and applies decisions.

Children are named by their (unique) names; the planner never sees the runtime's objects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, TypeVar, assert_never

from actors.events import ExitReason
from supervision.intensity import add_restart
from supervision.policy import Directive, RestartPolicy
from supervision.spec import Restart, Strategy

__all__ = [
    "ChildBackoff",
    "ChildExit",
    "ChildFailure",
    "Decision",
    "Escalation",
    "RestartFailure",
    "StartDue",
    "StopRequest",
    "SupervisorEvent",
    "SupervisorState",
    "affected",
    "plan",
    "should_restart",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

BUDGET_EXHAUSTED = "restart budget exhausted"
DECIDER_ESCALATES = "decider chose escalate"


class _Ordered(Protocol[T_co]):
    """Children in start order: a list, or the keys of a dict used as an ordered set."""

    def __contains__(self, item: object, /) -> bool: ...
    def __iter__(self) -> Iterator[T_co]: ...
    def __reversed__(self) -> Iterator[T_co]: ...


class _Children(Protocol):
    """Children by name in start order, each with its restart type: a dict, or a live view."""

    def __contains__(self, name: object, /) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def __reversed__(self) -> Iterator[str]: ...
    def __getitem__(self, name: str, /) -> Restart: ...


def should_restart(restart: Restart, *, abnormal: bool) -> bool:
    """True if a child of this restart type is restarted after this kind of exit.

    ``PERMANENT`` always is; ``TRANSIENT`` only after an abnormal exit (a failure, including
    an escalation); ``TEMPORARY`` never.
    """
    if restart is Restart.PERMANENT:
        return True
    if restart is Restart.TRANSIENT:
        return abnormal
    return False


def affected(strategy: Strategy, children: _Ordered[T], failed: T) -> list[T]:
    """The children a restart touches, in start order.

    ``ONE_FOR_ONE``: the failed child only. ``ONE_FOR_ALL``: every child. ``REST_FOR_ONE``:
    the failed child and every child started after it.

    ``children`` is anything ordered that answers ``in`` and iterates both ways: a list, or
    (what a supervisor passes) a dict used as an ordered set. With a dict the cost is that of
    the answer, never more: ``ONE_FOR_ONE`` does not look at the other children, and
    ``REST_FOR_ONE`` walks back from the last child to the failed one.

    Raises:
        ValueError: if ``failed`` is not among ``children``.
    """
    if failed not in children:
        msg = f"{failed!r} is not among the children"
        raise ValueError(msg)
    if strategy is Strategy.ONE_FOR_ONE:
        return [failed]
    if strategy is Strategy.ONE_FOR_ALL:
        return list(children)
    rest: list[T] = []
    for child in reversed(children):
        rest.append(child)
        if child is failed or child == failed:
            break
    rest.reverse()
    return rest


# -- the state ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChildBackoff:
    """How far one child is into its backoff.

    Attributes:
        attempts: consecutive restarts that waited for a backoff (the next one waits for
            ``Backoff.delay(attempts)``).
        since: monotonic time the child runs again from: when its last restart was decided,
            plus its delay. Once ``reset_after`` seconds have passed since then, the count
            starts again.
    """

    attempts: int
    since: float


def _no_backoff() -> Mapping[str, ChildBackoff]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SupervisorState:
    """What a supervisor remembers between events; never modified (`plan` returns new ones).

    A fresh supervisor (and one restarted by its parent) starts from ``SupervisorState()``.

    Attributes:
        history: monotonic times of the restarts charged within the window, oldest first
            (as `add_restart` keeps them).
        backoff: per child name, its `ChildBackoff` (only children restarted under a backoff;
            a read-only mapping).
    """

    history: tuple[float, ...] = ()
    backoff: Mapping[str, ChildBackoff] = field(default_factory=_no_backoff)

    def forget(self, *children: str) -> SupervisorState:
        """The same state without the backoff of ``children`` (they are gone for good)."""
        if not any(child in self.backoff for child in children):
            return self
        kept = {name: entry for name, entry in self.backoff.items() if name not in children}
        return SupervisorState(self.history, MappingProxyType(kept))


# -- the events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChildFailure:
    """A child failed (a handler, ``on_start`` or ``post_restart`` raised, or its thread died).

    It waits, suspended, for a directive; the policy's decider picks one from ``error``.

    Attributes:
        child: its name.
        error: what it raised.
        alive: its thread is still alive (``RESUME`` needs one; otherwise it is restarted).
    """

    child: str
    error: BaseException
    alive: bool = True


@dataclass(frozen=True, slots=True)
class ChildExit:
    """A child ended by itself, without an error.

    Attributes:
        child: its name.
        reason: ``ExitReason.NORMAL`` (it called ``stop()``) or another reason (such as
            ``MAX_MESSAGES``: it reached its guard).
    """

    child: str
    reason: ExitReason


@dataclass(frozen=True, slots=True)
class RestartFailure:
    """A restart attempt failed: starting ``child`` again raised ``error``.

    Attributes:
        child: the child whose new incarnation failed to start.
        error: what its start raised (the hook's error).
        group: every child this attempt was starting, in start order (``child`` among them).
        started: the members of ``group`` this attempt had started before ``child``.
    """

    child: str
    error: BaseException
    group: tuple[str, ...]
    started: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StartDue:
    """A delayed start is due: a backoff elapsed, or a failed restart attempt is retried.

    Attributes:
        children: the children to start, in start order.
        cause: the failure that caused the restart (given to ``post_restart``).
    """

    children: tuple[str, ...]
    cause: BaseException | None = None


@dataclass(frozen=True, slots=True)
class StopRequest:
    """Someone asked the supervisor to stop ``child`` for good (``stop_child``)."""

    child: str


SupervisorEvent = ChildFailure | ChildExit | RestartFailure | StartDue | StopRequest


# -- the decision ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Escalation:
    """The supervisor gives up: it stops every child and fails itself.

    Attributes:
        child: the child whose failure made it give up.
        cause: the child's error (becomes the `EscalationError`'s ``__cause__``).
        reason: ``"restart budget exhausted"`` or ``"decider chose escalate"``.
    """

    child: str
    cause: BaseException
    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    """What a supervisor does about one event, and its state afterwards.

    A decision with nothing to do (all defaults but ``state``) ignores the event. Otherwise
    it is applied in this order: ``escalation`` (then nothing else: the supervisor fails);
    ``resume`` (then nothing else: a resume is a decision of its own); ``remove``; ``stop``;
    ``drop``; ``start``.

    Attributes:
        state: the supervisor's state from now on.
        directive: for a `ChildFailure`, the directive applied (after the overrides: a dead
            thread is not resumed, a temporary child is not restarted); None otherwise.
        decider_error: the exception the decider raised (the supervisor escalates).
        escalation: give up, with this child, cause and reason.
        resume: the suspended child that goes on with the same instance.
        remove: children stopped for good (``on_stop``) and closed with ``reason``.
        reason: why the children in ``remove`` ended.
        stop: children stopped for a restart (``pre_restart``), in this order: reverse
            start order.
        drop: children among ``stop`` that are closed instead of started again (temporary
            siblings caught in a strategy), with ``ExitReason.NORMAL``.
        start: children started (again), in this order, with ``post_restart(cause)``.
        delay: None starts them at once; a number starts them by a message to the
            supervisor itself after that many seconds (0 included: a stop request queued
            meanwhile gets through first).
        cause: the failure behind the restart: given to ``pre_restart`` and ``post_restart``.
    """

    state: SupervisorState
    directive: Directive | None = None
    decider_error: Exception | None = None
    escalation: Escalation | None = None
    resume: str | None = None
    remove: tuple[str, ...] = ()
    reason: ExitReason = ExitReason.NORMAL
    stop: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    start: tuple[str, ...] = ()
    delay: float | None = None
    cause: BaseException | None = None


# -- the planner ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rules:
    """Everything `plan` reads besides the state and the event."""

    children: _Children
    strategy: Strategy
    policy: RestartPolicy
    now: float
    backoff_delay: Callable[[int], float]


def plan(
    state: SupervisorState,
    event: SupervisorEvent,
    children: _Children,
    *,
    strategy: Strategy,
    policy: RestartPolicy,
    now: float,
    backoff_delay: Callable[[int], float] | None = None,
) -> Decision:
    """Decide what a supervisor does about ``event``.

    Pure: the same arguments give the same decision. It reads no clock (``now`` is given),
    draws no random number (``backoff_delay`` is), changes none of its arguments, and calls
    no user code but the policy's decider (for a `ChildFailure`).

    Args:
        state: the supervisor's state before the event.
        event: what happened.
        children: the children by name, in start order, with their restart types (a dict,
            or any read-only view answering ``in``, ``[]`` and iterating both ways).
        strategy: which children a restart touches.
        policy: the budget (``max_restarts`` within ``within``), the backoff, the decider.
        now: the current monotonic time, in seconds.
        backoff_delay: seconds to wait before the n-th consecutive backoff restart of a
            child (the supervisor passes ``policy.backoff.delay``, jitter included); None
            uses the backoff's delay without jitter. Unused without a backoff.

    Returns:
        The `Decision`; events about a name that is not among ``children`` are ignored.

    Raises:
        ValueError: for a `RestartFailure` whose ``child`` is not in its ``group``.
        BaseException: whatever the decider raised that is not an `Exception` (an
            `Exception` from it is an escalation).
    """
    if backoff_delay is None:
        backoff_delay = _steady_delay(policy)
    rules = _Rules(children, strategy, policy, now, backoff_delay)
    match event:
        case ChildFailure():
            return _failure(state, event, rules)
        case ChildExit():
            return _exit(state, event, rules)
        case RestartFailure():
            return _restart_failure(state, event, rules)
        case StartDue():
            return _start_due(state, event, rules)
        case StopRequest():
            return _stop_request(state, event, rules)
        case _:  # pragma: no cover - every event type is matched above
            assert_never(event)


def _steady_delay(policy: RestartPolicy) -> Callable[[int], float]:
    """The policy's backoff delay without its jitter (no backoff: no delay)."""
    if policy.backoff is None:
        return _no_delay
    return dataclasses.replace(policy.backoff, jitter=0.0).delay


def _no_delay(attempt: int) -> float:
    return 0.0


def _failure(state: SupervisorState, event: ChildFailure, rules: _Rules) -> Decision:
    child = event.child
    if child not in rules.children:
        return Decision(state)
    directive, decider_error = _directive(event, rules)
    if directive is Directive.RESUME:
        return Decision(state, directive, resume=child)
    if directive is Directive.STOP:
        return Decision(state.forget(child), directive, remove=(child,), reason=ExitReason.FAILED)
    if directive is Directive.ESCALATE:
        escalation = Escalation(child, event.error, DECIDER_ESCALATES)
        return Decision(state, directive, decider_error, escalation=escalation)
    return _restart(state, child, event.error, rules, directive)


def _directive(event: ChildFailure, rules: _Rules) -> tuple[Directive, Exception | None]:
    """The decider's directive after the overrides, and what the decider raised, if it did."""
    try:
        directive = rules.policy.decider(event.error)
    except Exception as exc:  # noqa: BLE001 - a broken decider escalates
        return Directive.ESCALATE, exc
    if directive is Directive.RESUME and not event.alive:
        directive = Directive.RESTART  # its thread died: there is nothing to resume
    restart = rules.children[event.child]
    if directive is Directive.RESTART and not should_restart(restart, abnormal=True):
        directive = Directive.STOP  # a temporary child is never restarted
    return directive, None


def _exit(state: SupervisorState, event: ChildExit, rules: _Rules) -> Decision:
    child = event.child
    if child not in rules.children:
        return Decision(state)
    if event.reason is ExitReason.NORMAL and should_restart(rules.children[child], abnormal=False):
        return _restart(state, child, None, rules)
    return Decision(state.forget(child), remove=(child,), reason=event.reason)


def _charge(
    state: SupervisorState, child: str, cause: BaseException | None, rules: _Rules
) -> tuple[SupervisorState, Escalation | None]:
    """Charge one restart against the budget; the escalation if that exhausts it."""
    policy = rules.policy
    allowed, history = add_restart(state.history, rules.now, policy.max_restarts, policy.within)
    state = SupervisorState(history, state.backoff)
    if allowed:
        return state, None
    error = cause if cause is not None else RuntimeError(f"{child!r} kept exiting")
    return state, Escalation(child, error, BUDGET_EXHAUSTED)


def _restart(
    state: SupervisorState,
    child: str,
    cause: BaseException | None,
    rules: _Rules,
    directive: Directive | None = None,
) -> Decision:
    """Restart ``child`` and what the strategy takes with it, or escalate.

    ``directive`` is what the decision reports as applied (a failure's ``RESTART``).
    """
    state, escalation = _charge(state, child, cause, rules)
    if escalation is not None:
        return Decision(state, directive=directive, escalation=escalation)
    targets = affected(rules.strategy, rules.children, child)
    kept: list[str] = []
    drop: list[str] = []
    for target in targets:
        # A temporary sibling caught in the strategy is removed, never restarted (as in OTP).
        temporary = target != child and rules.children[target] is Restart.TEMPORARY
        (drop if temporary else kept).append(target)
    state, delay = _backoff(state.forget(*drop), child, rules)
    return Decision(
        state,
        directive=directive,
        stop=tuple(reversed(targets)),
        drop=tuple(drop),
        start=tuple(kept),
        delay=delay,
        cause=cause,
    )


def _backoff(
    state: SupervisorState, child: str, rules: _Rules
) -> tuple[SupervisorState, float | None]:
    """Count this restart of ``child`` against its backoff; the delay, None for at once."""
    backoff = rules.policy.backoff
    if backoff is None:
        return state, None
    now = rules.now
    entry = state.backoff.get(child)
    # Counted from 0 again for a first restart, or once it ran reset_after seconds.
    fresh = entry is None or now - entry.since >= backoff.reset_after
    attempt = 0 if fresh or entry is None else entry.attempts
    delay = rules.backoff_delay(attempt)
    counted = {**state.backoff, child: ChildBackoff(attempt + 1, now + delay)}
    state = SupervisorState(state.history, MappingProxyType(counted))
    return state, (delay if delay > 0 else None)


def _start_due(state: SupervisorState, event: StartDue, rules: _Rules) -> Decision:
    due = tuple(child for child in event.children if child in rules.children)
    return Decision(state, start=due, cause=event.cause)


def _stop_request(state: SupervisorState, event: StopRequest, rules: _Rules) -> Decision:
    if event.child not in rules.children:
        return Decision(state)
    return Decision(state.forget(event.child), remove=(event.child,))


def _restart_failure(state: SupervisorState, event: RestartFailure, rules: _Rules) -> Decision:
    index = event.group.index(event.child)  # ValueError if it is not there
    state, escalation = _charge(state, event.child, event.error, rules)
    if escalation is not None:
        return Decision(state, escalation=escalation)
    # Retried by a message to itself, not in a loop, so that a stop request gets through.
    if rules.strategy is Strategy.ONE_FOR_ALL:
        # As OTP: the group goes down again and is restarted as a whole.
        return Decision(
            state,
            stop=tuple(reversed(event.started)),
            start=event.group,
            delay=0.0,
            cause=event.error,
        )
    return Decision(state, start=event.group[index:], delay=0.0, cause=event.error)
