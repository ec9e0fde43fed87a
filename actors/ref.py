"""`AgentRef`: the stable handle of an agent, by name.

A ref points at the agent's slot, not at one incarnation: it keeps working across restarts
(messages sent while the agent restarts queue up) and says ``is_alive() is False`` only once the
agent has stopped for good. Refs are cheap, thread-safe and can be shared freely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors._lifecycle import AgentStatus
from actors._local import sender_in
from actors._local import state as _current
from actors._timeouts import check_timeout
from actors.info import AgentInfo, info_of
from actors.messages import Kind, Message, Priority
from actors.recording import HandledMessage, summaries
from actors.request import Request

if TYPE_CHECKING:
    from actors._slot import Slot
    from actors.address import AddressLike
    from actors.future import Future

__all__ = ["AgentRef"]


class AgentRef:
    """Send to one agent, from any thread (or from inside another agent's handler)."""

    __slots__ = ("_slot",)

    def __init__(self, slot: Slot) -> None:
        self._slot = slot

    def __repr__(self) -> str:
        state = "alive" if self._slot.alive else "stopped"
        return f"<AgentRef {self._slot.name!r} {state}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AgentRef) and other._slot is self._slot

    def __hash__(self) -> int:
        return hash(id(self._slot))

    @property
    def name(self) -> str:
        """The agent's unique name."""
        return self._slot.name

    @property
    def roles(self) -> frozenset[str]:
        """The roles the agent holds."""
        return self._slot.roles

    def is_alive(self) -> bool:
        """True until the agent stops for good (a restarting agent is alive)."""
        return self._slot.alive

    def status(self) -> AgentStatus:
        """What the agent is doing now: `AgentStatus` (``IDLE``, ``PROCESSING``, ...).

        A snapshot, read without asking the agent: it may have changed by the time it is read.
        """
        return self._slot.status

    def info(self) -> AgentInfo:
        """A frozen `AgentInfo` snapshot: status, message in hand and since when, counts."""
        return info_of(self._slot)

    def recent(self) -> tuple[HandledMessage, ...]:
        """The agent's flight recording: summaries of the last messages it took, oldest first.

        Empty if it keeps none (``flight_recorder=0``). Read without asking the agent.
        """
        recorder = self._slot.recorder
        return () if recorder is None else summaries(tuple(recorder))

    def mailbox_size(self) -> int:
        """How many user messages wait in its mailbox."""
        return self._slot.mailbox.qsize()

    def tell(
        self,
        message: Message,
        *,
        priority: Priority = Priority.NORMAL,
        kind: str = Kind.EVENT,
        reply_to: AddressLike | None = None,
        correlation_id: str | None = None,
    ) -> int:
        """Send ``message`` without waiting; returns 1 if queued, 0 if dead-lettered.

        ``correlation_id`` names the conversation it belongs to (default: the one being
        handled, when called from inside an agent; else a new one).

        The ref delivers to its own agent only: once that agent has stopped for good, sends
        are dead-lettered (reason ``stopped``), even if another agent later takes the name.

        Raises:
            InvalidMessage: if ``message`` is not an `actors.Message`.
            PolicyViolation, MailboxFull: if a send policy or a bounded mailbox refuses it.
            SystemStopped: if its system is shut down (or shutting down) and the caller is
                not one of its agents.
        """
        slot = self._slot
        runtime = slot.runtime
        sender = _current.slot
        if sender is not None and sender.runtime is not runtime:
            sender = None  # an agent of another system: an outside caller here
        return runtime.router.tell(
            slot.name, message, sender, slot, kind, priority, reply_to, correlation_id
        )

    def ask_future(
        self,
        message: Message,
        *,
        timeout: float | None = None,
        priority: Priority = Priority.NORMAL,
        correlation_id: str | None = None,
    ) -> Future[Any]:
        """Send ``message`` and return the future of the reply at once.

        Args:
            message: the request.
            timeout: if given, the future gives up after this many seconds and the request is
                dropped (dead letter ``expired``) if still queued then.
            priority: its priority (a priority mailbox acts on it).
            correlation_id: the conversation it belongs to (default: as for `tell`).

        Raises:
            AgentUnavailable: at once, if the agent has stopped for good.
            AskToSelf: if called by the agent itself from inside a handler.
            SystemStopped: if its system is shut down (or shutting down).
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        check_timeout(timeout)
        slot = self._slot
        return slot.runtime.router.ask(
            slot.name,
            message,
            sender_in(slot.runtime),
            timeout=timeout,
            priority=priority,
            correlation_id=correlation_id,
            target=slot,
        )

    def request(
        self,
        message: Message,
        *,
        timeout: float | None = None,
        priority: Priority = Priority.NORMAL,
        correlation_id: str | None = None,
    ) -> Request[Any]:
        """Send ``message`` as an ask and return its `Request` handle at once.

        The handle is a future (``result(timeout)``, ``await``) that also reports where the
        request is (`Request.status`) and can be cancelled (`Request.cancel`).

        Args:
            message: the request.
            timeout: seconds after which it expires (still queued: skipped, dead letter
                ``expired``); None: no deadline of its own.
            priority: its priority (a priority mailbox acts on it).
            correlation_id: the conversation it belongs to (default: as for `tell`).

        Raises:
            AgentUnavailable, AskToSelf, SystemStopped, InvalidConfig: as for `ask_future`.
        """
        check_timeout(timeout)
        slot = self._slot
        request: Request[Any] = slot.runtime.router.request(
            slot.name,
            message,
            sender_in(slot.runtime),
            timeout=timeout,
            priority=priority,
            correlation_id=correlation_id,
            target=slot,
        )
        return request

    def ask(
        self,
        message: Message,
        *,
        timeout: float | None = None,
        priority: Priority = Priority.NORMAL,
        correlation_id: str | None = None,
    ) -> Any:
        """Send ``message`` and wait for the reply.

        Args:
            message: the request.
            timeout: seconds to wait; None uses the system's ``ask_timeout``.
            priority: its priority.
            correlation_id: the conversation it belongs to (default: as for `tell`).

        Raises:
            AskTimeout: if no reply came in time.
            AgentFailed: if the handler raised (the original error is ``__cause__``).
            UnknownAddress, AskToSelf, UnhandledMessage, AgentUnavailable: as their names say.
            SystemStopped: if its system is shut down (or shutting down).
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        wait = self._slot.runtime.ask_wait(timeout)
        future = self.ask_future(
            message, timeout=wait, priority=priority, correlation_id=correlation_id
        )
        return future.get(timeout=wait)

    async def ask_async(
        self,
        message: Message,
        *,
        timeout: float | None = None,
        priority: Priority = Priority.NORMAL,
        correlation_id: str | None = None,
    ) -> Any:
        """Ask from a coroutine: suspends the coroutine, never blocks the event loop.

        Raises:
            AskTimeout: if no reply came within ``timeout`` (default: the system's).
            AgentFailed, UnknownAddress, SystemStopped, ...: as for `ask`.
        """
        wait = self._slot.runtime.ask_wait(timeout)
        future = self.ask_future(
            message, timeout=wait, priority=priority, correlation_id=correlation_id
        )
        return await future.wait_async(wait)

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the agent for good (after its current message) and wait until it has.

        Returns:
            True once stopped (also if it was already gone); False if it did not stop within
            ``timeout`` (its supervisor goes on stopping it: it stops once its current handler
            returns).

        Raises:
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        return self._slot.runtime.stop_slot(self._slot, timeout)
