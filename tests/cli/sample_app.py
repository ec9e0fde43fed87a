"""A small application for the command line's tests: ``regiment tree tests.cli.sample_app:build``.

A supervisor ``workers`` with two children (``ticker``, which handles a tick every 20 ms so that
``regiment top`` shows a rate, and ``counter``, which counts the ticks it is told about), plus
one agent spawned on its own (``greeter``, holding the role ``greeting``).
"""

from __future__ import annotations

from actors import ActorSystem, AgentActor, Message, handler
from supervision import ChildSpec, RestartPolicy, SupervisorSpec

TICK = 0.02  # seconds between the ticker's ticks


class Tick(Message):
    """Sent to the ticker by its own timer."""


class Counted(Message):
    """The ticker tells the counter about each tick."""


class Ticker(AgentActor):
    """Ticks every ``TICK`` seconds and tells the counter."""

    def on_start(self) -> None:
        self.schedule_every(TICK, Tick())

    @handler
    def tick(self, message: Tick) -> None:
        self.tell("counter", Counted())


class Counter(AgentActor):
    """Counts what the ticker tells it."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    @handler
    def counted(self, message: Counted) -> None:
        self.count += 1


class Greeter(AgentActor):
    """Holds the role ``greeting``; does nothing else."""


def build() -> ActorSystem:
    """Start the sample system and return it (the caller shuts it down)."""
    system = ActorSystem("sample")
    system.start_tree(
        SupervisorSpec(
            "workers",
            children=[ChildSpec(Ticker, name="ticker"), ChildSpec(Counter, name="counter")],
            policy=RestartPolicy(max_restarts=2, within=10.0),
        )
    )
    system.spawn(Greeter, name="greeter", roles=("greeting",))
    return system


def not_a_system() -> str:
    """What a wrong APP gives."""
    return "hello"


def stopped() -> ActorSystem:
    """A system already shut down."""
    system = ActorSystem("gone")
    system.shutdown()
    return system
