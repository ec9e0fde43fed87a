"""Restart policy: directives, deciders, the restart budget's numbers and backoff.

Defaults are data: `RestartPolicy()` allows 3 restarts within 5 seconds, with no backoff, and
its decider restarts on any `Exception` and escalates anything else (`SystemExit`,
`KeyboardInterrupt` and any other `BaseException`).
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "ESCALATE",
    "RESTART",
    "RESUME",
    "STOP",
    "Backoff",
    "Decider",
    "Directive",
    "RestartPolicy",
    "default_decider",
]


class Directive(enum.Enum):
    """What a supervisor does with a failed child."""

    RESTART = "restart"  # replace the instance (and, per strategy, its siblings)
    RESUME = "resume"  # keep the instance and its state; the failing message is dropped
    STOP = "stop"  # stop the child for good
    ESCALATE = "escalate"  # stop all children and fail the supervisor itself


RESTART = Directive.RESTART
RESUME = Directive.RESUME
STOP = Directive.STOP
ESCALATE = Directive.ESCALATE

Decider = Callable[[BaseException], Directive]


def default_decider(error: BaseException) -> Directive:
    """Restart on `Exception`; escalate anything else."""
    return Directive.RESTART if isinstance(error, Exception) else Directive.ESCALATE


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential delay between a failure and the restart that follows it.

    The n-th consecutive restart of a child waits ``min * 2**n`` seconds, capped at ``max``,
    spread by ``jitter`` (a fraction: 0.1 means +/-10%). The count starts again once the child
    has run ``reset_after`` seconds without failing. Messages keep queueing meanwhile.
    """

    min: float = 0.1
    max: float = 10.0
    jitter: float = 0.1
    reset_after: float = 30.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before restart number ``attempt`` (0 for the first)."""
        base = min(self.max, self.min * (2.0 ** min(attempt, 64)))
        if self.jitter <= 0:
            return base
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, base * (1.0 + spread))

    def problems(self) -> list[str]:
        """What is out of range (empty when sane)."""
        found = []
        if not (self.min >= 0 and math.isfinite(self.min)):
            found.append(f"backoff min must be >= 0 and finite, got {self.min!r}")
        if not (self.max >= self.min and math.isfinite(self.max)):
            found.append(f"backoff max must be finite and >= min, got {self.max!r}")
        if not 0 <= self.jitter <= 1:
            found.append(f"backoff jitter must be within [0, 1], got {self.jitter!r}")
        if not self.reset_after > 0:
            found.append(f"backoff reset_after must be > 0, got {self.reset_after!r}")
        return found


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """How a supervisor reacts to its children's failures.

    Args:
        max_restarts: restarts allowed within ``within`` seconds (the one being attempted
            included); one more escalates. 0 escalates on the first failure.
        within: the sliding window, in seconds.
        backoff: optional delay between failure and restart.
        decider: maps the exception to a `Directive`.
        reset_on_success: a child's restarts stop counting against the window once it has
            handled a message successfully after its latest restart (the agent orchestrator
            seed's "at most N restarts, reset after a success"). Default False: Erlang's
            sliding window, where every restart in the window counts. It reads the child's
            handled count, so it needs the system's metrics (``ActorSystem(metrics=False)``
            never resets).
    """

    max_restarts: int = 3
    within: float = 5.0
    backoff: Backoff | None = None
    decider: Decider = field(default=default_decider)
    reset_on_success: bool = False

    def problems(self) -> list[str]:
        """What is out of range (empty when sane)."""
        found = []
        if isinstance(self.max_restarts, bool) or not isinstance(self.max_restarts, int):
            found.append(f"max_restarts must be an int, got {self.max_restarts!r}")
        elif self.max_restarts < 0:
            found.append(f"max_restarts must be >= 0, got {self.max_restarts}")
        if not (self.within > 0 and math.isfinite(self.within)):
            found.append(f"within must be > 0 and finite, got {self.within!r}")
        if not isinstance(self.reset_on_success, bool):
            found.append(f"reset_on_success must be a bool, got {self.reset_on_success!r}")
        if not callable(self.decider):
            found.append(f"decider must be callable, got {self.decider!r}")
        if self.backoff is not None:
            found.extend(self.backoff.problems())
        return found
