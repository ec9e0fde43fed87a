"""The runtime behind an `ActorSystem`: the services every slot, router and supervisor uses.

`ActorSystem` is the user's facade; this is what it builds and delegates to. One `Runtime` per
system holds the system's threads, event stream, dead-letter office, router, timers and run
watch, and does what the runtime's own parts ask of the system:

- **registration**: `register` / `unregister` slots in the router's address table;
- **events**: `publish` (free when nobody subscribes to that event type);
- **top-level exits**: `top_level_exit` when the root supervisor fails or exits: log, publish
  `SystemFailed`, and shut everything down in a thread of its own;
- **stops**: `stop_slot` stops one slot for good through its supervisor (``AgentRef.stop``);
- **shutdown**: `shutdown` drains, closes the inboxes, stops the tree in order, closes the
  timers and the event stream (buffered subscribers get what was published) and joins every
  thread (the sequence `ActorSystem.shutdown` documents); `on_shutdown` callbacks run last,
  before the system counts as stopped (what an add-on such as `actors.prometheus` uses to
  stop its own threads with the system).

Runtime modules (`actors._slot`, `actors._incarnation`, `actors._router`, ...) depend on this
module, never on the facade (`ActorSystem`, `AgentRef`). The facade object is kept here only as
an opaque ``facade``, so that `AgentActor.system` can hand it back to user code.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import TYPE_CHECKING, Any

from loguru import logger

from actors._deadletters import DeadLetterOffice
from actors._exit import wait_at_exit
from actors._guards import RunWatch
from actors._local import state as _current
from actors._router import Router
from actors._signals import ChildExited, ChildFailed
from actors._slot import SlotState
from actors._stats import Totals
from actors._threads import SystemThreads
from actors._timeouts import check_timeout
from actors._timers import TimerService
from actors.errors import AgentUnavailable, AskTimeout
from actors.events import DeadLetterReason, Event, EventStream, ExitReason, SystemFailed
from actors.traffic import MessageHandled, MessageSent

if TYPE_CHECKING:
    from collections.abc import Callable

    from actors._slot import Slot
    from actors.clock import Clock

__all__ = ["Runtime", "Tap"]


class Tap:
    """Who watches the traffic: what a send or a handled message must do beyond the usual.

    Attributes:
        sent: someone subscribes to `MessageSent`.
        handled: someone subscribes to `MessageHandled`.
        after: `handled`, or a ``run_until`` counts messages: the one flag an agent's loop
            tests after each message (so watching nothing costs one attribute read).
        log: the system keeps a message log (`actors.message_log`): every send is logged.
    """

    __slots__ = ("after", "handled", "log", "sent")

    def __init__(self) -> None:
        self.sent = False
        self.handled = False
        self.after = False
        self.log = False


class Runtime:
    """The services of one system; see the module docstring. Thread-safe.

    Attributes:
        name: the system's name.
        clock: where time comes from.
        ask_timeout: the default timeout of asks that give none.
        threads: every thread the system started.
        events: the system's event stream.
        dead_letters: the dead-letter office.
        router: the address table and the send path.
        timers: the timer thread.
        watch: the message counter behind ``run_until``.
        root: the root supervisor's slot (set once it is built).
        facade: the `ActorSystem` this runtime serves (opaque here).
        closing: True once the tree is being stopped.
    """

    def __init__(
        self,
        name: str,
        *,
        clock: Clock,
        ask_timeout: float,
        daemon: bool,
        dead_letter_capacity: int,
        on_fatal: Callable[[BaseException], object] | None,
        facade: object,
        metrics: bool = True,
    ) -> None:
        self.name = name
        self.clock = clock
        self.ask_timeout = ask_timeout
        self.facade = facade
        # Agent threads are daemon threads either way; with daemon=False interpreter exit
        # still waits for them, through a hook (see actors._exit for why).
        self.threads = SystemThreads(name, daemon=daemon or wait_at_exit(self))
        self.events = EventStream(self.threads.new)  # delivery threads are the system's
        self.metrics = metrics  # per-agent counters and handling times (actors._stats)
        self.totals = Totals()
        self.tap = Tap()
        # False: traffic events are never published, whoever subscribes (the benchmark's
        # "feature off" toggle: see benchmarks/bench_observability.py).
        self.traffic = True
        self.events.add_listener(self._tap_changed)
        self.dead_letters = DeadLetterOffice(name, self.events, dead_letter_capacity)
        self.router = Router(self)
        self.timers = TimerService(self)
        self.watch = RunWatch(self)
        self.root: Slot | None = None
        self.closing = False  # the tree is being stopped
        self.shutting_down = False  # shutdown was called: outside work is refused
        self._shutdown_runner: threading.Thread | None = None
        self._on_fatal = on_fatal
        self._failure: BaseException | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._clean = True
        self._shutdown_hooks: dict[int, Callable[[], object]] | None = {}  # None once run
        self._hook_ids = itertools.count()

    def follow_tap(self) -> None:
        """Recompute the `Tap` (subscriptions changed, or a run started or ended)."""
        self._tap_changed()

    def _tap_changed(self) -> None:
        """Follow the subscriptions: note whether anyone listens to the traffic events."""
        tap = self.tap
        tap.sent = self.traffic and self.events.wants(MessageSent)
        tap.handled = self.traffic and self.events.wants(MessageHandled)
        tap.after = tap.handled or self.watch.active
        self.router.follow_tap()

    @property
    def failure(self) -> BaseException | None:
        """The cause of a fatal failure (the root supervisor escalated), or None."""
        return self._failure

    @property
    def stopped(self) -> bool:
        """True once the system has stopped."""
        return self._stopped.is_set()

    # -- what the runtime's parts ask of the system -----------------------------------------

    def ask_wait(self, timeout: float | None) -> float:
        """Seconds an ask waits: ``timeout``, or the system's ``ask_timeout`` if None.

        Raises:
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        if timeout is None:
            return self.ask_timeout
        check_timeout(timeout)
        return timeout

    def register(self, slots: list[Slot]) -> None:
        """Register a new subtree's slots all at once (see `Router.register`).

        Raises:
            DuplicateName: if a name is taken (nothing is registered then).
        """
        self.router.register(slots)

    def unregister(self, slot: Slot) -> None:
        """Remove a closed slot from the address table."""
        self.router.unregister([slot])

    def publish(self, event_type: type[Event], **fields: Any) -> None:
        """Publish an event of ``event_type``; builds nothing when nobody subscribed to it.

        (Built by validation, which pydantic does in compiled code: ``model_construct`` is
        pure Python and, measured, 1.7x slower for a `MessageHandled`.)
        """
        if self.events.wants(event_type):
            self.events.publish(event_type(system=self.name, **fields))

    def top_level_exit(self, slot: Slot, signal: ChildFailed | ChildExited) -> None:
        """The root supervisor failed or exited: the system cannot go on; stop it."""
        if isinstance(signal, ChildFailed):
            cause: BaseException = signal.error
        else:
            cause = RuntimeError(f"{slot.kind} {slot.name!r} exited ({signal.reason.value})")
        with self._lock:
            if self._failure is not None or self.shutting_down:
                return
            self._failure = cause
        log = logger.bind(system=self.name)
        log.critical(
            "system {!r} failed; stopping it. Cause chain (outermost first):\n{}",
            self.name,
            _cause_chain(cause),
        )
        log.opt(exception=cause).debug("system {!r}: the fatal failure's traceback", self.name)
        self.publish(SystemFailed, cause=repr(cause))
        self.threads.start_helper(self._fatal, "fatal", ())

    def stop_slot(self, slot: Slot, timeout: float) -> bool:
        """Stop a slot for good through its supervisor (``AgentRef.stop``, ``SupervisorRef.stop``).

        Returns:
            True once stopped; False if it did not stop within ``timeout``.

        Raises:
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        check_timeout(timeout)
        if not slot.alive:
            return True
        if _current.slot is slot:
            slot.request_stop(ExitReason.NORMAL)
            return True
        parent = slot.parent
        if parent is None:
            return False
        try:
            parent.call(lambda sup: sup.stop_child(slot.name), timeout, f"stop of {slot.name!r}")
        except AgentUnavailable:  # the supervisor itself is gone
            pass
        except AskTimeout:
            return False  # still stopping: its supervisor goes on waiting for it
        return not slot.alive

    def wait(self, timeout: float) -> bool:
        """Wait until the system has stopped; True if it did within ``timeout``."""
        return self._stopped.wait(timeout)

    def on_shutdown(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Have ``callback()`` called once when the system shuts down.

        Callbacks run in the thread that runs the shutdown, in the order they were added,
        after every agent stopped and every thread of the system was joined, and before
        `wait` (and so `shutdown`) returns. One that raises is logged at ERROR; the shutdown
        goes on. A callback added once they ran (the system has stopped) is called at once,
        in the caller's thread.

        Returns:
            A function that removes the callback (it is then never called; a no-op once the
            callbacks ran).
        """
        with self._lock:
            hooks = self._shutdown_hooks
            if hooks is not None:
                key = next(self._hook_ids)
                hooks[key] = callback
                return lambda: self._remove_hook(key)
        _call_hook(self.name, callback)
        return _nothing

    def _remove_hook(self, key: int) -> None:
        with self._lock:
            if self._shutdown_hooks is not None:
                self._shutdown_hooks.pop(key, None)

    def _run_shutdown_hooks(self) -> None:
        """Call every `on_shutdown` callback once (the last step of the shutdown)."""
        with self._lock:
            hooks, self._shutdown_hooks = self._shutdown_hooks, None
        for callback in (hooks or {}).values():
            _call_hook(self.name, callback)

    # -- shutdown -----------------------------------------------------------------------------

    def shutdown(self, timeout: float, drain: float) -> bool:
        """Run (or wait for) the shutdown `ActorSystem.shutdown` documents; True if clean."""
        deadline = time.monotonic() + timeout
        current = _current.slot
        if current is not None and current.runtime is self:
            if self._claim_shutdown():
                self.threads.start_helper(self._run_shutdown, "shutdown", (deadline, drain))
            return False
        if self._claim_shutdown():
            self._run_shutdown(deadline, drain)
            return self._clean
        if self._stopped.is_set():
            return self._clean
        if threading.current_thread() is self._shutdown_runner:
            return False  # called from inside the shutdown (an on_fatal callback): under way
        if not self._stopped.wait(_remaining(deadline)):
            return False  # another shutdown is still under way
        self.threads.join_all(deadline)  # the thread that ran it (the fatal thread, say)
        return self._clean

    def _claim_shutdown(self) -> bool:
        """True for the one caller that runs the shutdown; refuses outside work from then on."""
        with self._lock:
            if self.shutting_down:
                return False
            self.shutting_down = True
            self.router.open = False
            return True

    def _run_shutdown(self, deadline: float, drain: float) -> None:
        """The shutdown itself; runs once, in whichever thread claimed it."""
        self._shutdown_runner = threading.current_thread()
        root = self.root
        try:
            now = time.monotonic()
            self._drain(min(now + drain, now + (deadline - now) / 2))  # half is for the stop
            self.closing = True
            self.watch.stop()
            # Inboxes are outside the tree, and nobody will read them any more: close them
            # first, so that an agent blocked asking one fails now, not at its timeout.
            for slot in list(self.router.table.names.values()):
                if slot.kind == "inbox":
                    slot.close(ExitReason.SHUTDOWN)
            if root is not None:
                # What is queued now will never be handled: every agent stops after its
                # current message. Say so at once (asks fail with SystemStopped).
                for slot in root.subtree():
                    if slot.kind == "agent":
                        slot.mailbox.discard(DeadLetterReason.SHUTDOWN.value)
                root.terminate(restart=False, cause=None, timeout=_remaining(deadline))
                root.close_subtree(ExitReason.SHUTDOWN)
            self.timers.close(_remaining(deadline))
            self._notify_fatal()
            # Buffered subscribers get what is already published, then their threads end.
            self.events.close(_remaining(deadline))
            stuck = self.threads.join_all(deadline, helpers=False)
            self._clean = not stuck
            if stuck:
                logger.bind(system=self.name).error(
                    "system {!r}: threads did not stop in time (they end when their handler "
                    "returns): {}",
                    self.name,
                    stuck,
                )
        finally:
            self._run_shutdown_hooks()
            self._stopped.set()
        # The fatal-failure thread may be waiting for this shutdown: join it only now.
        self.threads.join_all(deadline)

    def _drain(self, deadline: float) -> None:
        """Wait until no running agent has queued work or a handler running (or the deadline)."""
        pause = 0.001
        quiet = 0
        while quiet < 2:  # twice in a row: a message between a get and its handler is missed once
            if time.monotonic() >= deadline:
                return
            if self._busy():
                quiet = 0
                time.sleep(min(pause, _remaining(deadline)))
                pause = min(pause * 2, 0.05)
            else:
                quiet += 1

    def _busy(self) -> bool:
        """True if some agent that will go on working has a message queued or in hand."""
        for slot in self.router.table.agents:
            if slot.state in _WORKING and (
                slot.current is not None or slot.mailbox.qsize() or slot.has_front()
            ):
                return True
        return False

    def _fatal(self) -> None:
        self.shutdown(30.0, 0.0)

    def _notify_fatal(self) -> None:
        """Call ``on_fatal`` once, after the tree stopped and before `wait` returns."""
        with self._lock:
            cause, callback = self._failure, self._on_fatal
            self._on_fatal = None
        if cause is None or callback is None:
            return
        try:
            callback(cause)
        except BaseException:  # noqa: BLE001 - even sys.exit() must not leave the system unstopped
            logger.opt(exception=True).error("on_fatal callback raised")


# States whose queued messages a drain waits for (not RESTARTING: a backoff may take hours).
_WORKING = frozenset({SlotState.STARTING, SlotState.RUNNING, SlotState.SUSPENDED})


def _cause_chain(error: BaseException, limit: int = 8) -> str:
    """The error and its causes, one short line each (the tracebacks go to DEBUG)."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(lines) < limit:
        seen.add(id(current))
        lines.append(f"  {'<- ' if lines else ''}{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return "\n".join(lines)


def _call_hook(system: str, callback: Callable[[], object]) -> None:
    try:
        callback()
    except BaseException:  # noqa: BLE001 - a hook must not leave the system unstopped
        logger.bind(system=system).opt(exception=True).error(
            "system {!r}: a shutdown callback raised", system
        )


def _nothing() -> None:
    """What `Runtime.on_shutdown` returns for a callback already called."""


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
