"""The sample system the observer's tests show: ``regiment observe tests.web.sample_app:build``.

A supervisor ``team`` (``coder-1`` and ``coder-2`` holding the role ``coder``, ``reviewer``), a
pool ``crunchers`` of two (role ``cruncher``, at most four) and an agent ``lead`` on its own.
Every agent is a `Worker`: `Work` takes some milliseconds, `Crash` raises with its text.
"""

from __future__ import annotations

import time

from actors import ActorSystem, AgentActor, Message, handler
from supervision import ChildSpec, RestartPolicy, SupervisorSpec

AGENTS = ("coder-1", "coder-2", "reviewer", "crunchers-1", "crunchers-2", "lead")


class Work(Message):
    """Takes ``ms`` milliseconds to handle."""

    ms: int = 0


class Crash(Message):
    """Makes the agent raise a RuntimeError with ``text`` as its message."""

    text: str


class Worker(AgentActor):
    """Works and crashes on demand."""

    @handler
    def work(self, work: Work) -> None:
        if work.ms:
            time.sleep(work.ms / 1000)

    @handler
    def crash(self, crash: Crash) -> None:
        raise RuntimeError(crash.text)


def build() -> ActorSystem:
    """Start the sample system and return it (the caller shuts it down)."""
    system = ActorSystem("sample")
    try:
        system.start_tree(
            SupervisorSpec(
                "team",
                children=[
                    ChildSpec(Worker, name="coder-1", roles=("coder",)),
                    ChildSpec(Worker, name="coder-2", roles=("coder",)),
                    ChildSpec(Worker, name="reviewer", roles=("reviewer",)),
                ],
                policy=RestartPolicy(max_restarts=5, within=10.0),
            )
        )
        system.spawn_pool(Worker, name="crunchers", size=2, role="cruncher", max_size=4)
        system.spawn(Worker, name="lead")
    except BaseException:
        system.shutdown()
        raise
    return system
