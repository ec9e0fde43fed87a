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

from datetime import datetime

from actors.errors import DuplicateName, InvalidAddress, InvalidConfig, RegimentError

__all__ = ["EscalationError", "InvalidName", "InvalidTree", "NameTaken", "SupervisionError"]


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


class EscalationError(SupervisionError):
    """A supervisor stopped its children and failed itself.

    Its parent applies its own policy to the whole subtree; at the root the system's fatal
    policy runs. ``__cause__`` is the child's error (itself an `EscalationError` when the
    failure came from further down), so `chain` walks the whole way to the original failure.

    Attributes:
        supervisor: the supervisor that escalated.
        child: the child whose failure made it give up.
        reason: ``"restart budget exhausted"`` or ``"decider chose escalate"``.
        history: when the restarts inside the window happened (wall-clock, UTC), oldest first.
    """

    def __init__(
        self,
        supervisor: str,
        child: str,
        reason: str,
        history: tuple[datetime, ...],
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
