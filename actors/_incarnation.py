"""An incarnation: one run of an agent, a fresh instance in a fresh thread.

Each incarnation is one `pykka.ThreadingActor` instance running in its own thread and reading
its slot's mailbox (`actors._slot.Slot` owns the mailbox, the name and the watchers; this
module owns what happens inside the thread):

1. construct the instance, run ``on_start`` (first start) or ``post_restart(cause)``, and tell
   the starting supervisor, which waits, whether that worked;
2. loop: take the next item (control lane first) and handle it;
3. end in one of four ways:
   - a supervisor's `Terminate` order: run ``pre_restart`` (restart) or ``on_stop``; exit;
   - its mailbox closed (the slot was closed while it ran): run ``on_stop``; exit;
   - by itself (``self.stop()``, ``max_messages``): run ``on_stop``, report `ChildExited`;
   - a failure: dead-letter (or keep for retry) the failing message, report `ChildFailed`
     and *park*: wait, reading only the control lane, for `Resume` or `Terminate`. User
     messages keep queueing meanwhile.

An incarnation that did not stop in time is *abandoned* (`Slot.abandon`): its own flags say so
(a successor never resets them), and from then on it never handles another message. Whatever
it still takes off the mailbox, it hands back to the slot (`Slot.hand_back`) and ends. So one
mailbox never has two consumers handling its messages at once.

Every hook may be ``async def``: its coroutine runs to completion on the instance's event loop
(`Agent._run_async`), which is closed when the incarnation ends, however it ends.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from actors._lifecycle import SlotState
from actors._local import state as _current
from actors._logs import core as _log_core
from actors._logs import debug_wanted, log_message
from actors._mailboxes import CLOSED
from actors._signals import Call, ChildExited, ChildFailed, Faulted, Nudge, Resume, Terminate
from actors._stats import SLOW_NS as _SLOW_NS
from actors._stats import STRIDE
from actors.envelope import Envelope
from actors.errors import AgentFailed, Cancelled, StartFailed
from actors.events import AgentCrashed, AgentRestarted, AgentStarted, DeadLetterReason, ExitReason
from actors.messages import wire_name
from actors.recording import HandledMessage, MessageOutcome, summaries
from actors.traffic import MessageHandled

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from loguru import Logger

    from actors._slot import Slot
    from actors._stats import SlotStats
    from actors.future import Future
    from actors.recording import Entry

__all__ = ["Agent", "Incarnation"]


class Agent(Protocol):
    """What the runtime needs of an agent instance (`Agent` is the one implementation).

    The runtime drives instances through this protocol, so it never imports the facade.
    """

    @property
    def _handlers(self) -> Mapping[type, Callable[[Any, Any], Any] | None]: ...

    actor_stopped: threading.Event

    def on_start(self) -> object: ...
    def on_stop(self) -> object: ...
    def pre_restart(self, error: BaseException | None, envelope: Envelope | None) -> object: ...
    def post_restart(self, error: BaseException) -> object: ...
    def _receive(self, envelope: Envelope) -> MessageOutcome | None: ...
    def _run_hook(self, result: object) -> None: ...
    def _on_control(self, item: object) -> None: ...
    def _close_loop(self) -> None: ...
    def _cancel_timers(self) -> None: ...


_ENDED = object()  # `_attend`: the incarnation has ended
_OK = MessageOutcome.OK
_FAILED = MessageOutcome.FAILED
_EXPIRED = MessageOutcome.EXPIRED
_CANCELLED = MessageOutcome.CANCELLED
_clock = time.perf_counter_ns
_STRIDE_MASK = STRIDE - 1
_PARK_POLL = 0.5  # seconds between checks of a closed mailbox while parked


class Incarnation:
    """The thread-side life of one instance of a slot's agent; see the module docstring."""

    __slots__ = (
        "_ended",
        "abandoned",
        "attention",
        "instance",
        "number",
        "slot",
        "stop_reason",
        "thread",
    )

    def __init__(self, slot: Slot, number: int, attention: bool) -> None:
        self.slot = slot
        self.number = number
        self.instance: Agent | None = None
        self.thread: threading.Thread | None = None  # set by the slot before it starts
        self.stop_reason: ExitReason | None = None  # set by the agent's own stop()
        # One flag for every rare condition the loop must notice (a message kept for retry or
        # handed back, a stop request, abandonment); it belongs to this incarnation alone.
        self.attention = attention
        self.abandoned = False
        # Held until `run` returns: waiting for it is waiting for the incarnation to end (its
        # thread's own teardown then overlaps with whatever the waiter does next).
        self._ended = threading.Lock()
        self._ended.acquire()

    def request_stop(self, reason: ExitReason) -> None:
        """Stop for good after the current message (the agent's own ``stop()``, a guard)."""
        self.stop_reason = reason
        self.attention = True

    def ended(self) -> bool:
        """True once the incarnation's thread has finished its work (it may still be exiting)."""
        return not self._ended.locked()

    def wait_ended(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the incarnation to end; True if it did."""
        if self._ended.acquire(True, timeout) if timeout > 0 else self._ended.acquire(False):
            self._ended.release()
            return True
        return False

    def run(self, cause: BaseException | None, restarted: bool, ack: Future[None]) -> None:
        """The thread's target: start, loop, end; ``ack`` tells the starter how the start went."""
        try:
            self._run(cause, restarted, ack)
        finally:
            self._ended.release()

    def _run(self, cause: BaseException | None, restarted: bool, ack: Future[None]) -> None:
        slot = self.slot
        _current.slot = slot
        slot.mailbox.consumer = threading.get_ident()
        slot.current = None
        try:
            instance = self.instance = self._construct()
            if cause is None:
                instance._run_hook(instance.on_start())
            else:
                instance._run_hook(instance.post_restart(cause))
        except BaseException as exc:  # noqa: BLE001 - any start failure goes to the starter
            slot.log.opt(exception=exc).error("{} {!r} failed to start", slot.kind, slot.name)
            if not isinstance(exc, StartFailed):  # a child's failure was published by the child
                slot.runtime.publish(
                    AgentCrashed,
                    name=slot.name,
                    error=repr(exc),
                    error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
                )
            slot.transition(SlotState.STOPPED)
            if self.instance is not None:
                self._close_loop(self.instance)
                self.instance.actor_stopped.set()
            self._forget_thread()
            ack.fail(exc)
            return
        if self.abandoned:  # its start outlived the start timeout: the slot moved on
            self._end(instance, restart=False, cause=None, envelope=None)
            self._close_loop(instance)
            instance.actor_stopped.set()
            self._forget_thread()
            return
        slot.transition(SlotState.RUNNING)
        if restarted:
            slot.log.info("{} {!r} restarted (restart #{})", slot.kind, slot.name, slot.restarts)
            slot.runtime.publish(AgentRestarted, name=slot.name, restarts=slot.restarts)
        else:
            if debug_wanted(_log_core.handlers):  # one line per agent: only when asked for
                slot.log.debug("{} {!r} started", slot.kind, slot.name)
            slot.runtime.publish(
                AgentStarted, name=slot.name, kind=slot.kind, restarts=slot.restarts
            )
        ack.resolve(None)
        try:
            self._loop(instance)
        except BaseException as exc:  # noqa: BLE001 - a runtime bug: report it as a failure
            slot.log.opt(exception=exc).critical("incarnation loop of {!r} died", slot.name)
            slot.report(ChildFailed(slot, self.number, exc, None))
        finally:
            self._close_loop(instance)
            instance.actor_stopped.set()
            instance._cancel_timers()
            self._forget_thread()

    def _close_loop(self, instance: Agent) -> None:
        """Close the instance's event loop, if its async code made one; never raises."""
        try:
            instance._close_loop()
        except BaseException as exc:  # noqa: BLE001 - the incarnation ends regardless
            self.slot.log.opt(exception=exc).error(
                "closing the event loop of {!r} failed", self.slot.name
            )

    def _forget_thread(self) -> None:
        _current.slot = None
        slot = self.slot
        self.instance = None  # the slot no longer hands it out
        if not self.abandoned:  # an abandoned one leaves the slot to its successor
            slot.current = None
            if slot.mailbox.consumer == threading.get_ident():
                slot.mailbox.consumer = None

    def _construct(self) -> Agent:
        """Build the instance; it finds its slot through ``_current.constructing``.

        Raises:
            TypeError: if the factory built no agent, or the agent's ``__init__`` did not
                call ``super().__init__()`` (so it never attached itself to the slot).
        """
        slot = self.slot
        _current.constructing = slot
        try:
            instance = slot.factory()
        finally:
            _current.constructing = None
        if getattr(instance, "__dict__", {}).get("_slot") is slot:  # AgentActor.__init__ did it
            return instance
        if hasattr(type(instance), "_receive"):
            msg = (
                f"{type(instance).__qualname__}.__init__ did not call super().__init__(); "
                "every agent's __init__ must call it"
            )
        else:
            msg = (
                f"the factory of {slot.name!r} returned {instance!r}; it must construct an "
                "AgentActor subclass (and its __init__ must call super().__init__())"
            )
        raise TypeError(msg)

    def _loop(self, instance: Agent) -> None:  # noqa: PLR0915 - the hot loop, inlined
        """Take and handle items until the incarnation ends.

        The hot path: one flag (``self.attention``) stands for every rare condition (a message
        kept for retry or handed back, a stop request, abandonment), so a plain message costs a
        `get`, a dispatch, a few attribute reads and, with metrics on, two clock reads and a
        few counter updates (see `actors._stats`).
        """
        slot = self.slot
        box = slot.mailbox
        get = box.get
        receive = instance._receive
        handlers = instance._handlers  # a class attribute: read once per incarnation
        limit = slot.options.max_messages
        stats = slot.stats
        counting = stats is not None
        record = None if slot.recorder is None else slot.recorder.append
        tap = slot.runtime.tap
        logs = _log_core  # loguru's registry: see actors._logs
        quiet = logs.handlers if not debug_wanted(logs.handlers) else None
        box.stride = _STRIDE_MASK  # see MailboxQueue.stride
        started = took = 0
        taken = 0 if stats is None else stats.received  # this thread's own counter, cached
        while True:
            if self.attention:
                item: object = self._attend(instance)
                if item is _ENDED:
                    return
                if item is None:
                    item = get()
            else:
                item = get()
            if self.abandoned:  # taken after a successor took over: it is not ours to handle
                slot.hand_back(item)
                return
            if type(item) is not Envelope:
                if self._control(instance, item):
                    return
                if counting:  # an injected fault counts a message as received
                    taken = stats.received  # type: ignore[union-attr]
                continue
            slot.current = item
            if counting:
                # Time it (two clock reads) only when that is cheap or wanted: the first one
                # after a quiet wait, one in STRIDE, every one while handlers are slow (the
                # mailbox's stride says which: see MailboxQueue.stride and actors._stats).
                if not taken & box.stride:
                    self._sampled(stats, item)  # type: ignore[arg-type]
                    started = stats.since = _clock()  # type: ignore[union-attr]
                stats.received = taken = taken + 1  # type: ignore[union-attr]
            try:
                # A plain tell whose type has a handler: dispatch right here (the common
                # case); anything else (asks, replies, deadlines, lookups) via _receive.
                function = handlers.get(type(item.body))
                if function is None or item.future or item.reply_to or item.deadline is not None:
                    outcome = receive(item)
                else:
                    function(instance, item.body)
                    outcome = None
            except BaseException as exc:  # noqa: BLE001 - the supervisor decides
                ended = self._raised(instance, item, exc, started)
                if ended:
                    return
                started = 0
                continue
            if started or outcome is not None:  # timed, or no handler ran: the rarer path
                took, slow = self._finished(item, outcome, started)
                box.stride = 0 if slow else _STRIDE_MASK
                started = 0
            else:
                took = 0
                if record is not None:  # the envelope itself: a summary is made when read
                    record(item)
            if self.attention:
                if self.abandoned:
                    return  # the slot's state belongs to the successor now
                self.attention = slot.retrying(item)
            slot.current = None
            if logs.handlers is not quiet:  # a sink wants DEBUG, or the sinks changed
                quiet = log_message(slot, item, outcome or _OK, took or None)
            if tap.after:  # a MessageHandled subscriber, or a run_until counting
                self._after(item, outcome or _OK, took if outcome is None else None)
                if tap.handled:
                    box.stride = 0  # MessageHandled.duration: time every message
            if limit is not None:
                self._count(limit)

    def _finished(
        self, envelope: Envelope, outcome: MessageOutcome | None, started: int
    ) -> tuple[int, bool]:
        """Account for a message that was timed, or that no handler ran for.

        Returns:
            ``(nanoseconds its handler ran or 0, whether that was slow)``.
        """
        slot = self.slot
        stats = slot.stats
        took = 0
        if started and stats is not None:
            took = _clock() - started
            stats.since = started + took
            if outcome is None:
                stats.record(took)
        if outcome is not None and stats is not None:
            if outcome is _EXPIRED:
                stats.expired += 1
            elif outcome is _CANCELLED:
                stats.cancelled += 1
            else:
                stats.unhandled += 1
        if slot.recorder is not None:
            slot.recorder.append((envelope, outcome or _OK, started, took))
        return took, took > _SLOW_NS

    def _sampled(self, stats: SlotStats, envelope: Envelope) -> None:
        """Before a timed message: sample the mailbox's depth (it included the message)."""
        stats.taken_created = envelope.created_at
        depth = self.slot.mailbox.qsize() + 1
        if depth > stats.high_water:  # noqa: PLR1730
            stats.high_water = depth

    def _after(self, envelope: Envelope, outcome: MessageOutcome, took: int | None) -> None:
        """After a message, when `Tap.after` says someone watches: count it, announce it."""
        slot = self.slot
        if slot.runtime.tap.handled:
            self._published(envelope, outcome, took)
        if slot.watch_counter.active:
            slot.watch_counter.tick()

    def _published(self, envelope: Envelope, outcome: MessageOutcome, took: int | None) -> None:
        """Publish `MessageHandled` (someone subscribed to it); ``took``: handler nanoseconds."""
        if outcome is _OK or outcome is _FAILED:
            duration = None if took is None else took / 1e9
        else:
            duration = 0.0  # no handler ran
        self.slot.runtime.publish(
            MessageHandled,
            agent=self.slot.name,
            envelope_id=envelope.id,
            message_type=wire_name(envelope.body),
            outcome=outcome,
            duration=duration,
        )

    def _attend(self, instance: Agent) -> object:
        """The rare conditions behind ``attention``, before taking the next item.

        Returns:
            `_ENDED` if the incarnation ended (abandoned, or stopped by a request); else the
            envelope to handle before the mailbox, or None to take the mailbox's next item.
        """
        if self.abandoned:
            return _ENDED
        if self.stop_reason is not None:  # self.stop(), even from on_start
            self._exit(instance, self.stop_reason)
            return _ENDED
        slot = self.slot
        front = slot.take_front()
        if slot.faults:  # a test injected failures (TestingHooks.fail_next)
            item = front if front is not None else slot.mailbox.get()
            if type(item) is Envelope:
                return Faulted(item, slot.faults.popleft())
            return item  # a control item first; the fault waits for the next message
        return front

    def _raised(
        self, instance: Agent, envelope: Envelope, exc: BaseException, started: int
    ) -> bool:
        """A handler raised; True if the incarnation ended."""
        if self.abandoned:
            return True  # its successor owns the slot now; the failure is logged by nobody
        slot = self.slot
        future = envelope.future
        if future is not None and future.abandoned and isinstance(exc, Cancelled):
            return self._stopped_cancelled(envelope, exc, started)  # cooperative: not a failure
        took = _clock() - started if started else None
        stats = slot.stats
        if stats is not None:
            stats.failed += 1
            if took is not None:
                stats.since = started + took
                stats.record(took)
        if slot.recorder is not None:
            slot.recorder.append((envelope, _FAILED, started, took or 0))
        if slot.runtime.tap.handled:
            self._published(envelope, _FAILED, took)
        if slot.watch_counter.active:  # the failure consumed the message (guards see loops)
            slot.watch_counter.tick()
        limit = slot.options.max_messages
        if limit is not None:
            slot.handled += 1
        return self._failed(instance, envelope, exc)

    def _inject(self, instance: Agent, fault: Faulted) -> bool:
        """Fail ``fault.envelope`` with the injected error, as if its handler had raised it."""
        slot = self.slot
        envelope = fault.envelope
        slot.current = envelope
        if slot.stats is not None:
            slot.stats.received += 1
        try:
            raise fault.error  # raised here, so that it carries a traceback like any failure
        except BaseException as exc:  # noqa: BLE001 - the supervisor decides
            return self._raised(instance, envelope, exc, 0)

    def _stopped_cancelled(self, envelope: Envelope, exc: BaseException, started: int) -> bool:
        """The handler of a cancelled request raised `Cancelled`: the request simply ends."""
        slot = self.slot
        slot.current = None
        if envelope.future is not None:  # already failed with Cancelled: this settles it
            envelope.future.fail(exc)
        self._finished(envelope, _CANCELLED, started)
        slot.log.debug("{} {!r} stopped cancelled request {}", slot.kind, slot.name, envelope.id)
        if slot.runtime.tap.after:
            self._after(envelope, _CANCELLED, None)
        if self.attention:
            if self.abandoned:
                return True
            self.attention = slot.retrying(envelope)
        return False

    def _count(self, limit: int) -> None:
        """Count a handled message against the ``max_messages`` guard."""
        slot = self.slot
        slot.handled += 1
        if slot.handled >= limit and self.stop_reason is None:
            slot.log.warning(
                "{} {!r} reached its max_messages guard ({}); it stops", slot.kind, slot.name, limit
            )
            self.request_stop(ExitReason.MAX_MESSAGES)

    def _control(self, instance: Agent, item: object) -> bool:
        """Handle one control item; True if the incarnation ended."""
        kind = type(item)
        if kind is Terminate:
            assert isinstance(item, Terminate)
            if item.incarnation != self.number:
                return False  # meant for an incarnation that is already gone
            self._end(instance, restart=item.restart, cause=item.cause, envelope=None)
            return True
        if item is CLOSED:  # the slot was closed while this incarnation ran
            self._end(instance, restart=False, cause=None, envelope=None)
            return True
        if kind is Nudge:
            self.attention = True  # something was handed back: look at the slot
            return False
        if kind is Call:
            assert isinstance(item, Call)
            try:
                result = item.function(instance)
            except Exception as exc:  # noqa: BLE001 - returned to the caller
                item.future.fail(exc)
                return False
            except BaseException as exc:  # noqa: BLE001
                item.future.fail(exc)
                return self._failed(instance, None, exc)
            item.future.resolve(result)
            return False
        if kind is Resume:
            return False  # a late directive for a failure already dealt with
        if kind is Faulted:
            assert isinstance(item, Faulted)
            return self._inject(instance, item)
        try:
            instance._on_control(item)
        except BaseException as exc:  # noqa: BLE001
            return self._failed(instance, None, exc)
        return False

    def _failed(self, instance: Agent, envelope: Envelope | None, exc: BaseException) -> bool:
        """Deal with a handler that raised; True if the incarnation ended."""
        slot = self.slot
        slot.current = None
        office = slot.runtime.dead_letters
        recent = tuple(slot.recorder) if slot.recorder is not None else ()
        log = slot.log
        if envelope is not None:  # the runtime's lines about a message carry its ids
            log = log.bind(
                msg_id=envelope.id,
                correlation_id=envelope.correlation_id,
                causation_id=envelope.causation_id,
            )
        # One log line per failure (the dead letter it leaves is recorded without its own),
        # written before the asker can see the error.
        if envelope is not None and envelope.future is not None:
            body = type(envelope.body).__name__
            error = AgentFailed(f"agent {slot.name!r} failed handling {body}: {exc!r}", slot.name)
            error.__cause__ = exc
            if isinstance(exc, Exception) and not slot.options.restart_on_ask_error:
                log.opt(exception=exc).info(
                    "{} {!r} raised handling an ask ({}); the asker gets the error",
                    slot.kind,
                    slot.name,
                    body,
                )
                office.record(
                    envelope, DeadLetterReason.HANDLER_FAILED, repr(exc), error, log=False
                )
                return False
            _crash_line(log, slot, exc, recent)
            office.record(envelope, DeadLetterReason.HANDLER_FAILED, repr(exc), error, log=False)
        else:
            _crash_line(log, slot, exc, recent)
            if envelope is not None and not slot.keep_for_retry(envelope):
                office.record(envelope, DeadLetterReason.HANDLER_FAILED, repr(exc), log=False)
        slot.report(ChildFailed(slot, self.number, exc, envelope, recent))
        return self._park(instance, exc, envelope)

    def _park(self, instance: Agent, error: BaseException, envelope: Envelope | None) -> bool:
        """Wait for the supervisor's directive, reading only the control lane."""
        slot = self.slot
        slot.transition(SlotState.SUSPENDED)
        stash: list[object] = []
        try:
            while True:
                item = slot.mailbox.get_control(_PARK_POLL)
                if item is None:
                    if slot.mailbox.closed or self.abandoned:
                        return True
                    continue
                if item is CLOSED:
                    return True
                if type(item) is Resume:
                    assert isinstance(item, Resume)
                    if item.incarnation == self.number:
                        slot.transition(SlotState.RUNNING)
                        return False
                elif type(item) is Terminate:
                    assert isinstance(item, Terminate)
                    if item.incarnation == self.number:
                        cause = item.cause if item.cause is not None else error
                        self._end(instance, restart=item.restart, cause=cause, envelope=envelope)
                        return True
                else:
                    stash.append(item)
        finally:
            for item in stash:
                slot.mailbox.put_control(item)

    def _end(
        self,
        instance: Agent,
        *,
        restart: bool,
        cause: BaseException | None,
        envelope: Envelope | None,
    ) -> None:
        slot = self.slot
        if not self.abandoned:  # the slot's state belongs to the successor otherwise
            slot.transition(SlotState.RESTARTING if restart else SlotState.STOPPED)
        try:
            if restart:
                instance._run_hook(instance.pre_restart(cause, envelope))
            else:
                instance._run_hook(instance.on_stop())
        except BaseException as exc:  # noqa: BLE001 - the incarnation ends regardless
            hook = "pre_restart" if restart else "on_stop"
            slot.log.opt(exception=exc).error("{} of {!r} raised", hook, slot.name)

    def _exit(self, instance: Agent, reason: ExitReason) -> None:
        self._end(instance, restart=False, cause=None, envelope=None)
        self.slot.report(ChildExited(self.slot, self.number, reason))


_SHOWN = 5  # recording entries a crash's log line spells out (all of them are bound)


def _crash_line(log: Logger, slot: Slot, exc: BaseException, recent: tuple[Entry, ...]) -> None:
    """Log a failure at ERROR with the agent's flight recording (the last few in the text)."""
    if not recent:
        log.opt(exception=exc).error("{} {!r} failed: {!r}", slot.kind, slot.name, exc)
        return
    entries = summaries(recent)
    lines = "".join(f"\n  {line}" for line in map(_line, entries[-_SHOWN:]))
    log.bind(recent=[entry.model_dump(mode="json") for entry in entries]).opt(exception=exc).error(
        "{} {!r} failed: {!r}; its last {} of {} messages:{}",
        slot.kind,
        slot.name,
        exc,
        min(_SHOWN, len(entries)),
        len(entries),
        lines,
    )


def _line(entry: HandledMessage) -> str:
    took = "" if entry.duration is None else f" in {entry.duration * 1e3:.3f} ms"
    return f"{entry.id} {entry.type} from {entry.sender or '-'}: {entry.outcome.value}{took}"
