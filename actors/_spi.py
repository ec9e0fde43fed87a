"""The service-provider interface: what `supervision` may use of the runtime's internals.

`supervision` is built on `actors`' public modules plus this one, and nothing else private.
Everything here is internal to regiment (no stability promise to users):

- `Agent`: what a slot's factory must build (the protocol `AgentActor` implements);
- `Slot`, `SlotOptions`, `SlotState`: an agent's (or supervisor's) place in the tree, which a
  supervisor builds, registers, starts, terminates, resumes and closes;
- `Runtime`: the system's services a supervisor uses (``register``, ``publish``, ``clock``,
  ``timers``, the address table through ``router.table``, ``root``);
- `ChildFailed`, `ChildExited`: the control signals a child's incarnation sends its
  supervisor;
- `check_timeout`: the timeout check every blocking call makes.
"""

from __future__ import annotations

from actors._incarnation import Agent
from actors._lifecycle import SlotState
from actors._runtime import Runtime
from actors._signals import ChildExited, ChildFailed
from actors._slot import Slot, SlotOptions
from actors._timeouts import check_timeout

__all__ = [
    "Agent",
    "ChildExited",
    "ChildFailed",
    "Runtime",
    "Slot",
    "SlotOptions",
    "SlotState",
    "check_timeout",
]
