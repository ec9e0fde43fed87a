"""The supervisor actor: Erlang/OTP's ``supervisor`` semantics, with Akka's mailboxes.

Behaviour, in full:

- **Start.** Children start one at a time, in spec order; each start waits until the child's
  ``on_start`` returned. If one fails during the supervisor's *initial* start, the children
  already started are stopped in reverse order and the error goes back to whoever started the
  tree (nothing is retried and no budget is charged).
- **Failure of a child** (a handler, ``on_start`` or ``post_restart`` raised, or its thread
  died): the child has already dead-lettered (or kept, with ``retry_failed``) the failing
  message and waits, suspended, for a directive, while its mailbox keeps queueing. The
  decider maps the error to a `Directive`:
  - ``RESUME``: the same instance goes on with the next message;
  - ``STOP``: the child is stopped for good (watchers get `Terminated`);
  - ``ESCALATE``: see below;
  - ``RESTART``: unless its restart type forbids it (``TEMPORARY``: stopped for good
    instead), one restart is charged against the budget (`add_restart`); if that exceeds
    ``max_restarts`` within ``within`` seconds the supervisor escalates. Otherwise the
    strategy picks the children to restart (`affected`); they are stopped in reverse start
    order (``pre_restart`` runs on each old instance) and started again in start order
    (``post_restart``), after the backoff delay if one is configured. A restart attempt that
    fails (the new ``post_restart`` raises) is charged too and retried by a message to
    itself, so a stop or shutdown request still gets through between attempts.
- **A child that stops by itself** (``self.stop()``): a ``PERMANENT`` child is restarted (and
  charged), a ``TRANSIENT`` or ``TEMPORARY`` one is removed; a child that reached its
  ``max_messages`` guard is always removed.
- **Escalation.** The supervisor stops all its children in reverse start order (``on_stop``;
  their slots and queued messages are kept) and fails itself with an `EscalationError`
  carrying the child's error as ``__cause__`` and the restart history. Its parent then applies
  its own policy to the supervisor (escalation is always an abnormal exit, so a transient
  supervisor is restarted); a restarted supervisor starts all its children again. At the
  root, the system's fatal policy runs.
- **Stop.** Children are stopped in reverse start order, each given its shutdown timeout, and
  closed for good.

The three decisions are pure functions in `supervision.intensity` and `supervision.decisions`;
this module only dispatches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loguru import logger

from actors._spi import ChildExited, ChildFailed, Slot, SlotState
from actors.agent import AgentActor
from actors.errors import DuplicateName, StartFailed
from actors.events import AgentCrashed, Escalated, ExitReason
from supervision.decisions import affected, should_restart
from supervision.errors import EscalationError, NameTaken
from supervision.intensity import add_restart
from supervision.policy import Directive
from supervision.spec import ChildSpec, Restart, Strategy, SupervisorSpec, validate
from supervision.tree import build

if TYPE_CHECKING:
    from actors import Timer

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
    """Self-message: start ``slots`` now (after a backoff, or to retry a failed restart)."""

    token: object
    slots: tuple[Slot, ...]
    cause: BaseException | None


class Supervisor(AgentActor):
    """A supervisor of a `SupervisorSpec`; see the module docstring. Not subclassed by users."""

    def __init__(self, spec: SupervisorSpec) -> None:
        super().__init__()
        self.spec = spec
        self._history: tuple[float, ...] = ()
        self._attempts: dict[Slot, int] = {}  # consecutive backoff restarts per child
        self._last_restart: dict[Slot, float] = {}
        self._pending: dict[object, Timer | None] = {}  # delayed starts not yet done
        self._pending_slots: dict[object, tuple[Slot, ...]] = {}  # what each one starts

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def _own(self) -> Slot:
        """The supervisor's own slot (its children are other slots)."""
        slot = self._slot
        assert slot is not None
        return slot

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
        slot = build(own.runtime, spec, own)
        try:
            own.runtime.register(slot.subtree())
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

    # -- signals from children ----------------------------------------------------------------

    def _on_control(self, item: object) -> None:
        if isinstance(item, ChildFailed):
            self._child_failed(item)
        elif isinstance(item, ChildExited):
            self._child_exited(item)
        elif isinstance(item, _StartLater):
            self._pending_slots.pop(item.token, None)
            if self._pending.pop(item.token, False) is not False:
                self._start(item.slots, item.cause)
        else:
            super()._on_control(item)

    def _current(self, slot: Slot, incarnation: int) -> bool:
        return slot in self._own.children and slot.incarnation == incarnation  # O(1): a dict

    def _child_failed(self, signal: ChildFailed) -> None:
        slot, error = signal.slot, signal.error
        if not self._current(slot, signal.incarnation):
            return  # a late report about an incarnation that is already gone
        try:
            directive = self.spec.policy.decider(error)
        except Exception:  # noqa: BLE001 - a broken decider escalates
            logger.opt(exception=True).error("decider of {!r} raised; escalating", self.spec.name)
            directive = Directive.ESCALATE
        if directive is Directive.RESUME and not (slot.thread and slot.thread.is_alive()):
            directive = Directive.RESTART  # its thread died: there is nothing to resume
        if directive is Directive.RESTART and not should_restart(
            _restart_type(slot), abnormal=True
        ):
            directive = Directive.STOP  # a temporary child is never restarted
        slot.log.info("supervisor {!r}: {} after {!r}", self.spec.name, directive.value, error)
        _publish_crash(slot, error, directive.value)
        if directive is Directive.RESUME:
            slot.resume()
        elif directive is Directive.STOP:
            self._remove(slot, ExitReason.FAILED)
        elif directive is Directive.ESCALATE:
            self._escalate(slot, error, "decider chose escalate")
        else:
            self._restart(slot, error)

    def _child_exited(self, signal: ChildExited) -> None:
        slot = signal.slot
        if not self._current(slot, signal.incarnation):
            return
        if signal.reason is ExitReason.NORMAL and should_restart(
            _restart_type(slot), abnormal=False
        ):
            self._restart(slot, None)
        else:
            self._remove(slot, signal.reason)

    # -- restarting ---------------------------------------------------------------------------

    def _charge(self, slot: Slot, error: BaseException | None) -> None:
        """Charge one restart against the budget; escalate (raise) if it is exhausted."""
        policy = self.spec.policy
        now = self._own.runtime.clock.monotonic()
        allowed, self._history = add_restart(self._history, now, policy.max_restarts, policy.within)
        if not allowed:
            cause = error if error is not None else RuntimeError(f"{slot.name!r} kept exiting")
            self._escalate(slot, cause, "restart budget exhausted")

    def _restart(self, slot: Slot, error: BaseException | None) -> None:
        self._charge(slot, error)
        targets = affected(self.spec.strategy, self._own.children, slot)
        for target in reversed(targets):
            target.terminate(restart=True, cause=error, timeout=target.options.shutdown_timeout)
        # A temporary sibling caught in the strategy is removed, never restarted (as in OTP).
        kept = []
        for target in targets:
            if target is not slot and _restart_type(target) is Restart.TEMPORARY:
                self._close(target, ExitReason.NORMAL)
            else:
                kept.append(target)
        self._start_after_backoff(slot, tuple(kept), error)

    def _start_after_backoff(
        self, slot: Slot, targets: tuple[Slot, ...], error: BaseException | None
    ) -> None:
        backoff = self.spec.policy.backoff
        if backoff is None:
            self._start(targets, error)
            return
        now = self._own.runtime.clock.monotonic()
        last = self._last_restart.get(slot)
        attempt = 0 if last is None or now - last >= backoff.reset_after else self._attempts[slot]
        self._attempts[slot] = attempt + 1
        delay = backoff.delay(attempt)
        self._last_restart[slot] = now + delay  # it runs again from then on
        if delay <= 0:
            self._start(targets, error)
            return
        for target in targets:
            target.state = SlotState.RESTARTING
        self._later(targets, error, delay)

    def _later(self, slots: tuple[Slot, ...], cause: BaseException | None, delay: float) -> None:
        """Start ``slots`` after ``delay`` seconds, by a message to this supervisor."""
        token = object()
        own = self._own
        message = _StartLater(token, slots, cause)
        self._pending_slots[token] = slots
        if delay <= 0:
            self._pending[token] = None
            own.mailbox.put_control(message)
            return
        self._pending[token] = own.runtime.timers.call_later(
            delay, lambda: own.mailbox.put_control(message)
        )

    def _start(self, slots: tuple[Slot, ...], cause: BaseException | None) -> None:
        started: list[Slot] = []
        for index, slot in enumerate(slots):
            if slot not in self._own.children or slot.state in _RUNNING:
                continue  # removed while waiting, or restarted meanwhile (restart_child)
            try:
                slot.start(cause)
            except StartFailed as exc:
                error = exc.__cause__ or exc  # the slot published AgentCrashed already
                self._charge(slot, error)
                if self.spec.strategy is Strategy.ONE_FOR_ALL:
                    # As OTP: the group goes down again and is restarted as a whole.
                    for done in reversed(started):
                        done.terminate(
                            restart=True, cause=error, timeout=done.options.shutdown_timeout
                        )
                    self._later(slots, error, 0.0)
                else:
                    self._later(slots[index:], error, 0.0)
                return
            started.append(slot)

    def _escalate(self, slot: Slot, error: BaseException, reason: str) -> None:
        own = self._own
        logger.bind(system=own.runtime.name, agent=own.name).warning(
            "supervisor {!r} escalates: {} (child {!r}: {!r})", own.name, reason, slot.name, error
        )
        self.on_stop()
        clock = own.runtime.clock
        offset = clock.time() - clock.monotonic()  # monotonic readings -> wall-clock times
        history = tuple(datetime.fromtimestamp(t + offset, tz=UTC) for t in self._history)
        escalation = EscalationError(own.name, slot.name, reason, history, error)
        own.runtime.publish(Escalated, supervisor=own.name, cause=str(escalation))
        raise escalation

    def _forget_pending(self, slot: Slot) -> None:
        """Cancel a delayed start that concerns ``slot`` alone (it was restarted or removed)."""
        for token, timer in list(self._pending.items()):
            if self._pending_slots.get(token) == (slot,):
                del self._pending[token]
                self._pending_slots.pop(token, None)
                if timer is not None:
                    timer.cancel()

    def _cancel_pending(self) -> None:
        pending, self._pending = self._pending, {}
        self._pending_slots.clear()
        for timer in pending.values():
            if timer is not None:
                timer.cancel()

    def _remove(self, slot: Slot, reason: ExitReason) -> None:
        """Stop ``slot`` for good and forget it."""
        slot.terminate(restart=False, cause=None, timeout=slot.options.shutdown_timeout)
        self._close(slot, reason)

    def _close(self, slot: Slot, reason: ExitReason) -> None:
        self._own.children.pop(slot, None)
        self._forget_pending(slot)
        self._attempts.pop(slot, None)
        self._last_restart.pop(slot, None)
        slot.close_subtree(reason)

    # -- requests from SupervisorRef (run in this supervisor's thread) ------------------------

    def add_child(self, spec: ChildSpec | SupervisorSpec) -> Slot:
        """Validate, register and start a new child; it is removed again if it fails to start.

        Raises:
            InvalidTree: for a bad spec or a name already taken.
            StartFailed: if it (or anything in its subtree) failed to start.
        """
        own = self._own
        validate(spec, _Taken(own.runtime.router.table.names))
        slot = build(own.runtime, spec, own)
        slots = slot.subtree()
        try:
            own.runtime.register(slots)
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
        slot = self._child(name)
        if slot is None:
            return False
        self._remove(slot, ExitReason.NORMAL)
        return True

    def restart_child(self, name: str) -> bool:
        """Restart the child ``name`` now (not charged to the budget); False if unknown.

        Raises:
            StartFailed: if the new incarnation failed to start (the child is then stopped).
        """
        slot = self._child(name)
        if slot is None:
            return False
        self._forget_pending(slot)  # a backoff's delayed start must not start it a second time
        slot.terminate(restart=True, cause=None, timeout=slot.options.shutdown_timeout)
        try:
            slot.start()
        except StartFailed:
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
        slot = self._own.runtime.router.table.names.get(name)  # O(1), not a scan
        return slot if slot is not None and slot in self._own.children else None


_RUNNING = frozenset({SlotState.STARTING, SlotState.RUNNING, SlotState.SUSPENDED})


class _Taken:
    """Names in use: the system's, plus the reserved ones. Asked ``in``, never copied."""

    __slots__ = ("_names",)

    def __init__(self, names: Mapping[str, object]) -> None:
        self._names = names

    def __contains__(self, name: object) -> bool:
        return name in self._names or name in RESERVED_NAMES


def _publish_crash(slot: Slot, error: BaseException, directive: str) -> None:
    slot.runtime.publish(
        AgentCrashed,
        name=slot.name,
        error=repr(error),
        error_type=f"{type(error).__module__}.{type(error).__qualname__}",
        directive=directive,
    )


def _restart_type(slot: Slot) -> Restart:
    spec = slot.spec
    if isinstance(spec, ChildSpec | SupervisorSpec):
        return spec.restart
    return Restart.PERMANENT
