"""The event stream: every state change of a system, observable as an event.

Events are `Message` models (frozen pydantic), so a tap can forward them to an agent or
serialise them. What is published:

| event            | when                                                          |
| ---------------- | ------------------------------------------------------------- |
| `AgentStarted`   | an incarnation finished ``on_start`` / ``post_restart``        |
| `AgentCrashed`   | a handler (or ``on_start``) raised; ``directive`` is what the supervisor did |
| `AgentRestarted` | a new incarnation replaced a failed one                        |
| `AgentStopped`   | an agent stopped for good (it is unregistered)                 |
| `LifecycleChanged` | a slot moved from one lifecycle state to another              |
| `Escalated`      | a supervisor gave up and failed itself                         |
| `DeadLetter`     | a message could not be delivered or handled                    |
| `SystemFailed`   | the root supervisor escalated: the system is stopping           |
| `actors.MessageSent`, `actors.MessageHandled` | every message's traffic (`actors.traffic`) |

Each is built only while someone subscribes to its type (`EventStream.wants`).

Subscribing (`EventStream.subscribe`) picks one of three delivery modes:

- **buffered** (a callable, the default): the subscription has a bounded FIFO buffer
  (``buffer=``, 10,000 events) and a delivery thread of its own that calls the callback. A
  publish only appends to the buffer: it never waits for the callback. Events reach one
  subscription in the order they entered its buffer (so in publish order for one publishing
  thread).
- **inline** (a callable with ``inline=True``): called in the publishing thread before
  `EventStream.publish` returns, as a deterministic tap for tests and tiny taps that never
  block.
- **queue** (an object with ``put_nowait``, such as `queue.Queue`): ``put_nowait`` in the
  publishing thread.

`EventStream.subscribe_async` gives an async iterator for asyncio code instead.

A slow or blocked subscriber costs only itself: its buffer (or queue) fills, and further events
to it are dropped and counted (`Subscription.dropped`); other subscribers and message delivery
are unaffected. A subscriber that raises (even `SystemExit`) is logged and detached, so a
broken tap never breaks delivery. `Subscription.drain` waits until what was published to a
subscription has been delivered; `EventStream.close` (the last step of a system's shutdown)
delivers what every buffer holds, within its timeout, and ends the delivery threads.

The reasons events carry (`DeadLetterReason`, `ExitReason`, and `actors.run.StopReason` for a
run) derive from `Reason`: string enums, each member equal to its value.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, Literal, Protocol, TypeVar, overload

from loguru import logger
from pydantic import ConfigDict, Field, field_serializer, field_validator

from actors._timeouts import check_timeout
from actors.envelope import Envelope
from actors.errors import InvalidConfig
from actors.messages import Message
from actors.recording import HandledMessage

__all__ = [
    "AgentCrashed",
    "AgentRestarted",
    "AgentStarted",
    "AgentStopped",
    "AsyncSubscription",
    "DeadLetter",
    "DeadLetterReason",
    "Escalated",
    "Event",
    "EventStream",
    "ExitReason",
    "Reason",
    "Subscription",
    "SystemFailed",
    "Terminated",
]

E = TypeVar("E", bound="Event")


class Reason(enum.StrEnum):
    """Base of the reason enums (`DeadLetterReason`, `ExitReason`, `StopReason`).

    Its members are ``str``: each equals its value (``ExitReason.NORMAL == "normal"``), so
    a reason formats, logs and serialises as its plain name.
    """


class DeadLetterReason(Reason):
    """Why a message became a dead letter."""

    UNKNOWN_ADDRESS = "unknown_address"  # no agent has the name
    NO_ROLE_MEMBER = "no_role_member"  # no live agent holds the role
    STOPPED = "stopped"  # the recipient stopped before handling it
    UNHANDLED = "unhandled"  # the recipient has no handler for the body's type
    HANDLER_FAILED = "handler_failed"  # the handler raised while handling it
    EXPIRED = "expired"  # its deadline passed before it was handled
    MAILBOX_FULL = "mailbox_full"  # a bounded mailbox refused or dropped it
    RESTART_DISCARDED = "restart_discarded"  # keep_mailbox=False dropped it on a restart
    POLICY_DENIED = "policy_denied"  # the send policy does not allow this sender/target
    RATE_LIMITED = "rate_limited"  # the sender exceeded its rate limit
    SHUTDOWN = "shutdown"  # still queued when its system stopped (asks fail with SystemStopped)
    CANCELLED = "cancelled"  # its request was cancelled before the agent started it
    NO_ROUTE = "no_route"  # published, and no route covers its type (actors.routes)
    INVALID_ENVELOPE = "invalid_envelope"  # arrived from another node and failed validation


class ExitReason(Reason):
    """Why an agent stopped for good (carried by `Terminated` and `AgentStopped`)."""

    NORMAL = "normal"  # it was asked to stop, or stopped itself
    FAILED = "failed"  # its supervisor stopped it after a failure (or gave up on it)
    MAX_MESSAGES = "max_messages"  # it reached its max_messages guard
    SHUTDOWN = "shutdown"  # its system shut down
    START_FAILED = "start_failed"  # its first start failed
    NOT_FOUND = "not_found"  # it was already gone when it was watched
    NODE_DOWN = "node_down"  # it lived on another node, and that node stopped heartbeating


class Event(Message):
    """Base class of everything published on a system's event stream.

    Attributes:
        system: name of the system that published it.
        at: wall-clock time it happened (seconds since the epoch).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid")

    system: str
    at: float = Field(default_factory=time.time)


