"""A cell is an agent's slot in the tree: name, mailbox, watchers, and its current incarnation.

The cell outlives incarnations. Each incarnation (`actors._incarnation`) is a fresh instance
of the agent class running in a fresh thread and reading the cell's mailbox. So a restart
keeps the queue, the name and every `AgentRef`, and changes only the instance.

The supervisor side (start, terminate, resume, close) runs in the supervisor's thread and waits
for the incarnation with bounded joins; the incarnation side calls back into the cell for the
state that outlives it (a message kept for retry, a stop request, reports to the parent).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loguru import logger

from actors import _local
from actors._incarnation import Incarnation
from actors._signals import Call, ChildExited, ChildFailed, Resume, Terminate
from actors.address import Direct
from actors.envelope import Envelope
from actors.errors import (
    AgentUnavailable,
    AskTimeout,
    MailboxFull,
    RegimentError,
    StartFailed,
    SystemStopped,
)
from actors.events import (
    AgentStopped,
    DeadLetterReason,
    ExitReason,
    Terminated,
)
from actors.future import Future
from actors.messages import Kind

if TYPE_CHECKING:
    from collections.abc import Callable

    from actors._mailboxes import MailboxQueue
    from actors.agent import AgentActor
    from actors.mailbox import Mailbox
    from actors.ref import AgentRef
    from actors.system import ActorSystem

__all__ = ["Cell", "CellOptions", "CellState"]


class CellState(enum.Enum):
    """Where a slot is in its life."""

    NEW = "new"  # created, never started
    STARTING = "starting"  # constructor and on_start / post_restart are running
    RUNNING = "running"  # taking messages
    SUSPENDED = "suspended"  # failed; waiting for its supervisor's directive
    RESTARTING = "restarting"  # between incarnations: stopping for a restart, or backing off
    STOPPED = "stopped"  # no incarnation; the slot is kept and may be started again
    CLOSED = "closed"  # gone for good: unregistered, mailbox closed, watchers told


@dataclass(frozen=True, slots=True)
class CellOptions:
    """Per-slot behaviour chosen by the child spec (or `ActorSystem.spawn`)."""

    keep_mailbox: bool = True  # False: dead-letter the queue on every restart (Erlang-like)
    retry_failed: int = 0  # redeliver a failing told message up to this many times
    restart_on_ask_error: bool = False  # does a failing ask handler count as a failure?
    max_messages: int | None = None  # stop for good after handling this many messages
    shutdown_timeout: float = 5.0  # how long a stop waits for the current message to finish
    start_timeout: float = 5.0  # how long a start waits for on_start / post_restart


class Cell:
    """The slot of one agent (or supervisor): see the module docstring."""

    def __init__(
        self,
        system: ActorSystem,
        name: str,
        *,
        kind: str,
        roles: frozenset[str],
        factory: Callable[[], AgentActor],
        mailbox: Mailbox,
        parent: Cell | None,
        options: CellOptions,
        spec: object = None,
        registered: bool = True,
    ) -> None:
        self.system = system
        self.name = name
        self.kind = kind
        self.roles = roles
        self.factory = factory
        self.parent = parent
        self.options = options
        self.spec = spec
        self.registered = registered
        self.address = Direct(name)
        self.mailbox_config = mailbox
        self.mailbox: MailboxQueue = mailbox.build(name, self._reject)
        self.children: list[Cell] = []  # supervisors only, in start order
        self.state = CellState.NEW
        self.incarnation = 0
        self.restarts = 0
        self.handled = 0
        self.thread: threading.Thread | None = None
        self.instance: AgentActor | None = None
        self.current: Envelope | None = None  # the envelope being handled
        self.stop_reason: ExitReason | None = None  # set by the agent's own stop()
        self.log = logger.bind(system=system.name, agent=name)
        self._lock = threading.Lock()
        self._watchers: set[Cell] = set()
        self._watching: set[Cell] = set()
        self.attention = False  # something rare needs the loop's notice (see _loop)
        self._redeliver: Envelope | None = None
        self._retry_envelope: Envelope | None = None
        self._retry_count = 0
        self._ref: AgentRef | None = None
        self._thread_incarnation = 0  # the incarnation self.thread runs
        self.watch_counter = system._watch  # run_until's message counter

    def __repr__(self) -> str:
        return f"<Cell {self.kind} {self.name!r} {self.state.value} #{self.incarnation}>"

    @property
    def ref(self) -> AgentRef:
        """The stable `AgentRef` of this slot."""
        if self._ref is None:
            from actors.ref import AgentRef

            self._ref = AgentRef(self)
        return self._ref

    @property
    def alive(self) -> bool:
        """True until the slot is closed for good."""
        return self.state is not CellState.CLOSED

    # -- supervisor side: runs in the supervising thread ------------------------------------

    def start(self, cause: BaseException | None = None) -> None:
        """Start a new incarnation and wait until its ``on_start``/``post_restart`` returned.

        Every start after the slot's first counts as a restart (``restarts``), and with
        ``keep_mailbox=False`` dead-letters the queue first.

        Args:
            cause: the failure that caused this restart: ``post_restart(cause)`` runs (which
                calls ``on_start`` by default). None runs ``on_start``.

        Raises:
            StartFailed: if the constructor or the hook raised (the error is ``__cause__``),
                or did not return within the start timeout.
            SystemStopped: if the system is shutting down.
        """
        if self.state is CellState.CLOSED:
            msg = f"{self.kind} {self.name!r} is closed and cannot be started"
            raise SystemStopped(msg)
        previous = self.thread
        if previous is not None and previous is not threading.current_thread():
            previous.join(self.options.shutdown_timeout)  # it has been told to end, or has ended
            if previous.is_alive() and self.incarnation == self._thread_incarnation:
                msg = f"{self.kind} {self.name!r} is still running; terminate it before starting it"
                raise RuntimeError(msg)
        restarted = self.incarnation > 0
        if restarted:
            self.restarts += 1
            if not self.options.keep_mailbox:
                self.mailbox.discard(DeadLetterReason.RESTART_DISCARDED.value)
        self.incarnation += 1
        incarnation = self._thread_incarnation = self.incarnation
        self.state = CellState.STARTING
        self.stop_reason = None
        self.attention = self._redeliver is not None or self._retry_envelope is not None
        ack: Future[None] = Future(what=f"start of {self.name!r}")
        thread = threading.Thread(
            target=Incarnation(self, incarnation).run,
            args=(cause, restarted, ack),
            name=f"regiment:{self.system.name}/{self.name}#{incarnation}",
            daemon=self.system.daemon,
        )
        self.thread = thread
        self.system._track(thread)
        thread.start()
        timeout = self.options.start_timeout
        try:
            ack.get(timeout=timeout)
        except AskTimeout:
            self.terminate(restart=False, cause=None, timeout=0.0)
            msg = f"{self.kind} {self.name!r} did not finish starting within {timeout:g}s"
            raise StartFailed(msg, self.name) from None
        except StartFailed:
            thread.join(timeout)
            raise  # a child of this supervisor failed to start: report the child, not us
        except BaseException as exc:
            thread.join(timeout)
            msg = f"{self.kind} {self.name!r} failed to start: {exc!r}"
            raise StartFailed(msg, self.name) from exc

    def terminate(self, *, restart: bool, cause: BaseException | None, timeout: float) -> bool:
        """End the current incarnation after its current message, and wait for its thread.

        Returns:
            False if the thread did not end within ``timeout`` (it is then abandoned: it exits
            as soon as its handler returns, without taking another message).
        """
        thread = self.thread
        if thread is None or not thread.is_alive():
            if self.state is not CellState.CLOSED:
                self.state = CellState.RESTARTING if restart else CellState.STOPPED
            return True
        self.mailbox.put_control(Terminate(self.incarnation, restart, cause))
        if thread is threading.current_thread():
            return True
        thread.join(timeout)
        if thread.is_alive():
            self.log.error(
                "{} {!r} did not stop within {:g}s; abandoning its thread",
                self.kind,
                self.name,
                timeout,
            )
            self.incarnation += 1  # orders for the abandoned incarnation no longer match
            self.attention = True
            return False
        return True

    def resume(self) -> None:
        """Let a suspended incarnation go on with the same instance."""
        self.mailbox.put_control(Resume(self.incarnation))

    def close(self, reason: ExitReason) -> None:
        """Retire the slot for good: unregister, dead-letter its queue, tell its watchers.

        The incarnation must already have ended (see `terminate`). Idempotent.
        """
        with self._lock:
            if self.state is CellState.CLOSED:
                return
            self.state = CellState.CLOSED
            watchers, self._watchers = self._watchers, set()
            watching, self._watching = self._watching, set()
        if self.registered:
            self.system._unregister(self)
        kept, self._redeliver = self._redeliver, None
        if kept is not None:  # held for retry_failed, and the slot closed instead
            self.system.dead_letter_office.record(
                kept, DeadLetterReason.HANDLER_FAILED, "kept for a retry, but the agent stopped"
            )
        self.mailbox.close()
        for watcher in watchers:
            watcher.notify_terminated(self.name, reason)
        for target in watching:
            target.remove_watcher(self)
        self.log.info("{} {!r} stopped ({})", self.kind, self.name, reason.value)
        self.system._publish(AgentStopped, name=self.name, reason=reason)

    def request_stop(self, reason: ExitReason) -> None:
        """Stop for good after the current message (called from the agent's own thread)."""
        self.stop_reason = reason
        self.attention = True

    def subtree(self) -> list[Cell]:
        """The slot and every slot below it, parents before children, in start order."""
        cells = [self]
        for child in list(self.children):
            cells.extend(child.subtree())
        return cells

    def close_subtree(self, reason: ExitReason) -> None:
        """Close this slot and everything below it, deepest and latest first."""
        for cell in reversed(self.subtree()):
            cell.close(reason)

    def call(self, function: Callable[[Any], Any], timeout: float, what: str) -> Any:
        """Run ``function(instance)`` in this slot's thread and return its result.

        Raises:
            AgentUnavailable: if the slot is closed.
            AskTimeout: if it did not answer in time.
            Exception: whatever ``function`` raised.
        """
        caller = _local.state.cell
        if caller is self and self.instance is not None:
            return function(self.instance)
        if caller is not None and caller.parent is self and caller.state is CellState.STARTING:
            msg = (
                f"{caller.name!r} called its own supervisor {self.name!r} from on_start, but "
                f"{self.name!r} is waiting for that on_start to finish; do it from a handler"
            )
            raise RegimentError(msg)
        future: Future[Any] = Future(what=what)
        if not self.mailbox.put_control(Call(function, future)):
            msg = f"{self.kind} {self.name!r} is stopped"
            raise AgentUnavailable(msg, self.name)
        return future.get(timeout=timeout)

    # -- death watch ----------------------------------------------------------------------

    def add_watcher(self, watcher: Cell) -> bool:
        """Tell ``watcher`` when this slot closes; False if it is already closed."""
        with self._lock:
            if self.state is CellState.CLOSED:
                return False
            self._watchers.add(watcher)
        with watcher._lock:
            watcher._watching.add(self)
        return True

    def remove_watcher(self, watcher: Cell) -> None:
        """Stop telling ``watcher`` about this slot."""
        with self._lock:
            self._watchers.discard(watcher)
        with watcher._lock:
            watcher._watching.discard(self)

    def notify_terminated(self, name: str, reason: ExitReason) -> None:
        """Queue a `Terminated` notice in this slot's control lane."""
        notice = Envelope(Terminated(name=name, reason=reason), self.address, kind=Kind.EVENT)
        self.mailbox.put_control(notice)

    # -- used by the incarnation's thread ------------------------------------------------

    def take_redelivery(self) -> Envelope | None:
        """The message kept for a retry, if any (it is handed out once)."""
        item, self._redeliver = self._redeliver, None
        return item

    def keep_for_retry(self, envelope: Envelope) -> bool:
        """Keep a failed told message for redelivery if ``retry_failed`` allows another try."""
        count = self._retry_count + 1 if envelope is self._retry_envelope else 1
        if count > self.options.retry_failed:
            self._retry_envelope = None
            return False
        self._retry_envelope, self._retry_count = envelope, count
        self._redeliver = envelope
        self.attention = True
        return True

    def settle(self, handled: Envelope, incarnation: int) -> None:
        """After a message, while ``attention`` is set: clear what is done, keep what is not."""
        if handled is self._retry_envelope:
            self._retry_envelope = None
        self.attention = (
            self.stop_reason is not None
            or self._redeliver is not None
            or self._retry_envelope is not None
            or incarnation != self.incarnation
        )

    def report(self, signal: ChildFailed | ChildExited) -> None:
        """Tell the supervisor (or, at the top, the system) how an incarnation ended."""
        parent = self.parent
        if parent is None:
            self.system._top_level_exit(self, signal)
        elif not parent.mailbox.put_control(signal):
            self.log.warning("supervisor of {!r} is gone; {} not delivered", self.name, signal)

    def _reject(self, item: Any, reason: str) -> None:
        """Mailbox callback: ``item`` was refused, dropped or left behind at close."""
        if type(item) is Envelope:
            why = DeadLetterReason(reason)
            error: RegimentError | None = None
            if why is DeadLetterReason.MAILBOX_FULL:
                capacity = self.mailbox.capacity or 0
                msg = f"mailbox of {self.name!r} is full ({capacity} messages)"
                error = MailboxFull(msg, self.name, capacity, item)
            elif why in (DeadLetterReason.STOPPED, DeadLetterReason.RESTART_DISCARDED):
                msg = f"{self.kind} {self.name!r} dropped {type(item.body).__name__} ({reason})"
                error = AgentUnavailable(msg, self.name, item)
            self.system.dead_letter_office.record(item, why, None, error)
        elif type(item) is Call:
            msg = f"{self.kind} {self.name!r} stopped before answering"
            item.future.fail(AgentUnavailable(msg, self.name))
