"""Messages the test process and its peer processes exchange (both import this module)."""

from __future__ import annotations

from actors import Message


class Job(Message):
    """Work for a peer's agent; ``report_to`` (a name) gets a `Done` for it, if given."""

    n: int
    report_to: str | None = None
    crash: bool = False
    work: float = 0.0  # seconds the handler takes (simulated work)


class Done(Message):
    """What a peer's agent reports for a `Job`."""

    n: int
    agent: str
    node: str
    redelivered: bool = False
    deliveries: int = 1


class Hello(Message):
    """A broadcast."""

    text: str


class Heard(Message):
    """A peer's agent heard a `Hello` (reported to ``report_to``)."""

    agent: str
    text: str


class Tally(Message):
    """Ask a peer's agent which jobs it handled: it answers `Handled`."""


class Handled(Message):
    """The job numbers an agent handled, in order (repeats included)."""

    jobs: list[int]
