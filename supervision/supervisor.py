"""The supervisor actor: Erlang/OTP's ``supervisor`` semantics, with Akka's mailboxes.

Behaviour, in full:

- **Start.** Children start one at a time, in spec order; each start waits until the child's
  ``on_start`` returned. If one fails during the supervisor's *initial* start, the children
  already started are stopped in reverse order and the error goes back to whoever started the
  tree (nothing is retried and no budget is charged).
- **Failure of a child** (a handler, ``on_start`` or ``post_restart`` raised, or its thread
  died): the child has already dead-lettered (or kept, with ``retry_failed``) the failing
  message and waits, suspended, for a directive, while its mailbox keeps queueing. The
  decider maps the error to a `Directive` (a decider that raises an `Exception` escalates):
  - ``RESUME``: the same instance goes on with the next message (if its thread died, there
    is nothing to resume: it is restarted instead);
  - ``STOP``: the child is stopped for good (watchers get `Terminated`);
  - ``ESCALATE``: see below (nothing is charged);
  - ``RESTART``: unless its restart type forbids it (``TEMPORARY``: stopped for good
    instead), one restart is charged against the budget (`add_restart`); if that exceeds
    ``max_restarts`` within ``within`` seconds the supervisor escalates. Otherwise the
    strategy picks the children to restart (`affected`); they are stopped in reverse start
    order (``pre_restart`` runs on each old instance) and started again in start order
    (``post_restart``), after the backoff delay if one is configured. A temporary sibling
    caught in the strategy is stopped with the others, then removed instead of restarted.
- **Backoff.** The n-th consecutive restart of a child waits ``Backoff.delay(n)`` (its
  slot is ``restarting`` meanwhile, its mailbox queueing); the count starts again once the
  child has run ``reset_after`` seconds. The delayed start is a timer that sends the
  supervisor a message (`_StartLater`), so it handles everything else meanwhile; a child
  stopped or restarted by hand is taken out of the starts still pending.
- **A failed restart attempt** (the new ``post_restart`` raises) is charged too and retried
  by a message to the supervisor itself, not in a loop, so a stop or shutdown request still
  gets through between attempts. With ``ONE_FOR_ALL`` the members of the group already
  started again are stopped again and the whole group is retried (as OTP does); otherwise
  the retry starts from the child that failed.
- **A child that stops by itself** (``self.stop()``): a ``PERMANENT`` child is restarted (and
  charged), a ``TRANSIENT`` or ``TEMPORARY`` one is removed; a child that reached its
  ``max_messages`` guard is always removed.
- **Requests** (`SupervisorRef`, run in the supervisor's thread). ``add_child`` validates,
  registers and starts a new child; ``stop_child`` stops one for good; ``restart_child``
  restarts one at once, not charged to the budget (if that start fails, the child is
  stopped for good and the caller gets the error).
- **Escalation.** The supervisor stops all its children in reverse start order (``on_stop``;
  their slots and queued messages are kept) and fails itself with an `EscalationError`
  carrying the child's error as ``__cause__`` and the restart history. Its parent then applies
  its own policy to the supervisor (escalation is always an abnormal exit, so a transient
  supervisor is restarted). A restarted supervisor starts afresh (empty history) and starts
  all its children again (``post_restart``): every child of its spec, those stopped for good
  meanwhile included, then the dynamic ones except the temporary. At the root, the system's
  fatal policy runs.
- **Stop.** Children are stopped in reverse start order, each given its shutdown timeout, and
  closed for good.

Shape: a planner and an executor. As OTP's ``supervisor.erl`` keeps its decisions in pure
functions, every decision here is taken by `supervision.decisions.plan`: a pure function of
the supervisor's `SupervisorState` (restart history, backoff counts), one event, the children
(by name, with their restart types), the policy and the current monotonic time. It returns a
`Decision` (resume; remove; stop these and start those, after this delay; escalate) and the
new state; the directive overrides, the budget and the backoff counting happen there.

This module is the executor. It turns the runtime's signals and the requests into events
(`ChildFailure`, `ChildExit`, `RestartFailure`, `StartDue`, `StopRequest`), calls `plan`,
keeps the state it returns, and carries the decision out on the children's slots
(`Supervisor._apply`). It raises the `EscalationError` in one place, `Supervisor._escalate`,
and only when a decision says so. What concerns threads and timers stays here: a late report
about an incarnation already gone is dropped before planning, a child already running is
skipped when a start is due, and pending delayed starts are timers kept by this actor.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from loguru import logger

from actors._spi import ChildExited, ChildFailed, Slot, SlotState
from actors.agent import AgentActor
from actors.errors import DuplicateName, StartFailed
from actors.events import AgentCrashed, Escalated, ExitReason
from actors.recording import summaries
from supervision._build import build
from supervision.decisions import (
    ChildExit,
    ChildFailure,
    Decision,
    Escalation,
    RestartFailure,
    StartDue,
    StopRequest,
    SupervisorEvent,
    SupervisorState,
    plan,
)
from supervision.errors import ChargedRestart, EscalationError, NameTaken
from supervision.spec import ChildSpec, Restart, SupervisorSpec, validate

if TYPE_CHECKING:
    from actors import Timer
    from actors.events import Event
    from actors.recording import Entry

__all__ = ["ChildInfo", "Supervisor"]


RESERVED_NAMES = frozenset({"root", "router"})  # the system's own slots


@dataclass(frozen=True, slots=True)
class ChildInfo:
    """One child as `SupervisorRef.children` reports it."""

    name: str
    kind: str  # "agent" or "supervisor"
    state: str  # a SlotState value
    restarts: int
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _StartLater:
    """Self-message: a delayed start is due (after a backoff, or to retry a failed restart).

    What it starts is kept by the supervisor under ``token`` (children stopped meanwhile are
    taken out); a start cancelled meanwhile is no longer there.
    """

    token: object
    cause: BaseException | None


class Supervisor(AgentActor):
    """A supervisor of a `SupervisorSpec`; see the module docstring. Not subclassed by users."""

    def __init__(self, spec: SupervisorSpec) -> None:
        super().__init__()
        self.spec = spec
        self._state = SupervisorState()
        # One entry per restart charged to the budget, aligned with the newest entries of
        # ``self._state.history`` (it is a window on the same sequence): who, why, and the
        # child's flight recording, for `EscalationError.history`.
        self._charges: list[tuple[str, str | None, tuple[Entry, ...]]] = []
        if self._slot is not None:  # a fresh instance starts with a fresh budget
            self._slot.restart_history = ()
        self._children = _ChildView(self)
        backoff = spec.policy.backoff
        self._backoff_delay = None if backoff is None else backoff.delay  # jitter: random
        # Delayed starts not done yet: what each one starts, and its timer (None: a message
        # already queued).
        self._pending: dict[object, tuple[tuple[str, ...], Timer | None]] = {}

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def _own(self) -> Slot:
        """The supervisor's own slot (its children are other slots)."""
        slot = self._slot
        assert slot is not None
        return slot

    @functools.cached_property
    def _names_map(self) -> Mapping[str, Slot]:
        return self._own.runtime.router.table.names  # a live view: read once, asked often

    def on_start(self) -> None:
        """Start every child in spec order; on a failure stop the started ones and re-raise.

        A supervisor started again (``restart_child`` of its own supervisor) brings back
        every child of its spec first, as `post_restart` does.
        """
        self._restore_spec_children()
        self._start_all()

    def post_restart(self, error: BaseException) -> None:
        """Start every child of the spec again (as OTP does), then the dynamic ones.

        A spec child that was stopped for good meanwhile (a decider's ``STOP``, ``stop_child``)
        comes back as a fresh own under its name, temporary ones too (a fresh OTP supervisor
        starts its whole child list); children added later with ``SupervisorRef.spawn`` are
        restarted after the spec's, except temporary ones, which are dropped.

        Raises:
            StartFailed: if a child failed to start, or a stopped spec child's name was
                taken meanwhile (the restart fails, and the parent's policy applies).
        """
        in_spec = {id(child_spec) for child_spec in self.spec.children}
        for child in list(self._own.children):
            if _restart_type(child) is Restart.TEMPORARY and id(child.spec) not in in_spec:
                self._remove(child, ExitReason.FAILED)  # a dynamic temporary child: dropped
        self._restore_spec_children()
        self._start_all()

    def _restore_spec_children(self) -> None:
        """Fresh slots for the spec's children that were stopped for good; spec order first."""
        own = self._own
        by_spec = {id(child.spec): child for child in own.children}
        children: dict[Slot, None] = {}
        for child_spec in self.spec.children:
            slot = by_spec.pop(id(child_spec), None)
            if slot is None:
                slot = self._rebuild(child_spec)
            children[slot] = None
        for slot in own.children:  # the dynamic ones, in their start order
            if id(slot.spec) in by_spec:
                children[slot] = None
        own.children = children

    def _rebuild(self, spec: ChildSpec | SupervisorSpec) -> Slot:
        """A fresh, registered own (subtree) for a spec child that was stopped for good."""
        own = self._own
        slot = build(own.runtime, spec, own, Supervisor)
        try:
            self._register(slot.subtree())
        except DuplicateName as exc:  # taken meanwhile: this restart fails, and is charged
            msg = f"child {exc.name!r} of {own.name!r} cannot come back: {exc}"
            raise NameTaken(msg, exc.name) from None
        return slot

    def _start_all(self) -> None:
        started: list[Slot] = []
        for child in list(self._own.children):
            try:
                child.start()
            except StartFailed:
                for done in reversed(started):
                    done.terminate(restart=False, cause=None, timeout=done.options.shutdown_timeout)
                raise
            started.append(child)

    def pre_restart(self, error: BaseException | None, envelope: Any) -> None:
        """Make sure no child is left running (escalation already stopped them)."""
        self.on_stop()

    def on_stop(self) -> None:
        """Stop every child's incarnation, in reverse start order.

        The children's slots (names, queues) are kept: whoever retires this supervisor for
        good closes the whole subtree (`Slot.close_subtree`); a restart starts them again.
        """
        self._cancel_pending()
        for child in reversed(list(self._own.children)):
            child.terminate(restart=False, cause=None, timeout=child.options.shutdown_timeout)

    # -- events: signals in, decisions out ----------------------------------------------------

    def _on_control(self, item: object) -> None:
        if isinstance(item, ChildFailed):
            self._child_failed(item)
        elif isinstance(item, ChildExited):
            if self._current(item.slot, item.incarnation):
                self._apply(self._plan(ChildExit(item.slot.name, item.reason)))
        elif isinstance(item, _StartLater):
            pending = self._pending.pop(item.token, None)
            if pending is not None:  # else cancelled meanwhile
                self._apply(self._plan(StartDue(pending[0], item.cause)))
        else:
            super()._on_control(item)

    def _current(self, slot: Slot, incarnation: int) -> bool:
        return slot in self._own.children and slot.incarnation == incarnation  # O(1): a dict

    def _child_failed(self, signal: ChildFailed) -> None:
        slot, error = signal.slot, signal.error
        if not self._current(slot, signal.incarnation):
            return  # a late report about an incarnation that is already gone
        alive = slot.thread is not None and slot.thread.is_alive()
        if self.spec.policy.reset_on_success and _succeeded(slot):
            self._forgive(slot.name)
        decision = self._plan(ChildFailure(slot.name, error, alive=alive), signal.recent)
        if decision.decider_error is not None:
            logger.opt(exception=decision.decider_error).error(
                "decider of {!r} raised; escalating", self.spec.name
            )
        if decision.directive is not None:
            directive = decision.directive.value
            slot.log.info("supervisor {!r}: {} after {!r}", self.spec.name, directive, error)
            self._publish_crash(slot, error, directive, signal.recent)
        self._apply(decision)

    def _forgive(self, child: str) -> None:
        """``reset_on_success``: take ``child``'s restarts out of the window."""
        history = self._state.history
        charges = self._charges[-len(history) :] if history else []
        if len(charges) != len(history):
            return  # not aligned (cannot happen): keep counting rather than guess
        kept = [i for i, (name, _, _) in enumerate(charges) if name != child]
        if len(kept) == len(history):
            return
        self._state = SupervisorState(tuple(history[i] for i in kept), self._state.backoff)
        self._charges = [charges[i] for i in kept]
        self._own.restart_history = self._state.history

    def _plan(self, event: SupervisorEvent, recent: tuple[Entry, ...] = ()) -> Decision:
        """Decide about ``event`` (`plan`) and keep the state the decision comes with.

        ``recent``: the failing child's flight recording, kept with a restart it is charged.
        """
        spec = self.spec
        before = self._state.history
        decision = plan(
            self._state,
            event,
            self._children,
            strategy=spec.strategy,
            policy=spec.policy,
            now=self._now(),
            backoff_delay=self._backoff_delay,
        )
        self._state = decision.state
        history = decision.state.history
        if history is not before:  # a restart was charged (the window may have moved too)
            error = getattr(event, "error", None)
            self._charges.append((_child_of(event), None if error is None else repr(error), recent))
            del self._charges[: -len(history)]
        self._own.restart_history = history  # for tree snapshots
        return decision

    def _apply(self, decision: Decision) -> None:
        """Carry out ``decision``, in the order `Decision` documents.

        Raises:
            EscalationError: if the decision is to escalate (nothing else is done then).
        """
        if decision.escalation is not None:
            self._escalate(decision.escalation)
        if decision.resume is not None:
            resumed = self._child(decision.resume)
            if resumed is not None:
                resumed.resume()
            return  # a resume decides nothing else
        for slot in self._slots(decision.remove):
            self._remove(slot, decision.reason)
        for slot in self._slots(decision.stop):
            slot.terminate(
                restart=True, cause=decision.cause, timeout=slot.options.shutdown_timeout
            )
        for slot in self._slots(decision.drop):
            self._close(slot, ExitReason.NORMAL)
        if not decision.start:
            return
        if decision.delay is None:
            self._start(decision.start, decision.cause)
        else:
            self._later(decision.start, decision.cause, decision.delay)

    # -- carrying decisions out ---------------------------------------------------------------

    def _slots(self, names: tuple[str, ...]) -> Iterator[Slot]:
        """The children named ``names``, in that order, skipping any that is gone."""
        for name in names:
            slot = self._child(name)
            if slot is not None:
                yield slot

    def _start(self, names: tuple[str, ...], cause: BaseException | None) -> None:
        """Start ``names`` in order; a start that fails is an event (`RestartFailure`)."""
        started: list[str] = []
        for name in names:
            slot = self._child(name)
            if slot is None or slot.state in _RUNNING:
                continue  # removed while waiting, or restarted meanwhile (restart_child)
            try:
                slot.start(cause)
            except StartFailed as exc:
                error = exc.__cause__ or exc  # the slot published AgentCrashed already
                self._apply(self._plan(RestartFailure(name, error, names, tuple(started))))
                return
            started.append(name)

    def _later(self, names: tuple[str, ...], cause: BaseException | None, delay: float) -> None:
        """Start ``names`` by a message to this supervisor, after ``delay`` seconds."""
        token = object()
        message = _StartLater(token, cause)
        if delay <= 0:
            self._pending[token] = (names, None)
            self._own.mailbox.put_control(message)
            return
        for slot in self._slots(names):
            slot.transition(SlotState.RESTARTING)  # backing off: not running, not stopped
        self._pending[token] = (names, self._call_later(delay, message))

    def _escalate(self, escalation: Escalation) -> NoReturn:
        """Stop every child and fail this supervisor: the one place an escalation is raised."""
        own = self._own
        logger.bind(system=own.runtime.name, agent=own.name).warning(
            "supervisor {!r} escalates: {} (child {!r}: {!r})",
            own.name,
            escalation.reason,
            escalation.child,
            escalation.cause,
        )
        self.on_stop()
        times = self._wall_times(self._state.history)
        charges = [("", None, ())] * (len(times) - len(self._charges)) + self._charges
        history = (
            tuple(
                ChargedRestart(at, child, error, summaries(recent))
                for at, (child, error, recent) in zip(times, charges[-len(times) :], strict=False)
            )
            if times
            else ()
        )
        error = EscalationError(
            own.name, escalation.child, escalation.reason, history, escalation.cause
        )
        self._publish(Escalated, supervisor=own.name, cause=str(error))
        raise error

    def _forget_pending(self, name: str) -> None:
        """Take ``name`` out of the delayed starts; cancel those left with nothing to start."""
        for token, (names, timer) in list(self._pending.items()):
            if name not in names:
                continue
            rest = tuple(other for other in names if other != name)
            if rest:
                self._pending[token] = (rest, timer)
                continue
            del self._pending[token]
            if timer is not None:
                timer.cancel()

    def _cancel_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for _, timer in pending.values():
            if timer is not None:
                timer.cancel()

    def _remove(self, slot: Slot, reason: ExitReason) -> None:
        """Stop ``slot`` for good and forget it."""
        slot.terminate(restart=False, cause=None, timeout=slot.options.shutdown_timeout)
        self._close(slot, reason)

    def _close(self, slot: Slot, reason: ExitReason) -> None:
        self._own.children.pop(slot, None)
        self._forget_pending(slot.name)
        slot.close_subtree(reason)

    def _publish_crash(
        self, slot: Slot, error: BaseException, directive: str, recent: tuple[Entry, ...]
    ) -> None:
        if not self._own.runtime.events.wants(AgentCrashed):
            return  # repr() of an error is not free
        self._publish(
            AgentCrashed,
            name=slot.name,
            error=repr(error),
            error_type=f"{type(error).__module__}.{type(error).__qualname__}",
            directive=directive,
            recent=summaries(recent),
        )

    # -- requests from SupervisorRef (run in this supervisor's thread) ------------------------

    def add_child(self, spec: ChildSpec | SupervisorSpec) -> Slot:
        """Validate, register and start a new child; it is removed again if it fails to start.

        Raises:
            InvalidTree: for a bad spec or a name already taken.
            StartFailed: if it (or anything in its subtree) failed to start.
        """
        own = self._own
        validate(spec, _Taken(self._names()))
        slot = build(own.runtime, spec, own, Supervisor)
        slots = slot.subtree()
        try:
            self._register(slots)
        except DuplicateName as exc:  # taken meanwhile, by a spawn under another supervisor
            raise NameTaken(str(exc), exc.name) from None
        try:
            slot.start()
        except BaseException:
            slot.close_subtree(ExitReason.START_FAILED)
            raise
        own.children[slot] = None
        return slot

    def stop_child(self, name: str) -> bool:
        """Stop the child ``name`` for good; False if there is no such child."""
        decision = self._plan(StopRequest(name))
        self._apply(decision)
        return bool(decision.remove)

    def restart_child(self, name: str) -> bool:
        """Restart the child ``name`` now (not charged to the budget); False if unknown.

        Raises:
            StartFailed: if the new incarnation failed to start (the child is then stopped).
        """
        slot = self._child(name)
        if slot is None:
            return False
        self._forget_pending(name)  # a backoff's delayed start must not start it a second time
        slot.terminate(restart=True, cause=None, timeout=slot.options.shutdown_timeout)
        try:
            slot.start()
        except StartFailed:
            self._state = self._state.forget(name)
            self._close(slot, ExitReason.FAILED)
            raise
        return True

    def children_info(self) -> list[ChildInfo]:
        """The children, in start order."""
        return [
            ChildInfo(c.name, c.kind, c.state.value, c.restarts, tuple(sorted(c.roles)))
            for c in self._own.children
        ]

    def _child(self, name: str) -> Slot | None:
        slot = self._names().get(name)  # O(1), not a scan
        return slot if slot is not None and slot in self._own.children else None

    # -- the runtime this actor uses, each in one place ---------------------------------------

    def _now(self) -> float:
        return self._own.runtime.clock.monotonic()

    def _wall_times(self, times: tuple[float, ...]) -> tuple[datetime, ...]:
        """Monotonic readings as wall-clock times (UTC)."""
        clock = self._own.runtime.clock
        offset = clock.time() - clock.monotonic()
        return tuple(datetime.fromtimestamp(t + offset, tz=UTC) for t in times)

    def _call_later(self, delay: float, message: _StartLater) -> Timer:
        own = self._own
        return own.runtime.timers.call_later(delay, lambda: own.mailbox.put_control(message))

    def _publish(self, event_type: type[Event], **fields: Any) -> None:
        self._own.runtime.publish(event_type, **fields)

    def _register(self, slots: list[Slot]) -> None:
        self._own.runtime.register(slots)

    def _names(self) -> Mapping[str, Slot]:
        """Every name taken in the system (a live mapping: asked, never copied)."""
        return self._names_map


