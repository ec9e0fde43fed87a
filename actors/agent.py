"""`AgentActor`: the class users subclass to write agents.

An agent is a `pykka.ThreadingActor`: one thread, one mailbox, one message at a time. Declare
what it handles with `@handler` methods; the handler's return value answers an ask::

    class Coder(actors.AgentActor):
        roles = ("coder",)

        @actors.handler
        def on_task(self, task: Task) -> Patch:
            self.log.info("working on {}", task.title)
            return Patch(diff="...")

Agents are started by a system (`ActorSystem.spawn`) or a supervisor (a child spec), never with
pykka's ``start()``. Each restart builds a new instance; state that must survive restarts
belongs outside the instance.

Handlers and the lifecycle hooks may be ``async def`` (for asyncio-only client libraries):
each incarnation owns an event loop, created in its thread on first use and closed when the
incarnation ends, and runs each coroutine to completion on it, one message at a time.

Mistakes fail where they are made: overriding pykka's ``on_receive`` (agents dispatch with
`@handler`) or giving one type two handlers in a class body raises `TypeError` when the class
is created; spawn arguments the constructor does not take, or a constructor that forgot
``super().__init__()``, make the spawn raise `StartFailed`.

Inside a handler, in the agent's own thread: `context`, `tell`, `ask`, `ask_future`,
`ask_async`, `reply`, `broadcast`, `watch`, `schedule`, `schedule_every`, `stop` and `log`.
The verbs mean what they mean on `ActorSystem` and `AgentRef`: `tell` sends without waiting,
`ask` blocks until the reply (this agent handles nothing meanwhile), `ask_future` returns the
reply's future at once, `ask_async` awaits it in an ``async def`` handler.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar, cast

import pykka
from loguru import logger
from pydantic.errors import PydanticInvalidForJsonSchema

from actors._dispatch import HandlerTable, build_table, lookup
from actors._local import state as _current
from actors._mailboxes import FifoQueue
from actors._watches import unwatch_name, watch_name
from actors.address import AddressLike, Broadcast, validate_name
from actors.envelope import Envelope
from actors.errors import Cancelled, RegimentError
from actors.events import DeadLetterReason, ExitReason
from actors.future import _AgentCallback
from actors.gather import Gather, GatherDone, start_gather
from actors.messages import Kind, Message, Priority
from actors.recording import MessageOutcome
from actors.request import ReplyToken, answer, late
from actors.schema import message_schema

if TYPE_CHECKING:
    from loguru import Logger

    from actors._deadletters import DeadLetterOffice
    from actors._mailboxes import MailboxQueue
    from actors._slot import Slot
    from actors._timers import Timer
    from actors.future import Future
    from actors.mailbox import Mailbox
    from actors.system import ActorSystem

__all__ = ["AgentActor", "Context"]

_MISSING: Any = object()
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Context:
    """What an agent knows about itself and the message it is handling.

    Attributes:
        name: the agent's name.
        roles: the roles it holds.
        envelope: the envelope being handled (None outside a handler, e.g. in ``on_start``).
        restarts: how many times its slot has been restarted.
        system: the system it runs in.
    """

    name: str
    roles: frozenset[str]
    envelope: Envelope | None
    restarts: int
    system: ActorSystem

    @property
    def sender(self) -> str | None:
        """Name of the sender of the current message (None if it came from outside)."""
        return None if self.envelope is None else self.envelope.sender

    @property
    def message_id(self) -> str | None:
        """Id of the current envelope."""
        return None if self.envelope is None else self.envelope.id

    @property
    def correlation_id(self) -> str | None:
        """Correlation id of the current envelope."""
        return None if self.envelope is None else self.envelope.correlation_id

    @property
    def priority(self) -> Priority | None:
        """Priority of the current envelope (None outside a handler)."""
        return None if self.envelope is None else self.envelope.priority

    @property
    def cancelled(self) -> bool:
        """True once nobody waits for the request being handled (an `actors.Request`).

        It was cancelled, or it expired. Read it again: it is live.
        """
        future = None if self.envelope is None else self.envelope.future
        return future is not None and future.abandoned


def _drop(item: object, reason: str) -> None:
    """Reject callback of a mailbox built outside any system: nothing to record."""


class _Renamed:
    """A class attribute that names a method's new name: reading it raises `AttributeError`.

    Set only at runtime (mypy reports the old name as missing on its own), so ``hasattr``
    is False while a leftover call says what to call instead.
    """

    def __init__(self, new: str) -> None:
        self.new = new
        self.old = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.old = name

    def __get__(self, instance: object, owner: type | None = None) -> NoReturn:
        cls = owner.__name__ if owner is not None else type(instance).__name__
        msg = f"{cls}.{self.old} was renamed {self.new}: call {self.new}(...) instead"
        raise AttributeError(msg, name=self.old, obj=instance)


class AgentActor(pykka.ThreadingActor):
    """Base class of every agent; see the module docstring.

    Class attributes:
        roles: the roles every instance holds unless the spawn names others.
        mailbox: the default `Mailbox` settings for this class (None: unbounded FIFO).
    """

    roles: ClassVar[tuple[str, ...]] = ()
    mailbox: ClassVar[Mailbox | None] = None
    _handlers: ClassVar[HandlerTable] = {}
    # The message types the class's handlers were declared for (its own and inherited), fixed
    # at class creation; _handlers also gains cached MRO look-ups as messages arrive.
    _declared: ClassVar[frozenset[type[Message]]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Build the class's handler table and check its roles.

        Raises:
            TypeError: if the class overrides ``on_receive``, gives one message type two
                handlers, declares a handler for a non-`Message` type, or sets ``roles`` to
                a string.
        """
        super().__init_subclass__(**kwargs)
        if "on_receive" in vars(cls):
            msg = (
                f"{cls.__qualname__} overrides on_receive, which agents never call; declare "
                "one method per message type with @actors.handler instead"
            )
            raise TypeError(msg)
        inherited: HandlerTable = {}
        for base in reversed(cls.__mro__[1:]):
            inherited.update(vars(base).get("_handlers", {}))
        cls._handlers = build_table(cls, inherited)
        declared: set[type[Message]] = set()
        for base in cls.__mro__[1:]:
            declared.update(vars(base).get("_declared", ()))
        declared.update(
            message_type
            for message_type, function in cls._handlers.items()
            if function is not None
            and inherited.get(message_type) is not function
            and issubclass(message_type, Message)
        )
        cls._declared = frozenset(declared)
        if isinstance(cls.roles, str):
            msg = f"{cls.__qualname__}.roles must be a tuple of role names, not a string"
            raise TypeError(msg)
        for role in cls.roles:
            validate_name(role, "role")

    @classmethod
    def protocol(cls) -> dict[str, dict[str, Any]]:
        """The message types this class handles, with their JSON Schemas.

        Returns:
            {type name: JSON Schema of the body}, sorted by type name, for every type a
            handler of the class (or of a base) was declared for; a handler for a base class
            also receives its subclasses, which are not listed. A handler for
            `actors.UnknownMessage` is listed under its type name as "any JSON object". A
            type whose fields have no JSON form (see `actors.schema`) is listed with an
            empty schema.
        """
        protocol: dict[str, dict[str, Any]] = {}
        for message_class in sorted(cls._declared, key=lambda c: c.type_name):
            try:
                schema = message_schema(message_class)
            except PydanticInvalidForJsonSchema:
                schema = {}
            protocol[message_class.type_name] = schema
        return protocol

    @classmethod
    def _create_actor_inbox(cls) -> MailboxQueue:  # type: ignore[override]
        """Hand pykka the slot's mailbox (it outlives this instance)."""
        slot = _current.constructing
        if slot is None:  # constructed outside a system, e.g. to unit-test a handler directly
            return FifoQueue(cls.__name__, _drop)
        return slot.mailbox

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> NoReturn:
        """Not supported: agents are started by `ActorSystem.spawn` or a supervisor.

        Raises:
            TypeError: always.
        """
        msg = f"start {cls.__name__} with ActorSystem.spawn() or a supervision ChildSpec"
        raise TypeError(msg)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Attach the new instance to the slot being started; subclasses must call it.

        Raises:
            TypeError: if any argument reaches it (pykka would ignore them silently): the
                spawn passed arguments that the subclass's ``__init__`` does not take.
        """
        if args or kwargs:
            given = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            msg = (
                f"{type(self).__qualname__} got arguments its __init__ does not take: "
                f"({given}); AgentActor.__init__ takes none"
            )
            raise TypeError(msg)
        super().__init__()
        self._slot: Slot | None = _current.constructing
        self._replied = False
        self._timers: set[Timer] | None = None
        self._runner: asyncio.Runner | None = None  # this incarnation's event loop, lazily

    def __str__(self) -> str:
        name = self._slot.name if self._slot is not None else "<unstarted>"
        return f"{type(self).__name__} {name!r}"

    # -- lifecycle hooks --------------------------------------------------------------------

    # Each hook may be ``async def``: the incarnation runs the coroutine it returns to
    # completion on the agent's event loop. The defaults of pre_restart and post_restart return
    # what on_stop / on_start returned, so an async on_stop still runs before a restart. pykka
    # types on_start / on_stop as returning None, but its loop never runs an agent: the
    # incarnation does, and it accepts a coroutine.

    def on_start(self) -> Coroutine[Any, Any, None] | None:  # type: ignore[override]
        """Run in the agent's thread before it takes its first message (may be async)."""
        return None

    def on_stop(self) -> Coroutine[Any, Any, None] | None:  # type: ignore[override]
        """Run in the agent's thread when it stops (also before a restart, by default).

        May be ``async def``.
        """
        return None

    def pre_restart(
        self, error: BaseException | None, envelope: Envelope | None
    ) -> Coroutine[Any, Any, None] | None:
        """Run on the old instance before a restart; calls `on_stop` by default.

        May be ``async def``. An override that calls the default should return its result
        (it is `on_stop`'s coroutine when ``on_stop`` is async).

        Args:
            error: the failure that caused the restart.
            envelope: the message being handled when it failed (None if it failed elsewhere,
                or a sibling's failure caused the restart).
        """
        return self.on_stop()

    def post_restart(self, error: BaseException) -> Coroutine[Any, Any, None] | None:
        """Run on the new instance instead of `on_start` after a restart; calls it by default.

        May be ``async def``; an override that calls the default should return its result.
        """
        return self.on_start()

    def on_unhandled(self, envelope: Envelope) -> None:
        """Called for a message no handler matches; dead-letters it (reason ``unhandled``).

        An ask gets `UnhandledMessage` at once.
        """
        self._office().record(envelope, DeadLetterReason.UNHANDLED)

    # -- what a handler can use ---------------------------------------------------------------

    @property
    def context(self) -> Context:
        """The agent's name, roles, restart count and current envelope."""
        slot = self._running_slot()
        return Context(slot.name, slot.roles, slot.current, slot.restarts, _facade(slot))

    @property
    def name(self) -> str:
        """The agent's unique name."""
        return self._running_slot().name

    @property
    def system(self) -> ActorSystem:
        """The system the agent runs in."""
        return _facade(self._running_slot())

    @property
    def log(self) -> Logger:
        """A loguru logger bound to the agent's name and the current message's ids."""
        slot = self._slot
        if slot is None:
            return logger
        current = slot.current
        if current is None:
            return slot.log
        return slot.log.bind(
            msg_id=current.id,
            correlation_id=current.correlation_id,
            causation_id=current.causation_id,
        )

    def tell(
        self,
        to: AddressLike,
        message: Message,
        *,
        priority: Priority = Priority.NORMAL,
        kind: str = Kind.EVENT,
        reply_to: AddressLike | None = None,
        correlation_id: str | None = None,
    ) -> int:
        """Send ``message`` without waiting; returns how many mailboxes took it (0: dead-lettered).

        It carries the conversation's correlation id (the one of the message being handled,
        unless ``correlation_id`` names another) and, as causation id, the id of the message
        being handled.

        Raises:
            InvalidMessage, InvalidAddress: for a bad message or address.
            PolicyViolation, MailboxFull: if a send policy or a bounded mailbox refuses it.
        """
        slot = self._running_slot()
        return slot.runtime.router.tell(
            to,
            message,
            slot,
            kind=kind,
            priority=priority,
            reply_to=reply_to,
            correlation_id=correlation_id,
        )

    if not TYPE_CHECKING:
        send = _Renamed("tell")  # renamed before 1.0: AgentRef and ActorSystem say tell too

    def ask_future(
        self,
        to: AddressLike,
        message: Message,
        *,
        timeout: float | None = None,
        priority: Priority = Priority.NORMAL,
        correlation_id: str | None = None,
    ) -> Future[Any]:
        """Send ``message`` to one agent and return the future of its reply; never blocks.

        The future fails with `AskTimeout` after ``timeout`` seconds (the system's default ask
        timeout if None). Waiting on it (``get()``, which is what `ask` does) inside a handler
        stalls this agent meanwhile; instead, add a callback: ``future.add_done_callback(fn)``
        called here runs ``fn(future)`` later in *this* agent's thread, between messages (never
        in the replier's), with the current envelope restored, so what ``fn`` sends carries
        this agent as sender and the conversation's correlation id. An exception ``fn`` raises
        is a failure of this agent; after a restart a stale callback is dropped with a warning.

        The request carries the conversation's correlation id (unless ``correlation_id`` names
        another) and the current message's id as causation.

        Raises:
            UnknownAddress: at once, if nobody has the name or holds the role.
            AskToSelf: if the only possible recipient is this agent.
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        slot = self._running_slot()
        return slot.runtime.router.ask(
            to,
            message,
            slot,
            timeout=self._ask_wait(timeout),
            priority=priority,
            correlation_id=correlation_id,
        )

    def ask(
        self,
        to: AddressLike,
        message: Message,
        *,
        timeout: float | None = None,
        priority: Priority = Priority.NORMAL,
        correlation_id: str | None = None,
    ) -> Any:
        """Send ``message`` to one agent and block until its reply; return the reply.

        This blocks the agent's own thread: until the reply comes (or ``timeout`` passes) this
        agent handles nothing else, not even the callbacks of its futures. An ask that would
        close a cycle of agents blocked in asks on each other (this one waits for ``b`` while
        ``b`` waits for this one) fails at once with `AskCycle`, whichever of them blocks
        last. To keep handling
        messages meanwhile, use `ask_future` and add a callback to the future (it runs in this
        agent's thread), or, in an ``async def`` handler, ``await self.ask_async(...)``.

        Args:
            to: the agent's name, or ``"role:<r>"`` for one holder of the role.
            message: the request.
            timeout: seconds to wait; None uses the system's ``ask_timeout``.
            priority: its priority (a priority mailbox acts on it).
            correlation_id: the conversation it belongs to (default: the one being handled).

        Raises:
            AskTimeout: if no reply came within the timeout.
            AgentFailed: if the handler raised (the original error is ``__cause__``).
            UnknownAddress: at once, if nobody has the name or holds the role.
            AskToSelf: if the only possible recipient is this agent.
            AskCycle: at once, if waiting would close a cycle of blocked agents.
            UnhandledMessage: if the recipient has no handler for the message's type.
            SystemStopped: if the system shut down meanwhile.
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        wait = self._ask_wait(timeout)
        future = self.ask_future(
            to, message, timeout=wait, priority=priority, correlation_id=correlation_id
        )
        return future.get(timeout=wait)

    async def ask_async(
        self,
        to: AddressLike,
        message: Message,
        *,
        timeout: float | None = None,
        priority: Priority = Priority.NORMAL,
        correlation_id: str | None = None,
    ) -> Any:
        """`ask` for ``async def`` handlers: suspends the coroutine, never the event loop.

        The agent still handles one message at a time: its next message waits until this
        handler's coroutine finishes, but other tasks on the agent's event loop keep running.

        Raises:
            AskTimeout, AgentFailed, UnknownAddress, AskToSelf, ...: as for `ask`.
        """
        wait = self._ask_wait(timeout)
        future = self.ask_future(
            to, message, timeout=wait, priority=priority, correlation_id=correlation_id
        )
        return await future.wait_async(wait)

    def reply(self, message: Any) -> None:
        """Answer the message being handled, instead of (or before) returning a value.

        An ask's future gets ``message``; for a tell it is sent (kind ``response``) to the
        envelope's ``reply_to``, else to its sender.

        Raises:
            RegimentError: outside a handler.
        """
        slot, current = self._in_hand("reply()")
        self._replied = True
        answer(slot, current, message)

    def defer(self) -> ReplyToken:
        """Keep the request being handled open after the handler returns; answer it later.

        The handler's return value is then ignored. ``token.reply(message)`` or
        ``token.fail(error)`` answers it later, from a later message, a future's callback or
        any thread. The asker's timeout still applies: a reply after it is dropped (and
        counted as a late reply in `ActorSystem.metrics`).

        Raises:
            RegimentError: outside a handler.
        """
        slot, current = self._in_hand("defer()")
        self._replied = True
        return ReplyToken(slot, current)

    def gather(
        self,
        messages: Iterable[Message],
        to: AddressLike,
        *,
        max_in_flight: int = 4,
        timeout: float | None = None,
        deadline: float | None = None,
    ) -> Gather:
        """`ActorSystem.gather` without blocking this agent: `GatherDone` comes when it is done.

        Returns the `Gather` handle at once (keep it to `cancel` or read `partial`); once every
        outcome is in, a `GatherDone` carrying it arrives in this agent's mailbox, in this
        conversation. The requests carry this agent as sender.

        Raises:
            InvalidConfig: for a bad ``max_in_flight``, ``timeout`` or ``deadline``.
        """
        slot = self._running_slot()
        current = slot.current
        correlation = None if current is None else current.correlation_id
        gathering = start_gather(
            slot.runtime,
            to,
            messages,
            max_in_flight=max_in_flight,
            timeout=timeout,
            deadline=deadline,
            sender=slot,
        )

        def deliver(done: Gather) -> None:
            slot.runtime.router.tell(
                slot.name,
                GatherDone(gather=done),
                slot,
                target=slot,
                correlation_id=correlation,
                detached=True,
            )

        gathering.on_complete(deliver)
        return gathering

    def check_cancelled(self) -> None:
        """Raise `Cancelled` if nobody waits for the request being handled any more.

        That is a `Request` that was cancelled (`Request.cancel`) or expired (its timeout
        passed while it ran).

        Call it between steps of long work: raised from the handler, `Cancelled` ends the
        request quietly (it is not a failure of this agent). See also
        ``self.context.cancelled``.
        """
        slot = self._running_slot()
        current = slot.current
        if current is not None and current.future is not None and current.future.abandoned:
            msg = f"request {current.id} to {slot.name!r} was cancelled"
            raise Cancelled(msg, current.id)

    def publish(self, message: Message) -> int:
        """Send ``message`` where the system's route for its class says (`actors.routes`).

        It carries this agent as sender and the conversation's ids, as `tell` does.

        Returns:
            How many mailboxes took it (0: recorded only, or dead-lettered ``no_route``).
        """
        slot = self._running_slot()
        return slot.runtime.router.publish(message, slot)

    def broadcast(
        self,
        message: Message,
        role: str | None = None,
        *,
        include_self: bool = False,
        correlation_id: str | None = None,
    ) -> int:
        """Send ``message`` to every live agent (holding ``role``, if given) but this one.

        Returns:
            How many mailboxes took it.
        """
        slot = self._running_slot()
        address = Broadcast(role=role, include_self=include_self)
        return slot.runtime.router.tell(address, message, slot, correlation_id=correlation_id)

    def watch(self, name: str) -> None:
        """Receive `Terminated(name, reason)` when the agent ``name`` stops for good.

        If it is already gone, the notice arrives at once (reason ``not_found``).
        """
        slot = self._running_slot()
        watch_name(slot, name)

    def unwatch(self, name: str) -> None:
        """Stop watching ``name``."""
        unwatch_name(self._running_slot(), name)

    def watch_memory(self, prefix: str = "") -> None:
        """Receive a `MemoryChanged` for each later write under ``prefix`` in ``system.memory``.

        See `actors.memory`. Watching a prefix twice is one watch. The watch lasts until
        `unwatch_memory` or until the agent stops for good (it survives restarts).
        """
        slot = self._running_slot()
        _facade(slot).memory.watch_slot(slot, prefix)

    def unwatch_memory(self, prefix: str = "") -> None:
        """Stop the watch of ``prefix`` that `watch_memory` started (nothing if none)."""
        slot = self._running_slot()
        _facade(slot).memory.unwatch_slot(slot, prefix)

    def schedule(self, delay: float, message: Message, to: AddressLike | None = None) -> Timer:
        """Send ``message`` (to this agent unless ``to``) after ``delay`` seconds.

        The timer is cancelled when this incarnation stops or restarts.

        Returns:
            A handle whose ``cancel()`` stops it.
        """
        return self._add_timer(delay, None, message, to)

    def schedule_every(
        self, interval: float, message: Message, to: AddressLike | None = None
    ) -> Timer:
        """Send ``message`` every ``interval`` seconds until cancelled, stopped or restarted."""
        return self._add_timer(interval, interval, message, to)

    def stop(self) -> None:
        """Stop this agent for good once the current message is handled (runs ``on_stop``)."""
        self._running_slot().request_stop(ExitReason.NORMAL)

    def use_tool(self, name: str, /, **arguments: Any) -> Any:
        """Call the system's tool ``name`` with ``arguments``, as the tool policy allows.

        Checks this agent's level on the tool (by name and roles) and the rate limits,
        validates ``arguments`` against the tool's signature, runs the tool in this thread and
        returns its result (what it raises propagates). See `actors.tools`.

        Raises:
            ToolDenied: if this agent's level is below the tool's (or there is no such tool).
            ToolRateLimited: if a rate limit refuses the call.
            InvalidToolArguments: if the arguments do not match the tool's signature.
        """
        slot = self._running_slot()
        return _facade(slot)._toolbox.call(slot.runtime, slot.name, slot.roles, name, arguments)

    # -- runtime internals --------------------------------------------------------------------

    def _run_async(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` to completion on this incarnation's event loop (agent thread).

        The loop is created on first use; `_close_loop` closes it when the incarnation ends.

        Raises:
            Exception: whatever the coroutine raised.
        """
        runner = self._runner
        if runner is None:
            runner = self._runner = asyncio.Runner()
        return runner.run(coroutine)

    def _run_hook(self, result: object) -> None:
        """Finish a lifecycle hook: run it to completion if it was ``async def``."""
        if inspect.iscoroutine(result):
            self._run_async(result)

    def _close_loop(self) -> None:
        """Close the event loop, if one was made (cancels tasks the handlers left behind)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.close()

    def _ask_wait(self, timeout: float | None) -> float:
        return self._running_slot().runtime.ask_wait(timeout)

    def _running_slot(self) -> Slot:
        slot = self._slot
        if slot is None:
            msg = f"{type(self).__name__} is not running in an ActorSystem"
            raise RegimentError(msg)
        return slot

    def _office(self) -> DeadLetterOffice:
        return self._running_slot().runtime.dead_letters

    def _receive(self, envelope: Envelope) -> MessageOutcome | None:
        """Dispatch one envelope to its handler and deliver the reply (agent thread).

        Returns:
            None if a handler ran and returned, else the `MessageOutcome` of a message it skipped.
        """
        future = envelope.future
        if future is not None and not future.start():  # answered before it started: skip
            if future.cancelled:
                self._office().record(envelope, DeadLetterReason.CANCELLED)
                return MessageOutcome.CANCELLED
            self._office().record(envelope, DeadLetterReason.EXPIRED)
            return MessageOutcome.EXPIRED
        if envelope.deadline is not None and self._expired(envelope):
            return MessageOutcome.EXPIRED
        body = envelope.body
        function = self._handlers.get(type(body), _MISSING)
        if function is _MISSING:
            function = lookup(self._handlers, type(body))
        if function is None:
            self.on_unhandled(envelope)
            return MessageOutcome.UNHANDLED
        self._replied = False
        result = function(self, body)
        if self._replied:
            return None
        if future is not None:
            if not future.resolve(result):
                late(self._running_slot())
        elif result is not None and envelope.reply_to is not None:
            answer(self._running_slot(), envelope, result)
        return None

    def _expired(self, envelope: Envelope) -> bool:
        """Dead-letter ``envelope`` if its deadline passed; True if it did."""
        runtime = self._running_slot().runtime
        if envelope.deadline is not None and envelope.deadline < runtime.clock.time():
            runtime.dead_letters.record(envelope, DeadLetterReason.EXPIRED)
            return True
        return False

    def _in_hand(self, what: str) -> tuple[Slot, Envelope]:
        """The slot and the envelope in hand; `RegimentError` outside a handler."""
        slot = self._running_slot()
        current = slot.current
        if current is None:
            msg = f"{self} called {what} outside a handler"
            raise RegimentError(msg)
        return slot, current

    def _on_control(self, item: object) -> None:
        """Handle a runtime control item this class knows; the default refuses pykka envelopes.

        A future's callback added in this agent's thread arrives here and runs now, with the
        envelope it was added under as the current one (see `Future.add_done_callback`).
        """
        if type(item) is _AgentCallback:
            self._run_future_callback(item)
            return
        reply_to = getattr(item, "reply_to", None)
        if reply_to is not None:
            msg = f"{self} takes messages through its AgentRef, not through pykka's ActorRef"
            reply_to.set_exception(exc_info=(RegimentError, RegimentError(msg), None))
        logger.warning("{} ignored an unexpected control item {!r}", self, item)

    def _run_future_callback(self, item: _AgentCallback) -> None:
        slot = self._running_slot()
        if item.incarnation != slot.incarnation:
            slot.log.warning(
                "{} restarted after future callback {!r} was added; not run on the new instance",
                self,
                item.callback,
            )
            return
        previous = slot.current
        slot.current = item.envelope
        try:
            item.callback(item.future)  # raising is a failure of this agent, like a handler's
        finally:
            slot.current = previous

    def _add_timer(
        self, delay: float, interval: float | None, message: Message, to: AddressLike | None
    ) -> Timer:
        slot = self._running_slot()
        target: AddressLike = to if to is not None else slot.name
        current = slot.current
        timer = slot.runtime.timers.schedule(
            delay,
            interval,
            target,
            message,
            sender=slot,
            causation_id=None if current is None else current.id,
            correlation_id=None if current is None else current.correlation_id,
            on_done=self._forget_timer,
        )
        if self._timers is None:
            self._timers = set()
        self._timers.add(timer)
        return timer

    def _forget_timer(self, timer: Timer) -> None:
        if self._timers is not None:
            self._timers.discard(timer)

    def _cancel_timers(self) -> None:
        timers, self._timers = self._timers, None
        for timer in timers or ():
            timer.cancel()


def _facade(slot: Slot) -> ActorSystem:
    """The `ActorSystem` a slot's runtime serves (the runtime holds it opaquely)."""
    return cast("ActorSystem", slot.runtime.facade)
