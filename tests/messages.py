"""Message types and small agents shared by the tests."""

from __future__ import annotations

import threading

from actors import AgentActor, Message, handler


class Ping(Message):
    n: int = 0


class Pong(Message):
    n: int
    by: str


class Note(Message):
    text: str = ""


class Boom(Message):
    """A handler receiving this raises RuntimeError."""

    reason: str = "boom"


class Item(Message):
    """A numbered piece of work; a type apart from Ping, which several agents answer."""

    n: int


class Block(Message):
    """A `Parkable` agent receiving this parks until the test releases gate ``key``."""

    key: str


class Watch(Message):
    """The receiving agent starts watching the agent ``name`` (see `tests.helpers.Watcher`)."""

    name: str


class Unwatch(Message):
    """The receiving agent stops watching the agent ``name``."""

    name: str


class Crashable(AgentActor):
    """Answers Ping with its restart count; a Boom makes its handler raise RuntimeError."""

    @handler
    def on_ping(self, msg: Ping) -> int:
        return self.context.restarts

    @handler
    def on_boom(self, msg: Boom) -> None:
        raise RuntimeError(msg.reason)


class Counting(AgentActor):
    """Answers Ping with how many Pings this instance handled; a Boom makes it raise."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    @handler
    def on_ping(self, msg: Ping) -> int:
        self.count += 1
        return self.count

    @handler
    def on_boom(self, msg: Boom) -> None:
        raise RuntimeError(msg.reason)


class Recorder(AgentActor):
    """Records what it handles (by agent name) in a shared list; answers Ping with Pong."""

    def __init__(self, seen: list[tuple[str, Message]] | None = None) -> None:
        super().__init__()
        self.seen = seen if seen is not None else []

    @handler
    def on_ping(self, msg: Ping) -> Pong:
        self.seen.append((self.name, msg))
        return Pong(n=msg.n, by=self.name)

    @handler
    def on_note(self, msg: Note) -> None:
        self.seen.append((self.name, msg))

    @handler
    def on_boom(self, msg: Boom) -> None:
        raise RuntimeError(msg.reason)


GATES: dict[str, threading.Event] = {}
ENTERED: dict[str, threading.Event] = {}


def gate(key: str) -> tuple[threading.Event, threading.Event]:
    """Events (entered, release) for a Block message with this key."""
    ENTERED[key] = threading.Event()
    GATES[key] = threading.Event()
    return ENTERED[key], GATES[key]


class Parkable(AgentActor):
    """Parks on gate ``key`` when told Block(key=key), until the test releases it (bounded).

    Mix it into any agent class; `tests.helpers.park` parks such an agent and returns the
    event that releases it.
    """

    @handler
    def on_block(self, msg: Block) -> None:
        ENTERED[msg.key].set()
        assert GATES[msg.key].wait(10), "test never released the gate"


class Blocker(Recorder, Parkable):
    """A Recorder that can be parked on a gate by a Block message."""