_RUNNING = frozenset({SlotState.STARTING, SlotState.RUNNING, SlotState.SUSPENDED})


class _ChildView:
    """A supervisor's children as `plan` reads them: names in start order, restart types.

    A live view, nothing copied: ``in`` and ``[]`` cost one lookup by name at any size.
    """

    __slots__ = ("_supervisor",)

    def __init__(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._supervisor._child(name) is not None

    def __iter__(self) -> Iterator[str]:
        return (slot.name for slot in self._supervisor._own.children)

    def __reversed__(self) -> Iterator[str]:
        return (slot.name for slot in reversed(self._supervisor._own.children))

    def __getitem__(self, name: str) -> Restart:
        slot = self._supervisor._child(name)
        if slot is None:
            raise KeyError(name)
        return _restart_type(slot)


class _Taken:
    """Names in use: the system's, plus the reserved ones. Asked ``in``, never copied."""

    __slots__ = ("_names",)

    def __init__(self, names: Mapping[str, object]) -> None:
        self._names = names

    def __contains__(self, name: object) -> bool:
        return name in self._names or name in RESERVED_NAMES


def _restart_type(slot: Slot) -> Restart:
    spec = slot.spec
    if isinstance(spec, ChildSpec | SupervisorSpec):
        return spec.restart
    return Restart.PERMANENT


def _child_of(event: SupervisorEvent) -> str:
    """The child (or children) a planner event is about."""
    child = getattr(event, "child", None)
    return child if isinstance(child, str) else ", ".join(getattr(event, "children", ()))


def _succeeded(slot: Slot) -> bool:
    """True if ``slot`` handled a message successfully since its latest (re)start."""
    stats = slot.stats
    return stats is not None and stats.handled() > slot.handled_at_start
