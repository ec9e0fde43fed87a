"""Every thread a system starts: made the same way, tracked, and joined at shutdown.

Tracking costs O(1) amortized however many agents run: finished threads are pruned only when
the set has doubled since the last pruning. The threads that run a shutdown (or wait for one)
are *helpers*: a shutdown joins them last, since one of them may be waiting for it.

Threads are daemon threads unless the system is non-daemon and interpreter exit cannot be made
to wait for them otherwise (see `actors._exit`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["SystemThreads"]

_PRUNE_MIN = 64


class SystemThreads:
    """The threads of one system.

    Args:
        system: the system's name, for thread names.
        daemon: whether its threads are daemon threads.
    """

    def __init__(self, system: str, *, daemon: bool) -> None:
        self.daemon = daemon
        self._system = system
        self._lock = threading.Lock()
        self._threads: dict[threading.Thread, None] = {}
        self._prune_at = _PRUNE_MIN
        self._helpers: set[threading.Thread] = set()

    def new(
        self, target: Callable[..., object], what: str, args: tuple[Any, ...]
    ) -> threading.Thread:
        """A tracked, not yet started thread named ``regiment:<system>/<what>``."""
        thread = threading.Thread(
            target=target, args=args, name=f"regiment:{self._system}/{what}", daemon=self.daemon
        )
        self.track(thread)
        return thread

    def start_helper(self, target: Callable[..., object], what: str, args: tuple[Any, ...]) -> None:
        """Start a thread that runs (or waits for) the shutdown; it is joined last."""
        thread = self.new(target, what, args)
        with self._lock:
            self._helpers.add(thread)
        thread.start()

    def track(self, thread: threading.Thread) -> None:
        """Remember ``thread`` until it has finished and been pruned."""
        with self._lock:
            threads = self._threads
            threads[thread] = None
            if len(threads) >= self._prune_at:  # amortized O(1): the set at least doubled
                for done in [t for t in threads if t.ident is not None and not t.is_alive()]:
                    del threads[done]
                self._prune_at = max(_PRUNE_MIN, 2 * len(threads))

    def live(self) -> list[threading.Thread]:
        """Every tracked thread still running."""
        with self._lock:
            return [thread for thread in self._threads if thread.is_alive()]

    def join_all(self, deadline: float, *, helpers: bool = True) -> list[str]:
        """Join every thread but the caller's (and the helpers, unless ``helpers``).

        Args:
            deadline: a `time.monotonic` reading after which nothing is waited for.
            helpers: also join the threads that run or wait for a shutdown.

        Returns:
            The names of the threads still running at the deadline.
        """
        me = threading.current_thread()
        with self._lock:
            threads = [
                t for t in self._threads if t is not me and (helpers or t not in self._helpers)
            ]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [t.name for t in threads if t.is_alive()]