class DeadLetter(Event):
    """A message that could not be delivered or handled."""

    envelope: Envelope
    reason: DeadLetterReason
    detail: str | None = None

    @field_serializer("envelope")
    def _envelope_json(self, envelope: Envelope) -> dict[str, Any]:
        return envelope.to_dict()

    @field_validator("envelope", mode="before")
    @classmethod
    def _envelope_from_json(cls, value: object) -> object:
        return Envelope.from_dict(value) if isinstance(value, dict) else value


class AgentStarted(Event):
    """An incarnation of an agent (or supervisor) has started and is taking messages."""

    name: str
    kind: str
    restarts: int


class AgentCrashed(Event):
    """A handler, ``on_start`` or ``post_restart`` raised.

    Attributes:
        error: ``repr`` of the exception.
        error_type: qualified name of the exception's class.
        directive: what the supervisor decided (restart, resume, stop, escalate), or None
            before it decided.
        recent: the agent's flight recording when it failed (`HandledMessage` summaries of
            the last messages it took, oldest first; the failing one last).
    """

    name: str
    error: str
    error_type: str
    directive: str | None = None
    recent: tuple[HandledMessage, ...] = ()


class AgentRestarted(Event):
    """A new incarnation replaced the previous one; ``restarts`` counts them for the slot."""

    name: str
    restarts: int


class AgentStopped(Event):
    """An agent stopped for good and was unregistered."""

    name: str
    reason: ExitReason


class LifecycleChanged(Event):
    """An agent's or supervisor's slot moved from one lifecycle state to another.

    ``previous`` and ``state`` are slot states: ``new``, ``starting``, ``running``,
    ``suspended`` (failed, awaiting its supervisor), ``restarting``, ``stopped``, ``closed``.
    """

    name: str
    kind: str
    previous: str
    state: str


class Escalated(Event):
    """A supervisor stopped its children and failed itself."""

    supervisor: str
    cause: str


class SystemFailed(Event):
    """The root supervisor escalated; the system is stopping."""

    cause: str


class Terminated(Message):
    """Delivered to every agent that watched ``name`` when it stops for good.

    Declare a handler for it (``def on_terminated(self, msg: Terminated)``) to react.
    """

    name: str
    reason: ExitReason


# -- delivery ---------------------------------------------------------------------------------

ThreadFactory = Callable[[Callable[..., object], str, tuple[Any, ...]], threading.Thread]
"""Makes a delivery thread, not started: ``(target, what, args)`` (`SystemThreads.new`)."""

Mode = Literal["buffered", "inline", "queue"]

_FULL = frozenset({"Full", "QueueFull"})  # exception class names that mean "queue full"


class _QueueLike(Protocol):
    def put_nowait(self, item: Any, /) -> object: ...


class _Marker:
    """Put in a buffer by `Subscription.drain`; set once the delivery thread reaches it."""

    __slots__ = ("reached",)

    def __init__(self) -> None:
        self.reached = threading.Event()


