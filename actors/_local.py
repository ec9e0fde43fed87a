"""Per-thread runtime state: which agent's slot the current thread is running, if any.

An incarnation's thread sets ``state.slot`` once when it starts, so a send made from inside a
handler (through the agent, an `AgentRef` or the system) knows its sender and the envelope that
caused it without any argument passing. ``state.constructing`` is set while an agent's
constructor runs, so `AgentActor.__init__` can find the slot (and mailbox) it belongs to.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from actors._slot import Slot


class _State(threading.local):
    slot: Slot | None = None
    constructing: Slot | None = None
    never_block: bool = False  # set in threads that must never wait on a full mailbox


state = _State()


def current_slot() -> Slot | None:
    """The slot whose incarnation runs in this thread, or None outside agents."""
    return state.slot


def sender_in(runtime: object) -> Slot | None:
    """The current thread's slot if it belongs to ``runtime`` (the sender of a send), else None."""
    slot = state.slot
    if slot is not None and slot.runtime is runtime:
        return slot
    return None
