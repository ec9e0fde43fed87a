"""The asyncio loop thread that bridges nats-py to a system's threads.

nats-py is asyncio; a system's agents are threads. One loop thread per transport runs every
coroutine of the connection. Threads hand it work through `Loop.post` (a publish, or a
coroutine to start): items go into one deque, and the loop is woken only when it is not
already about to drain it, so a burst of tells from agent threads costs one wake-up, not one
thread hop each. `Loop.call` runs a coroutine and waits for its result, with a timeout, for
the few calls that must be synchronous (claiming a name, a registry lookup).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from loguru import logger

from actors.errors import TransportError

__all__ = ["Loop"]

T = TypeVar("T")

Publish = Callable[[str, bytes, str], Awaitable[None]]
Item = tuple[str, bytes, str] | Callable[[], Awaitable[Any]]  # (subject, payload, reply) | factory


class Loop:
    """One asyncio loop on its own (daemon) thread; see the module docstring."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._items: collections.deque[Item] = collections.deque()
        self._armed = False
        self._wake = asyncio.Event()
        self._publish: Publish | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        # Stopped: finish what is left, so no coroutine is destroyed pending.
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    @property
    def here(self) -> bool:
        """True in the loop's own thread."""
        return threading.current_thread() is self.thread

    def start_pump(self, publish: Publish) -> None:
        """Start draining posted items; ``publish(subject, payload, reply)`` sends one."""
        self._publish = publish
        self.spawn(self._pump())

    def spawn(self, coroutine: Awaitable[Any]) -> None:
        """Run ``coroutine`` as a task of the loop (from the loop's thread only)."""
        task: asyncio.Task[Any] = self.loop.create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.opt(exception=task.exception()).error("nats transport task failed")

    def post(self, item: Item) -> None:
        """Queue a publish ``(subject, payload, reply)`` or a coroutine factory; any thread.

        Publishes go out in the order they were posted (a request's too: its reply subject
        is in the item), so one sender's tells and asks to one receiver keep their order.
        """
        self._items.append(item)
        if not self._armed:
            self._armed = True
            try:
                self.loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the loop is closed: the transport is gone
                self._items.clear()

    async def _pump(self) -> None:
        items = self._items
        publish = self._publish
        assert publish is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._armed = False  # before draining: a later post wakes us again
            while items:
                item = items.popleft()
                try:
                    if type(item) is tuple:
                        await publish(*item)
                    else:
                        self.spawn(item())  # type: ignore[operator]  # a factory
                except Exception:  # noqa: BLE001 - one bad item must not stop the pump
                    logger.opt(exception=True).warning("nats transport: a send failed")

    def call(self, coroutine: Awaitable[T], timeout: float, what: str) -> T:
        """Run ``coroutine`` in the loop and return its result (not from the loop's thread).

        Raises:
            TransportError: if it did not finish within ``timeout`` seconds, or the loop is
                gone. Errors the coroutine raises come through unchanged.
        """
        if self.here:
            msg = f"{what}: cannot wait for the transport from its own thread"
            raise TransportError(msg)
        try:
            future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(
                coroutine,  # type: ignore[arg-type]  # a coroutine
                self.loop,
            )
        except RuntimeError as exc:
            msg = f"{what}: the transport is closed"
            raise TransportError(msg) from exc
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            msg = f"{what}: no answer from the NATS servers within {timeout:g} s"
            raise TransportError(msg) from exc

    def stop(self, timeout: float) -> bool:
        """Stop the loop and join its thread; True if it ended within ``timeout``."""
        if self.loop.is_closed():
            return True
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)
        return not self.thread.is_alive()
