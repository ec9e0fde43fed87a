"""A slot is an agent's place in the tree: name, mailbox, watchers, and its current incarnation.

The slot outlives incarnations. Each incarnation (`actors._incarnation`) is a fresh instance
of the agent class running in a fresh thread and reading the slot's mailbox. So a restart
keeps the queue, the name and every `AgentRef`, and changes only the instance.

The slot owns its lifecycle: its `SlotState` changes only through `Slot.transition`, which
checks the written table of legal transitions (`actors._lifecycle.TRANSITIONS`) and publishes
every change as a `LifecycleChanged` event.

The supervisor side (start, terminate, resume, close) runs in the supervisor's thread and waits
for the incarnation with bounded joins; the incarnation side calls back into the slot for the
state that outlives it (a message kept for retry, a stop request, reports to the parent).
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loguru import logger

from actors._deadletters import error_for
from actors._incarnation import Incarnation
from actors._lifecycle import (
    TRANSITIONS,
    AgentStatus,
    IllegalTransition,
    SlotState,
    record_illegal,
    status_of,
)
from actors._local import state as _current
from actors._mailboxes import CLOSED
from actors._signals import Call, ChildExited, ChildFailed, Nudge, Resume, Terminate
from actors._stats import SlotStats
from actors.address import Direct
from actors.envelope import Envelope
from actors.errors import (
    AgentUnavailable,
    AskTimeout,
    RegimentError,
    StartFailed,
    SystemStopped,
)
from actors.events import (
    AgentStopped,
    DeadLetterReason,
    ExitReason,
    LifecycleChanged,
    Terminated,
)
from actors.future import Future
from actors.messages import Kind

if TYPE_CHECKING:
    from collections.abc import Callable

    from loguru import Logger

    from actors._incarnation import Agent
    from actors._mailboxes import MailboxQueue
    from actors._runtime import Runtime
    from actors.future import Future
    from actors.mailbox import Mailbox
    from actors.recording import Entry

__all__ = ["Slot", "SlotOptions", "SlotState"]


@dataclass(frozen=True, slots=True)
class SlotOptions:
    """Per-slot behaviour chosen by the child spec (or `ActorSystem.spawn`)."""

    keep_mailbox: bool = True  # False: dead-letter the queue on every restart (Erlang-like)
    retry_failed: int = 0  # redeliver a failing told message up to this many times
    restart_on_ask_error: bool = False  # does a failing ask handler count as a failure?
    max_messages: int | None = None  # stop for good after handling this many messages
    shutdown_timeout: float = 5.0  # how long a stop waits for the current message to finish
    start_timeout: float = 5.0  # how long a start waits for on_start / post_restart
    flight_recorder: int = 32  # summaries of the last messages taken, kept for post-mortems
    durable: bool = False  # its mailbox is a JetStream stream (actors.nats): acked when handled


# The table as (from, to) value pairs: one set lookup per transition, and no Python-level
# Enum.__hash__ call.
_LEGAL = frozenset(
    (before.value, after.value) for before, nexts in TRANSITIONS.items() for after in nexts
)


class Slot:
    """The slot of one agent (or supervisor): see the module docstring."""

    def __init__(
        self,
        runtime: Runtime,
        name: str,
        *,
        kind: str,
        roles: frozenset[str],
        factory: Callable[[], Agent],
        mailbox: Mailbox,
        parent: Slot | None,
        options: SlotOptions,
        spec: object = None,
        registered: bool = True,
    ) -> None:
        self.runtime = runtime
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
        self.children: dict[Slot, None] = {}  # supervisors only, in start order (O(1) removal)
        self.state = SlotState.NEW  # changed only by transition()
        self.incarnation = 0  # the number of the latest incarnation
        self.restarts = 0
        self.handled = 0  # messages handled, counted only under a max_messages guard
        # The envelope being handled. Thread-side, but kept here rather than on the
        # incarnation: every send made from a handler reads it (the sender's conversation),
        # and the slot is what the send path holds.
        self.current: Envelope | None = None
        self.waiting = 0  # > 0 while a handler blocks on a future (written by its own thread)
        # The ask's future this one's handler blocks on (its ``target``: the agent that owes the
        # reply), for AskCycle: written by its own thread, read by other agents' threads walking
        # the wait chain. A future already done is no edge (its waiter is about to wake).
        self.blocked_on: Future[Any] | None = None
        # Metrics and flight recording (actors._stats, actors.recording): written by the
        # slot's own thread; None when the system runs with metrics=False / no recording.
        self.stats: SlotStats | None = SlotStats() if runtime.metrics else None
        size = options.flight_recorder
        self.recorder: deque[Entry] | None = deque(maxlen=size) if size else None
        self.retired = False  # closed, and its counts folded into the system's totals
        self.exit_reason: ExitReason | None = None  # why it closed (set by close)
        self.handled_at_start = 0  # successful handler runs when the latest incarnation began
        self._lock = threading.Lock()
        self._watchers: set[Slot] | None = None  # made on first use: most slots have none
        self._watching: set[Slot] | None = None
        self.runner: Incarnation | None = None  # the incarnation self.thread runs
        self.waiting_for: Slot | None = None  # the child this supervisor is stopping or starting
        # A supervisor's restart history (monotonic times), published by its own thread after
        # each decision for tree snapshots to read (an immutable tuple, replaced whole).
        self.restart_history: tuple[float, ...] = ()
        # Envelopes the next incarnation takes before its mailbox: one kept for a retry, or
        # one an abandoned incarnation took off the queue and handed back unhandled.
        self._front: deque[Envelope] | None = None
        # Failures a test injected (actors.testing.TestingHooks.fail_next): the next handler
        # runs raise them, one each, in order; any thread appends, the slot's thread takes.
        self.faults: deque[BaseException] | None = None
        self._retry_envelope: Envelope | None = None
        self._retry_count = 0
        self.watch_counter = runtime.watch  # run_until's message counter

    def __repr__(self) -> str:
        return f"<Slot {self.kind} {self.name!r} {self.state.value} #{self.incarnation}>"

    @functools.cached_property
    def log(self) -> Logger:
        """A loguru logger bound to the system's and the slot's names."""
        return logger.bind(system=self.runtime.name, agent=self.name)

    @property
    def thread(self) -> threading.Thread | None:
        """The thread of the current incarnation (None before the first start)."""
        runner = self.runner
        return None if runner is None else runner.thread

    @property
    def instance(self) -> Agent | None:
        """The current incarnation's instance, once constructed (None between incarnations)."""
        runner = self.runner
        return None if runner is None else runner.instance

    @property
    def alive(self) -> bool:
        """True until the slot is closed for good."""
        return self.state is not SlotState.CLOSED

    @property
    def status(self) -> AgentStatus:
        """What the agent is doing now (`AgentStatus`); any thread may read it."""
        return status_of(self.state, self.current is not None, self.waiting > 0)

    def transition(self, to: SlotState) -> bool:
        """Move to state ``to`` if `TRANSITIONS` allows it, and publish the change.

        Staying in the same state is no change (nothing is published). Any thread may call
        it; the check and the change are atomic.

        Returns:
            True if the state changed.

        Raises:
            IllegalTransition: for a transition the table does not allow, when `strict`
                is on (otherwise it is logged at ERROR and the state is left as it is).
        """
        with self._lock:
            return self._transition(to)

    def _transition(self, to: SlotState) -> bool:
        """`transition`, with ``self._lock`` already held."""
        previous = self.state
        if to is previous:
            return False
        if (previous._value_, to._value_) not in _LEGAL:  # strings: hashed in C
            msg = f"{self.kind} {self.name!r}: illegal transition {previous.value} -> {to.value}"
            if record_illegal(self.name, previous, to):
                raise IllegalTransition(msg)
            self.log.error("{} (a runtime bug; the state stays {})", msg, previous.value)
            return False
        self.state = to
        runtime = self.runtime
        if runtime.events.wants(LifecycleChanged):  # the values are not even read otherwise
            runtime.publish(
                LifecycleChanged,
                name=self.name,
                kind=self.kind,
                previous=previous.value,
                state=to.value,
            )
        return True

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
        if self.state is SlotState.CLOSED:
            msg = f"{self.kind} {self.name!r} is closed and cannot be started"
            raise SystemStopped(msg)
        runner = self.runner
        if (
            runner is not None
            and runner.thread is not threading.current_thread()
            and not runner.abandoned  # that one ends by itself
            and not runner.wait_ended(self.options.shutdown_timeout)  # told to end, or ended
        ):
            msg = f"{self.kind} {self.name!r} is still running; terminate it before starting it"
            raise RuntimeError(msg)
        restarted = self.incarnation > 0
        stats = self.stats
        self.handled_at_start = 0 if stats is None else stats.handled()  # reset_on_success
        if restarted:
            self.restarts += 1
            if not self.options.keep_mailbox:
                self.mailbox.discard(DeadLetterReason.RESTART_DISCARDED.value)
        self.incarnation += 1
        self.transition(SlotState.STARTING)
        runner = self.runner = Incarnation(
            self, self.incarnation, bool(self._front) or bool(self.faults)
        )
        ack: Future[None] = Future(what=f"start of {self.name!r}")
        starter = _current.slot  # a supervisor: calls from this child must not wait for it
        if starter is not None:
            starter.waiting_for = self
        thread = runner.thread = self.runtime.threads.new(
            runner.run, f"{self.name}#{runner.number}", (cause, restarted, ack)
        )
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
        finally:
            if starter is not None:
                starter.waiting_for = None

    def terminate(self, *, restart: bool, cause: BaseException | None, timeout: float) -> bool:
        """End the current incarnation after its current message, and wait for its thread.

        Returns:
            False if the thread did not end within ``timeout`` (it is then abandoned: it exits
            as soon as its handler returns, without taking another message).
        """
        runner = self.runner
        if runner is None or runner.ended():
            with self._lock:
                if self.state is not SlotState.CLOSED:
                    self._transition(SlotState.RESTARTING if restart else SlotState.STOPPED)
            return True
        self.mailbox.put_control(Terminate(self.incarnation, restart, cause))
        if runner.thread is threading.current_thread():
            return True
        stopper = _current.slot
        if stopper is not None:
            stopper.waiting_for = self
        try:
            ended = runner.wait_ended(timeout)
        finally:
            if stopper is not None:
                stopper.waiting_for = None
        if not ended:
            self.log.error(
                "{} {!r} did not stop within {:g}s; abandoning its thread",
                self.kind,
                self.name,
                timeout,
            )
            self.abandon()
            with self._lock:  # the abandoned incarnation no longer moves the slot: we do
                if self.state is not SlotState.CLOSED:
                    self._transition(SlotState.RESTARTING if restart else SlotState.STOPPED)
            return False
        return True

    def abandon(self) -> None:
        """Give up on the current incarnation: it ends as soon as it gets control back.

        It never handles another message: what it still takes off the mailbox it hands back
        (`hand_back`) to whichever incarnation comes next.
        """
        runner = self.runner
        if runner is not None:
            runner.abandoned = True
            runner.attention = True
        self.incarnation += 1  # orders and reports of the abandoned incarnation no longer match

    def resume(self) -> None:
        """Let a suspended incarnation go on with the same instance."""
        self.mailbox.put_control(Resume(self.incarnation))

    def close(self, reason: ExitReason) -> None:
        """Retire the slot for good: unregister, dead-letter its queue, tell its watchers.

        The incarnation must already have ended (see `terminate`). Idempotent.
        """
        with self._lock:
            if self.state is SlotState.CLOSED:
                return
            self._transition(SlotState.CLOSED)
            self.exit_reason = reason
            watchers, self._watchers = self._watchers or set(), None
            watching, self._watching = self._watching or set(), None
        self.runtime.totals.retire(self)
        if self.registered:
            self.runtime.unregister(self)
        kept, self._front = list(self._front or ()), None
        if kept:  # held for a retry (or handed back), and the slot closed instead
            self.runtime.dead_letters.record_many(kept, DeadLetterReason.HANDLER_FAILED)
        shutdown = reason is ExitReason.SHUTDOWN
        self.mailbox.close(DeadLetterReason.SHUTDOWN.value if shutdown else "stopped")
        for watcher in watchers:
            watcher.notify_terminated(self.name, reason)
        for target in watching:
            target.remove_watcher(self)
        # At shutdown every agent stops: one line each would drown the log of a big system.
        level = "DEBUG" if shutdown else "INFO"
        self.log.log(level, "{} {!r} stopped ({})", self.kind, self.name, reason.value)
        self.runtime.publish(AgentStopped, name=self.name, reason=reason)

    def request_stop(self, reason: ExitReason) -> None:
        """Stop for good after the current message (called from the agent's own thread)."""
        runner = self.runner
        if runner is not None:
            runner.request_stop(reason)

    def subtree(self) -> list[Slot]:
        """The slot and every slot below it, parents before children, in start order."""
        slots = [self]
        for child in list(self.children):
            slots.extend(child.subtree())
        return slots

    def close_subtree(self, reason: ExitReason) -> None:
        """Close this slot and everything below it, deepest and latest first."""
        for slot in reversed(self.subtree()):
            slot.close(reason)

    def call(self, function: Callable[[Any], Any], timeout: float, what: str) -> Any:
        """Run ``function(instance)`` in this slot's thread and return its result.

        Raises:
            AgentUnavailable: if the slot is closed.
            AskTimeout: if it did not answer in time.
            Exception: whatever ``function`` raised.
        """
        caller = _current.slot
        instance = self.instance
        if caller is self and instance is not None:
            return function(instance)
        if caller is not None and self.waiting_for is caller:
            doing = "on_start" if caller.state is SlotState.STARTING else "stop"
            msg = (
                f"{caller.name!r} called its own supervisor {self.name!r} during its {doing}, "
                f"but {self.name!r} is waiting for that {doing} to finish; do it from a handler"
            )
            raise RegimentError(msg)
        future: Future[Any] = Future(what=what)
        if not self.mailbox.put_control(Call(function, future)):
            msg = f"{self.kind} {self.name!r} is stopped"
            raise AgentUnavailable(msg, self.name)
        return future.get(timeout=timeout)

    # -- death watch ----------------------------------------------------------------------

    def add_watcher(self, watcher: Slot) -> bool:
        """Tell ``watcher`` when this slot closes; False if it is already closed."""
        with self._lock:
            if self.state is SlotState.CLOSED:
                return False
            if self._watchers is None:
                self._watchers = set()
            self._watchers.add(watcher)
        with watcher._lock:
            if watcher._watching is None:
                watcher._watching = set()
            watcher._watching.add(self)
        return True

    def remove_watcher(self, watcher: Slot) -> None:
        """Stop telling ``watcher`` about this slot."""
        with self._lock:
            if self._watchers is not None:
                self._watchers.discard(watcher)
        with watcher._lock:
            if watcher._watching is not None:
                watcher._watching.discard(self)

    def notify_terminated(self, name: str, reason: ExitReason) -> None:
        """Queue a `Terminated` notice in this slot's control lane."""
        notice = Envelope(Terminated(name=name, reason=reason), self.address, kind=Kind.EVENT)
        self.mailbox.put_control(notice)

    # -- used by the incarnation's thread ------------------------------------------------

    def has_front(self) -> bool:
        """True if an envelope waits to be handled before the mailbox."""
        return bool(self._front)

    def take_front(self) -> Envelope | None:
        """The envelope to handle before the mailbox (kept for a retry, or handed back)."""
        front = self._front
        return front.popleft() if front else None

    def keep_for_retry(self, envelope: Envelope) -> bool:
        """Keep a failed told message for redelivery if ``retry_failed`` allows another try."""
        count = self._retry_count + 1 if envelope is self._retry_envelope else 1
        if count > self.options.retry_failed:
            self._retry_envelope = None
            return False
        self._retry_envelope, self._retry_count = envelope, count
        self._push_front(envelope)
        return True

    def _push_front(self, envelope: Envelope) -> None:
        if self._front is None:
            self._front = deque()
        self._front.appendleft(envelope)
        runner = self.runner
        if runner is not None:  # also after a resume: the same incarnation takes it next
            runner.attention = True

    def hand_back(self, item: object) -> None:
        """Return an item an abandoned incarnation took off the mailbox, unhandled.

        A user message goes to the front of the queue for the next incarnation; a control
        item goes back in the control lane. The current consumer is woken to look.
        """
        if item is CLOSED:
            return  # sticky: the mailbox keeps handing it out
        if type(item) is Envelope:
            self._push_front(item)
        elif not self.mailbox.put_control(item):
            self._reject([item], "stopped")
            return
        self.mailbox.put_control(Nudge())

    def retrying(self, envelope: Envelope) -> bool:
        """True while ``envelope`` is the message kept for a retry; forget it once handled."""
        if envelope is self._retry_envelope:
            self._retry_envelope = None
        runner = self.runner
        return (
            (runner is not None and runner.stop_reason is not None)
            or bool(self._front)
            or bool(self.faults)
        )

    def inject_faults(self, errors: list[BaseException]) -> None:
        """Make the next ``len(errors)`` handler runs raise these errors, in order.

        Any thread may call it. The current incarnation is nudged through the control lane so
        that it looks at the slot before it takes its next message; a later incarnation finds
        the faults at its start (they survive restarts until used).
        """
        with self._lock:
            if self.faults is None:
                self.faults = deque()
            self.faults.extend(errors)
        self.mailbox.put_control(Nudge())

    def report(self, signal: ChildFailed | ChildExited) -> None:
        """Tell the supervisor (or, at the top, the system) how an incarnation ended."""
        parent = self.parent
        if parent is None:
            self.runtime.top_level_exit(self, signal)
        elif not parent.mailbox.put_control(signal):
            self.log.warning("supervisor of {!r} is gone; {} not delivered", self.name, signal)

    def _reject(self, items: list[Any], reason: str) -> None:
        """Mailbox callback: ``items`` were refused, dropped or left behind at close."""
        why = DeadLetterReason(reason)
        office = self.runtime.dead_letters
        envelopes = [item for item in items if type(item) is Envelope]
        if len(envelopes) > 1:
            office.record_many(envelopes, why)
        elif envelopes:
            item = envelopes[0]
            detail = f"{self.kind} {self.name!r} dropped it" if why is not _FULL else None
            error = error_for(
                item, why, detail, agent=self.name, capacity=self.mailbox.capacity or 0
            )
            office.record(item, why, None, error)
        for item in items:
            if type(item) is Call:
                msg = f"{self.kind} {self.name!r} stopped before answering"
                item.future.fail(AgentUnavailable(msg, self.name))


_FULL = DeadLetterReason.MAILBOX_FULL