_END = object()  # put by close: deliver what is buffered before it, then stop
_STOP = object()  # put by cancel: wakes an idle delivery thread, which stops


class Subscription:
    """A registered subscriber, made by `EventStream.subscribe`.

    `cancel` (or leaving its ``with`` block) removes it; `drain` waits until what was
    published to it has been delivered; `dropped` counts the events it lost to a full
    buffer (or a full queue).

    Attributes:
        target: the callable or queue-like object the events go to.
        types: the event types it receives.
        mode: ``"buffered"`` (its own thread and buffer), ``"inline"`` (called in the
            publishing thread) or ``"queue"`` (``put_nowait`` in the publishing thread).
    """

    def __init__(
        self,
        stream: EventStream,
        target: Callable[[Any], object] | _QueueLike,
        types: tuple[type[Event], ...],
        *,
        mode: Mode,
        buffer: int,
    ) -> None:
        self.target = target
        self.types = types
        self.mode: Mode = mode
        self._stream = stream
        self._lock = threading.Lock()  # the drop counter, the flags, drain's check
        self._active = True  # registered and taking events
        self._cancelled = False  # buffered events are discarded
        self._finished = False  # the delivery thread has ended (or never existed)
        self._dropped = 0
        self._thread: threading.Thread | None = None
        self._queue: queue.SimpleQueue[object] | None = None
        self._offer: Callable[[Any], None]
        if mode == "buffered":
            buffered = self._queue = queue.SimpleQueue()
            qsize, put, drop = buffered.qsize, buffered.put, self._drop

            def offer(event: object) -> None:  # the whole cost of a publish to this subscriber
                if qsize() < buffer:
                    put(event)
                else:
                    drop()

            self._offer = offer
        elif mode == "inline":
            self._offer = self._call
        else:
            self._offer = self._put_nowait

    @property
    def callback(self) -> Callable[[Any], object] | _QueueLike:
        """The same as `target` (its older name)."""
        return self.target

    @property
    def active(self) -> bool:
        """True while it is registered: until cancelled, detached or its stream closed."""
        return self._active

    @property
    def dropped(self) -> int:
        """How many events it lost because its buffer (or its queue) was full."""
        return self._dropped

    def cancel(self) -> None:
        """Stop receiving events. Idempotent; never waits.

        A buffered subscription's thread ends once the callback in progress (if any)
        returns; the events still in its buffer are discarded.
        """
        with self._lock:
            already = self._cancelled
            self._cancelled = True
            self._active = False
        if not already and self._queue is not None:
            self._queue.put(_STOP)
        self._stream._remove(self)

    def drain(self, timeout: float) -> bool:
        """Wait until every event published to it before this call has been delivered.

        That is: its buffer is empty (as far as those events go) and no callback is running.
        Events dropped for a full buffer, or discarded by `cancel`, are not waited for. An
        inline or queue subscription has nothing pending: True at once.

        Returns:
            True once nothing is pending; False if something still is after ``timeout``.

        Raises:
            RuntimeError: if called from the subscription's own delivery thread (from its
                callback), which would wait for itself.
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        check_timeout(timeout)
        if self._queue is None:
            return True
        if threading.current_thread() is self._thread:
            msg = "Subscription.drain() called from its own delivery thread would wait for itself"
            raise RuntimeError(msg)
        marker = _Marker()
        with self._lock:
            if self._finished:
                return True
            self._queue.put(marker)  # under the lock: the thread's exit releases it if need be
        return marker.reached.wait(timeout)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()

    def __repr__(self) -> str:
        names = ", ".join(t.__name__ for t in self.types)
        state = "active" if self._active else "inactive"
        return f"<Subscription {self.mode} {self.target!r} [{names}] {state}>"

    # -- the stream's side ----------------------------------------------------------------------

    def _drop(self) -> None:
        with self._lock:
            self._dropped += 1

    def _failed(self, event: object) -> None:
        logger.opt(exception=True).error(
            "event subscriber {!r} raised on {}; detached", self.target, type(event).__name__
        )
        self.cancel()

    def _call(self, event: object) -> None:
        try:
            self.target(event)  # type: ignore[operator]  # inline: a callable
        except BaseException:  # noqa: BLE001 - even a SystemExit from a tap must not break it
            self._failed(event)

    def _put_nowait(self, event: object) -> None:
        try:
            self.target.put_nowait(event)  # type: ignore[union-attr]  # queue mode
        except BaseException as error:  # noqa: BLE001 - a broken queue must not break publishing
            if any(cls.__name__ in _FULL for cls in type(error).__mro__):
                self._drop()
            else:
                self._failed(event)

    def _finish(self) -> None:
        """The stream closed: deliver what is buffered, then stop."""
        with self._lock:
            self._active = False
        if self._queue is not None:
            self._queue.put(_END)

    def _retire(self) -> None:
        """Made after its stream closed: it never takes an event."""
        self._active = False
        self._cancelled = True
        self._finished = True

    def _run(self) -> None:
        """The delivery thread of a buffered subscription."""
        assert self._queue is not None  # buffered mode only
        get = self._queue.get
        callback: Callable[[Any], object] = self.target  # type: ignore[assignment]
        try:
            while True:
                item = get()
                if self._cancelled or item is _END or item is _STOP:
                    return
                if item.__class__ is _Marker:
                    item.reached.set()
                    continue
                try:
                    callback(item)
                except BaseException:  # noqa: BLE001 - even a SystemExit from a tap
                    self._failed(item)
                    return
        finally:
            with self._lock:
                self._finished = True
            self._release_markers()

    def _release_markers(self) -> None:
        """After the thread ended: discard what is left, releasing any `drain` waiting."""
        assert self._queue is not None  # buffered mode only
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Marker):
                item.reached.set()


class AsyncSubscription(Generic[E]):
    """Events as an async iterator, made by `EventStream.subscribe_async`.

    ``async for event in subscription`` yields the events in the order they were buffered
    and ends (`StopAsyncIteration`) after `cancel` / `aclose` (buffered events are then
    discarded) or once its stream closed and the buffer is empty. ``async with`` cancels at
    exit. It is bound to the event loop that runs its first ``__anext__``.

    Attributes:
        types: the event types it receives.
    """

    def __init__(self, stream: EventStream, types: tuple[type[Event], ...], buffer: int) -> None:
        self.types = types
        self._stream = stream
        self._bound = buffer
        self._lock = threading.Lock()
        self._buffer: deque[E] = deque()
        self._active = True  # registered and taking events
        self._cancelled = False
        self._dropped = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiter: asyncio.Future[None] | None = None  # set while the consumer awaits

    @property
    def active(self) -> bool:
        """True while it is registered: until cancelled, detached or its stream closed."""
        return self._active

    @property
    def dropped(self) -> int:
        """How many events it lost because its buffer was full."""
        return self._dropped

    def cancel(self) -> None:
        """End the iteration (buffered events are discarded). Idempotent; thread-safe."""
        with self._lock:
            self._cancelled = True
            self._active = False
            self._buffer.clear()
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            self._notify(waiter)
        self._stream._remove(self)

    async def aclose(self) -> None:
        """The same as `cancel`, for ``async`` code and `contextlib.aclosing`."""
        self.cancel()

    def __aiter__(self) -> AsyncSubscription[E]:
        return self

    async def __anext__(self) -> E:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            msg = "an AsyncSubscription is bound to the event loop of its first __anext__"
            raise RuntimeError(msg)
        while True:
            with self._lock:
                if self._cancelled:
                    raise StopAsyncIteration
                if self._buffer:
                    return self._buffer.popleft()
                if not self._active:  # its stream closed, and the buffer is empty
                    raise StopAsyncIteration
                waiter = self._waiter = loop.create_future()
            try:
                await waiter
            finally:
                with self._lock:
                    if self._waiter is waiter:
                        self._waiter = None

    async def __aenter__(self) -> AsyncSubscription[E]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cancel()

    def __repr__(self) -> str:
        names = ", ".join(t.__name__ for t in self.types)
        state = "active" if self._active else "inactive"
        return f"<AsyncSubscription [{names}] {state}>"

    # -- the stream's side ----------------------------------------------------------------------

    def _offer(self, event: E) -> None:
        with self._lock:
            if not self._active:
                return
            if len(self._buffer) >= self._bound:
                self._dropped += 1
                return
            self._buffer.append(event)
            waiter, self._waiter = self._waiter, None  # wake the consumer once, not per event
        if waiter is not None and not self._notify(waiter):
            logger.warning("async event subscriber's event loop is closed; detached")
            self.cancel()

    def _notify(self, waiter: asyncio.Future[None]) -> bool:
        """Wake the awaiting consumer; False if its loop is closed."""
        loop = self._loop
        assert loop is not None  # a waiter exists only once a loop awaited
        try:
            loop.call_soon_threadsafe(_resolve, waiter)
        except RuntimeError:  # the loop is closed
            return False
        return True

    def _finish(self) -> None:
        """The stream closed: yield what is buffered, then stop."""
        with self._lock:
            self._active = False
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            self._notify(waiter)

    def _retire(self) -> None:
        """Made after its stream closed: it never takes an event."""
        self._active = False


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # the awaiting task may have been cancelled meanwhile
        waiter.set_result(None)


class EventStream:
    """Publishes a system's events to its subscribers; see the module docstring.

    Args:
        thread_factory: makes the delivery thread of each buffered subscription,
            ``(target, what, args) -> threading.Thread`` not started (a system passes its
            `SystemThreads.new`, so its shutdown joins them). Without one, daemon threads
            named ``regiment-events-<n>``.
    """

    def __init__(self, thread_factory: ThreadFactory | None = None) -> None:
        self._lock = threading.Lock()
        self._subs: tuple[Subscription | AsyncSubscription[Any], ...] = ()
        self._wanted: dict[type[Event], bool] = {}  # wants() answers, per event type
        self._routes: dict[type[Event], tuple[Callable[[Any], None], ...]] = {}  # publish's
        self._listeners: tuple[Callable[[], None], ...] = ()
        self._closed = False
        self._factory = thread_factory
        self._numbers = itertools.count(1)

    def subscribe(
        self,
        target: Callable[[Any], object] | _QueueLike,
        *event_types: type[Event],
        inline: bool = False,
        buffer: int = 10_000,
    ) -> Subscription:
        """Deliver every published event of the given types (all if none) to ``target``.

        ``target`` is a callable, or a queue-like object (one with ``put_nowait``; that wins
        over being callable):

        - a callable, by default: events go into a buffer of ``buffer`` events, and a thread
          of the subscription's own calls ``target(event)`` in order. A full buffer drops the
          event (counted in `Subscription.dropped`); publishing never waits for it.
        - a callable with ``inline=True``: called in the publishing thread, before `publish`
          returns. It must be quick and must never block.
        - a queue-like object: ``target.put_nowait(event)`` in the publishing thread; a
          ``Full`` (or ``QueueFull``) error drops the event (counted); ``inline`` and
          ``buffer`` do not apply. It must be thread-safe (`queue.Queue` is; `asyncio.Queue`
          is not: use `subscribe_async`).

        A target that raises anything else (even `SystemExit`) is logged and detached. After
        the stream closed, this returns an inactive subscription.

        Raises:
            TypeError: if a type is not an `Event` subclass, or ``target`` is neither
                callable nor queue-like.
            InvalidConfig: if ``buffer`` is not a positive int.
        """
        types = _check_types(event_types, "subscribe")
        _check_buffer(buffer)
        mode: Mode
        if hasattr(target, "put_nowait"):
            mode = "queue"
        elif callable(target):
            mode = "inline" if inline else "buffered"
        else:
            msg = f"subscribe() takes a callable or a queue (put_nowait), got {target!r}"
            raise TypeError(msg)
        sub = Subscription(self, target, types, mode=mode, buffer=buffer)
        with self._lock:
            if self._closed:
                sub._retire()
                return sub
            if mode == "buffered":
                sub._thread = self._new_thread(sub._run)
                sub._thread.start()
            else:
                sub._finished = True  # no thread: drain has nothing to wait for
            self._subs = (*self._subs, sub)
            self._wanted = {}
            self._routes = {}
        self._changed()
        return sub

    @overload
    def subscribe_async(self, *, buffer: int = 10_000) -> AsyncSubscription[Event]: ...

    @overload
    def subscribe_async(
        self, event_type: type[E], /, *more: type[E], buffer: int = 10_000
    ) -> AsyncSubscription[E]: ...

    def subscribe_async(
        self, *event_types: type[Event], buffer: int = 10_000
    ) -> AsyncSubscription[Any]:
        """An async iterator of every published event of the given types (all if none).

        ``async for event in system.events.subscribe_async(AgentCrashed): ...``. It is
        registered by this call: what is published before the first ``__anext__`` waits in
        its buffer of ``buffer`` events (a full buffer drops, counted in ``dropped``).
        Publishing from any thread only appends under a lock; the consumer's loop is woken
        (``call_soon_threadsafe``) only when it is waiting. If that loop is closed, the
        subscription detaches.

        Raises:
            TypeError: if a type is not an `Event` subclass.
            InvalidConfig: if ``buffer`` is not a positive int.
        """
        types = _check_types(event_types, "subscribe_async")
        _check_buffer(buffer)
        sub: AsyncSubscription[Any] = AsyncSubscription(self, types, buffer)
        with self._lock:
            if self._closed:
                sub._retire()
                return sub
            self._subs = (*self._subs, sub)
            self._wanted = {}
            self._routes = {}
        self._changed()
        return sub

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever the set of subscriptions changes.

        That is on every subscribe, cancel, detach and on `close`, after the change (so
        `wants` already answers for the new set), in the thread that made it. A listener that
        raises is logged.
        """
        with self._lock:
            self._listeners = (*self._listeners, callback)

    def wants(self, event_type: type[Event]) -> bool:
        """True if some subscriber would receive events of this type (cached per type)."""
        wanted = self._wanted  # read before _subs: a change replaces both, in that order
        known = wanted.get(event_type)
        if known is None:
            known = wanted[event_type] = any(
                issubclass(event_type, sub.types) for sub in self._subs
            )
        return known

    def publish(self, event: Event) -> None:
        """Hand ``event`` to its subscribers; never waits for a buffered or async one."""
        routes = self._routes  # read before _subs, as in wants()
        offers = routes.get(type(event))
        if offers is None:  # once per event type and change of subscribers
            offers = routes[type(event)] = tuple(
                sub._offer for sub in self._subs if isinstance(event, sub.types)
            )
        for offer in offers:
            offer(event)

    def close(self, timeout: float) -> None:
        """Stop every subscription. Idempotent.

        Buffered subscriptions first deliver what their buffer holds, then their threads end
        and are joined, all within ``timeout`` seconds; one still busy then is cancelled (the
        rest of its buffer is discarded, its thread ends when its callback returns). Async
        ones yield what they hold, then stop. From then on `publish` delivers nothing and
        `subscribe` returns inactive subscriptions.

        Raises:
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        check_timeout(timeout)
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._closed:
                return
            self._closed = True
            subs, self._subs = self._subs, ()
            self._wanted = {}
            self._routes = {}
        for sub in subs:
            sub._finish()
        if subs:
            self._changed()
        me = threading.current_thread()
        for sub in subs:
            if not isinstance(sub, Subscription):
                continue
            thread = sub._thread
            if thread is None or thread is me:
                continue
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                logger.warning(
                    "event subscriber {!r} still busy when its stream closed; the rest of its "
                    "buffer is discarded",
                    sub.target,
                )
                sub.cancel()

    def _new_thread(self, run: Callable[[], None]) -> threading.Thread:
        number = next(self._numbers)
        if self._factory is not None:
            return self._factory(run, f"events-{number}", ())
        return threading.Thread(target=run, name=f"regiment-events-{number}", daemon=True)

    def _remove(self, sub: Subscription | AsyncSubscription[Any]) -> None:
        with self._lock:
            subs = tuple(s for s in self._subs if s is not sub)
            if len(subs) == len(self._subs):
                return
            self._subs = subs
            self._wanted = {}
            self._routes = {}
        self._changed()

    def _changed(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # noqa: BLE001 - a listener must not break a subscribe or cancel
                logger.opt(exception=True).error("event stream listener {!r} raised", listener)


def _check_types(event_types: tuple[Any, ...], method: str) -> tuple[type[Event], ...]:
    for event_type in event_types:
        if not (isinstance(event_type, type) and issubclass(event_type, Event)):
            msg = f"{method}() takes Event subclasses, got {event_type!r}"
            raise TypeError(msg)
    return event_types or (Event,)


def _check_buffer(buffer: object) -> None:
    if not isinstance(buffer, int) or isinstance(buffer, bool) or buffer < 1:
        msg = f"buffer must be an int >= 1, got {buffer!r}"
        raise InvalidConfig(msg)
