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

from actors._cell import Cell, CellState
from actors._signals import ChildExited, ChildFailed
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
    from actors.timers import Timer

__all__ = ["ChildInfo", "Supervisor"]


RESERVED_NAMES = frozenset({"root", "router"})  # the system's own slots


@dataclass(frozen=True, slots=True)
class ChildInfo:
    """One child as `SupervisorRef.children` reports it."""

    name: str
    kind: str  # "agent" or "supervisor"
    state: str  # a CellState value
    restarts: int
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _StartLater:
    """Self-message: start ``cells`` now (after a backoff, or to retry a failed restart)."""

    token: object
    cells: tuple[Cell, ...]
    cause: BaseException | None


class Supervisor(AgentActor):
    """A supervisor of a `SupervisorSpec`; see the module docstring. Not subclassed by users."""

    def __init__(self, spec: SupervisorSpec) -> None:
        super().__init__()
        self.spec = spec
        self._history: tuple[float, ...] = ()
        self._attempts: dict[Cell, int] = {}  # consecutive backoff restarts per child
        self._last_restart: dict[Cell, float] = {}
        self._pending: dict[object, Timer | None] = {}  # delayed starts not yet done
        self._pending_cells: dict[object, tuple[Cell, ...]] = {}  # what each one starts

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def _slot(self) -> Cell:
        cell = self._cell
        assert cell is not None
        return cell

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
        comes back as a fresh slot under its name, temporary ones too (a fresh OTP supervisor
        starts its whole child list); children added later with ``SupervisorRef.spawn`` are
        restarted after the spec's, except temporary ones, which are dropped.

        Raises:
            StartFailed: if a child failed to start, or a stopped spec child's name was
                taken meanwhile (the restart fails, and the parent's policy applies).
        """
        in_spec = {id(child_spec) for child_spec in self.spec.children}
        for child in list(self._slot.children):
            if _restart_type(child) is Restart.TEMPORARY and id(child.spec) not in in_spec:
                self._remove(child, ExitReason.FAILED)  # a dynamic temporary child: dropped
        self._restore_spec_children()
        self._start_all()

    def _restore_spec_children(self) -> None:
        """Fresh slots for the spec's children that were stopped for good; spec order first."""
        slot = self._slot
        by_spec = {id(child.spec): child for child in slot.children}
        children: dict[Cell, None] = {}
        for child_spec in self.spec.children:
            cell = by_spec.pop(id(child_spec), None)
            if cell is None:
                cell = self._rebuild(child_spec)
            children[cell] = None
        for cell in slot.children:  # the dynamic ones, in their start order
            if id(cell.spec) in by_spec:
                children[cell] = None
        slot.children = children

    def _rebuild(self, spec: ChildSpec | SupervisorSpec) -> Cell:
        """A fresh, registered slot (subtree) for a spec child that was stopped for good."""
        slot = self._slot
        cell = build(slot.system, spec, slot)
        try:
            slot.system._register(cell.subtree())
        except DuplicateName as exc:  # taken meanwhile: this restart fails, and is charged
            msg = f"child {exc.name!r} of {slot.name!r} cannot come back: {exc}"
            raise NameTaken(msg, exc.name) from None
        return cell

    def _start_all(self) -> None:
        started: list[Cell] = []
        for child in list(self._slot.children):
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
        good closes the whole subtree (`Cell.close_subtree`); a restart starts them again.
        """
        self._cancel_pending()
        for child in reversed(list(self._slot.children)):
            child.terminate(restart=False, cause=None, timeout=child.options.shutdown_timeout)

    # -- signals from children ----------------------------------------------------------------

    def _on_control(self, item: object) -> None:
        if isinstance(item, ChildFailed):
            self._child_failed(item)
        elif isinstance(item, ChildExited):
            self._child_exited(item)
        elif isinstance(item, _StartLater):
            self._pending_cells.pop(item.token, None)
            if self._pending.pop(item.token, False) is not False:
                self._start(item.cells, item.cause)
        else:
            super()._on_control(item)

    def _current(self, cell: Cell, incarnation: int) -> bool:
        return cell in self._slot.children and cell.incarnation == incarnation  # O(1): a dict

    def _child_failed(self, signal: ChildFailed) -> None:
        cell, error = signal.cell, signal.error
        if not self._current(cell, signal.incarnation):
            return  # a late report about an incarnation that is already gone
        try:
            directive = self.spec.policy.decider(error)
        except Exception:  # noqa: BLE001 - a broken decider escalates
            logger.opt(exception=True).error("decider of {!r} raised; escalating", self.spec.name)
            directive = Directive.ESCALATE
        if directive is Directive.RESUME and not (cell.thread and cell.thread.is_alive()):
            directive = Directive.RESTART  # its thread died: there is nothing to resume
        if directive is Directive.RESTART and not should_restart(
            _restart_type(cell), abnormal=True
        ):
            directive = Directive.STOP  # a temporary child is never restarted
        cell.log.info("supervisor {!r}: {} after {!r}", self.spec.name, directive.value, error)
        _publish_crash(cell, error, directive.value)
        if directive is Directive.RESUME:
            cell.resume()
        elif directive is Directive.STOP:
            self._remove(cell, ExitReason.FAILED)
        elif directive is Directive.ESCALATE:
            self._escalate(cell, error, "decider chose escalate")
        else:
            self._restart(cell, error)

    def _child_exited(self, signal: ChildExited) -> None:
        cell = signal.cell
        if not self._current(cell, signal.incarnation):
            return
        if signal.reason is ExitReason.NORMAL and should_restart(
            _restart_type(cell), abnormal=False
        ):
            self._restart(cell, None)
        else:
            self._remove(cell, signal.reason)

    # -- restarting ---------------------------------------------------------------------------

    def _charge(self, cell: Cell, error: BaseException | None) -> None:
        """Charge one restart against the budget; escalate (raise) if it is exhausted."""
        policy = self.spec.policy
        now = self._slot.system.clock.monotonic()
        allowed, self._history = add_restart(self._history, now, policy.max_restarts, policy.within)
        if not allowed:
            cause = error if error is not None else RuntimeError(f"{cell.name!r} kept exiting")
            self._escalate(cell, cause, "restart budget exhausted")

    def _restart(self, cell: Cell, error: BaseException | None) -> None:
        self._charge(cell, error)
        targets = affected(self.spec.strategy, self._slot.children, cell)
        for target in reversed(targets):
            target.terminate(restart=True, cause=error, timeout=target.options.shutdown_timeout)
        # A temporary sibling caught in the strategy is removed, never restarted (as in OTP).
        kept = []
        for target in targets:
            if target is not cell and _restart_type(target) is Restart.TEMPORARY:
                self._close(target, ExitReason.NORMAL)
            else:
                kept.append(target)
        self._start_after_backoff(cell, tuple(kept), error)

    def _start_after_backoff(
        self, cell: Cell, targets: tuple[Cell, ...], error: BaseException | None
    ) -> None:
        backoff = self.spec.policy.backoff
        if backoff is None:
            self._start(targets, error)
            return
        now = self._slot.system.clock.monotonic()
        last = self._last_restart.get(cell)
        attempt = 0 if last is None or now - last >= backoff.reset_after else self._attempts[cell]
        self._attempts[cell] = attempt + 1
        delay = backoff.delay(attempt)
        self._last_restart[cell] = now + delay  # it runs again from then on
        if delay <= 0:
            self._start(targets, error)
            return
        for target in targets:
            target.state = CellState.RESTARTING
        self._later(targets, error, delay)

    def _later(self, cells: tuple[Cell, ...], cause: BaseException | None, delay: float) -> None:
        """Start ``cells`` after ``delay`` seconds, by a message to this supervisor."""
        token = object()
        slot = self._slot
        message = _StartLater(token, cells, cause)
        self._pending_cells[token] = cells
        if delay <= 0:
            self._pending[token] = None
            slot.mailbox.put_control(message)
            return
        self._pending[token] = slot.system.timers.call_later(
            delay, lambda: slot.mailbox.put_control(message)
        )

    def _start(self, cells: tuple[Cell, ...], cause: BaseException | None) -> None:
        started: list[Cell] = []
        for index, cell in enumerate(cells):
            if cell not in self._slot.children or cell.state in _RUNNING:
                continue  # removed while waiting, or restarted meanwhile (restart_child)
            try:
                cell.start(cause)
            except StartFailed as exc:
                error = exc.__cause__ or exc  # the cell published AgentCrashed already
                self._charge(cell, error)
                if self.spec.strategy is Strategy.ONE_FOR_ALL:
                    # As OTP: the group goes down again and is restarted as a whole.
                    for done in reversed(started):
                        done.terminate(
                            restart=True, cause=error, timeout=done.options.shutdown_timeout
                        )
                    self._later(cells, error, 0.0)
                else:
                    self._later(cells[index:], error, 0.0)
                return
            started.append(cell)

    def _escalate(self, cell: Cell, error: BaseException, reason: str) -> None:
        slot = self._slot
        logger.bind(system=slot.system.name, agent=slot.name).warning(
            "supervisor {!r} escalates: {} (child {!r}: {!r})", slot.name, reason, cell.name, error
        )
        self.on_stop()
        clock = slot.system.clock
        offset = clock.time() - clock.monotonic()  # monotonic readings -> wall-clock times
        history = tuple(datetime.fromtimestamp(t + offset, tz=UTC) for t in self._history)
        escalation = EscalationError(slot.name, cell.name, reason, history, error)
        slot.system._publish(Escalated, supervisor=slot.name, cause=str(escalation))
        raise escalation

    def _forget_pending(self, cell: Cell) -> None:
        """Cancel a delayed start that concerns ``cell`` alone (it was restarted or removed)."""
        for token, timer in list(self._pending.items()):
            if self._pending_cells.get(token) == (cell,):
                del self._pending[token]
                self._pending_cells.pop(token, None)
                if timer is not None:
                    timer.cancel()

    def _cancel_pending(self) -> None:
        pending, self._pending = self._pending, {}
        self._pending_cells.clear()
        for timer in pending.values():
            if timer is not None:
                timer.cancel()

    def _remove(self, cell: Cell, reason: ExitReason) -> None:
        """Stop ``cell`` for good and forget it."""
        cell.terminate(restart=False, cause=None, timeout=cell.options.shutdown_timeout)
        self._close(cell, reason)

    def _close(self, cell: Cell, reason: ExitReason) -> None:
        self._slot.children.pop(cell, None)
        self._forget_pending(cell)
        self._attempts.pop(cell, None)
        self._last_restart.pop(cell, None)
        cell.close_subtree(reason)

    # -- requests from SupervisorRef (run in this supervisor's thread) ------------------------

    def add_child(self, spec: ChildSpec | SupervisorSpec) -> Cell:
        """Validate, register and start a new child; it is removed again if it fails to start.

        Raises:
            InvalidTree: for a bad spec or a name already taken.
            StartFailed: if it (or anything in its subtree) failed to start.
        """
        slot = self._slot
        validate(spec, _Taken(slot.system.router.table.names))
        cell = build(slot.system, spec, slot)
        cells = cell.subtree()
        try:
            slot.system._register(cells)
        except DuplicateName as exc:  # taken meanwhile, by a spawn under another supervisor
            raise NameTaken(str(exc), exc.name) from None
        try:
            cell.start()
        except BaseException:
            cell.close_subtree(ExitReason.START_FAILED)
            raise
        slot.children[cell] = None
        return cell

    def stop_child(self, name: str) -> bool:
        """Stop the child ``name`` for good; False if there is no such child."""
        cell = self._child(name)
        if cell is None:
            return False
        self._remove(cell, ExitReason.NORMAL)
        return True

    def restart_child(self, name: str) -> bool:
        """Restart the child ``name`` now (not charged to the budget); False if unknown.

        Raises:
            StartFailed: if the new incarnation failed to start (the child is then stopped).
        """
        cell = self._child(name)
        if cell is None:
            return False
        self._forget_pending(cell)  # a backoff's delayed start must not start it a second time
        cell.terminate(restart=True, cause=None, timeout=cell.options.shutdown_timeout)
        try:
            cell.start()
        except StartFailed:
            self._close(cell, ExitReason.FAILED)
            raise
        return True

    def children_info(self) -> list[ChildInfo]:
        """The children, in start order."""
        return [
            ChildInfo(c.name, c.kind, c.state.value, c.restarts, tuple(sorted(c.roles)))
            for c in self._slot.children
        ]

    def _child(self, name: str) -> Cell | None:
        cell = self._slot.system.router.table.names.get(name)  # O(1), not a scan
        return cell if cell is not None and cell in self._slot.children else None


_RUNNING = frozenset({CellState.STARTING, CellState.RUNNING, CellState.SUSPENDED})


class _Taken:
    """Names in use: the system's, plus the reserved ones. Asked ``in``, never copied."""

    __slots__ = ("_names",)

    def __init__(self, names: Mapping[str, object]) -> None:
        self._names = names

    def __contains__(self, name: object) -> bool:
        return name in self._names or name in RESERVED_NAMES


def _publish_crash(cell: Cell, error: BaseException, directive: str) -> None:
    cell.system._publish(
        AgentCrashed,
        name=cell.name,
        error=repr(error),
        error_type=f"{type(error).__module__}.{type(error).__qualname__}",
        directive=directive,
    )


def _restart_type(cell: Cell) -> Restart:
    spec = cell.spec
    if isinstance(spec, ChildSpec | SupervisorSpec):
        return spec.restart
    return Restart.PERMANENT
