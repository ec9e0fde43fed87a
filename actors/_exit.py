"""Interpreter exit waits for a system's agents, without CPython's per-thread-start scan.

A system with ``daemon=False`` promises what a non-daemon thread does: the interpreter does
not exit while its agents still run. Non-daemon threads keep that promise at a price: CPython
3.11 scans the locks of *every* live non-daemon thread on each `threading.Thread.start`
(``threading._maintain_shutdown_locks``), so starting the 10,000th agent costs a scan of
10,000 locks, and spawning N agents costs O(N**2) (pykka's actors pay it too).

So agents run on daemon threads, and this module keeps the promise instead: a hook that
CPython's threading shutdown calls just before it joins the non-daemon threads
(``threading._register_atexit``, the mechanism `concurrent.futures` uses for its workers)
joins every thread of every live non-daemon system, for as long as they run, exactly as the
interpreter would join non-daemon threads. Where that hook is missing, agents fall back to
non-daemon threads.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from actors._runtime import Runtime

__all__ = ["wait_at_exit"]

_systems: weakref.WeakSet[Runtime] = weakref.WeakSet()
_lock = threading.Lock()
_registered = False


def wait_at_exit(system: Runtime) -> bool:
    """Make interpreter exit wait for ``system``'s threads; True if the hook took it on.

    False means the hook is not available (another Python, or the interpreter is already
    shutting down): the system must then use non-daemon threads.
    """
    global _registered  # noqa: PLW0603 - one hook per process
    with _lock:
        if not _registered:
            register = getattr(threading, "_register_atexit", None)
            if register is None:
                return False
            try:
                register(_join_systems)
            except RuntimeError:  # the interpreter is shutting down
                return False
            _registered = True
        _systems.add(system)
    return True


def _join_systems() -> None:
    """At interpreter exit: wait for every thread of every live non-daemon system."""
    me = threading.current_thread()
    while True:
        with _lock:
            systems = list(_systems)
        threads = [t for system in systems for t in system.threads.live() if t is not me]
        if not threads:
            return
        for thread in threads:
            thread.join()
