"""Supervision errors, under `actors.RegimentError`.

```
RegimentError
└── SupervisionError
    ├── InvalidTree (InvalidConfig, ValueError)  a spec is malformed; nothing was started
    │   ├── InvalidName (also actors.InvalidAddress) a name or role is malformed
    │   └── NameTaken (also actors.DuplicateName)    a name is already in use
    └── EscalationError                          a supervisor gave up and failed itself
```
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from actors.errors import DuplicateName, InvalidAddress, InvalidConfig, RegimentError
from actors.recording import HandledMessage

__all__ = [
    "ChargedRestart",
    "EscalationError",
    "InvalidName",
    "InvalidTree",
    "NameTaken",
    "SupervisionError",
]


class SupervisionError(RegimentError):
    """Base class of supervision errors."""


class InvalidTree(SupervisionError, InvalidConfig):
    """A supervision spec is malformed (bad or duplicate name, cycle, out-of-range number).

    Raised before anything starts. ``problem`` repeats the message.
    """

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class InvalidName(InvalidTree, InvalidAddress):
    """A spec's name or role is malformed (see `actors.address.validate_name`).

    Both an `InvalidTree` (nothing was started) and an `actors.InvalidAddress`.

    Attributes:
        value: the rejected name or role.
    """

    def __init__(self, problem: str, value: object) -> None:
        Exception.__init__(self, problem)  # both bases' __init__ would each want their own args
        self.problem = problem
        self.value = value


class NameTaken(InvalidTree, DuplicateName):
    """A spec names an agent or supervisor whose name is already taken.

    Both an `InvalidTree` (nothing was started) and an `actors.DuplicateName`.
    """

    def __init__(self, problem: str, name: str) -> None:
        Exception.__init__(self, problem)  # both bases' __init__ would each want their own args
        self.problem = problem
        self.name = name


@dataclass(frozen=True, slots=True)
class ChargedRestart:
    """One restart charged to a supervisor's budget (an entry of `EscalationError.history`).

    Attributes:
        at: when it was charged (wall-clock, UTC).
        child: the child whose failure (or exit) was charged.
        error: ``repr`` of the child's error, or None if it exited without one.
        recent: the child's flight recording when it failed (`actors.HandledMessage`
            summaries of its last messages, the failing one last); empty if it keeps none.
    """

    at: datetime
    child: str
    error: str | None
    recent: tuple[HandledMessage, ...] = ()


class EscalationError(SupervisionError):
    """A supervisor stopped its children and failed itself.

    Its parent applies its own policy to the whole subtree; at the root the system's fatal
    policy runs. ``__cause__`` is the child's error (itself an `EscalationError` when the
    failure came from further down), so `chain` walks the whole way to the original failure.

    Attributes:
        supervisor: the supervisor that escalated.
        child: the child whose failure made it give up.
        reason: ``"restart budget exhausted"`` or ``"decider chose escalate"``.
        history: the restarts charged inside the window (`ChargedRestart`: when, which
            child, its error and flight recording), oldest first; the last one is the
            failure that exhausted the budget.
    """

    def __init__(
        self,
        supervisor: str,
        child: str,
        reason: str,
        history: tuple[ChargedRestart, ...],
        cause: BaseException,
    ) -> None:
        message = (
            f"supervisor {supervisor!r} escalated: {reason} "
            f"(child {child!r} failed with {type(cause).__name__})"
        )
        super().__init__(message)
        self.supervisor = supervisor
        self.child = child
        self.reason = reason
        self.history = history
        self.__cause__ = cause

    @property
    def chain(self) -> list[BaseException]:
        """The error itself and its causes, outermost first, down to the original failure."""
        chain: list[BaseException] = []
        error: BaseException | None = self
        while error is not None and error not in chain:
            chain.append(error)
            error = error.__cause__
        return chain

    @property
    def root_cause(self) -> BaseException:
        """The original failure at the bottom of the chain."""
        return self.chain[-1]
