"""A dying incarnation thread counts as a failure, like a raising handler."""

from __future__ import annotations

from typing import Any

from actors import AgentRestarted
from supervision import ChildSpec, SupervisorSpec
from tests.helpers import record_events, runtime
from tests.messages import Ping, Recorder


class FaultyQueue:
    """Wraps a mailbox queue; its first get() raises, as a runtime bug would."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.faults = 1

    def get(self) -> object:
        if self.faults:
            self.faults -= 1
            raise MemoryError("injected fault in the mailbox")
        return self._real.get()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_a_thread_killed_by_a_runtime_fault_is_restarted_and_keeps_its_queue(system):
    restarted = record_events(system, AgentRestarted)
    sup = system.start_tree(SupervisorSpec("sup", [ChildSpec(Recorder, name="victim")]))
    ref = system.ref("victim")
    slot = runtime(system).router.table.names["victim"]
    faulty = FaultyQueue(slot.mailbox)
    slot.mailbox = faulty  # type: ignore[assignment]
    assert sup.restart_child("victim")  # the new incarnation reads through the faulty queue
    assert ref.ask(Ping(n=2), timeout=5).n == 2  # ...dies, is restarted, and answers
    assert faulty.faults == 0
    assert [(e.name, e.restarts) for e in restarted.items()] == [("victim", 1), ("victim", 2)]
