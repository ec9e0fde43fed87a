"""regiment's supervision trees: Erlang/OTP supervisor semantics on thread-backed agents.

A supervisor starts its children from specs, watches them, and applies restart-with-limit
(at most ``max_restarts`` within ``within`` seconds) with a strategy (one_for_one,
one_for_all, rest_for_one), or escalates to its own parent when the limit is exceeded. The
root reports to the embedding application (``ActorSystem.failure`` / ``wait`` / ``on_fatal``).

What a supervisor does about each event is decided by one pure function, `plan`: from its
`SupervisorState` and an event (`ChildFailure`, `ChildExit`, `RestartFailure`, `StartDue`,
`StopRequest`) to a `Decision`, testable without threads.
"""

from __future__ import annotations

from supervision.decisions import (
    ChildBackoff,
    ChildExit,
    ChildFailure,
    Decision,
    Escalation,
    RestartFailure,
    StartDue,
    StopRequest,
    SupervisorEvent,
    SupervisorState,
    affected,
    plan,
    should_restart,
)
from supervision.errors import (
    ChargedRestart,
    EscalationError,
    InvalidName,
    InvalidTree,
    NameTaken,
    SupervisionError,
)
from supervision.intensity import add_restart
from supervision.policy import (
    ESCALATE,
    RESTART,
    RESUME,
    STOP,
    Backoff,
    Decider,
    Directive,
    RestartPolicy,
    default_decider,
)
from supervision.pool import PoolRef
from supervision.ref import SupervisorRef
from supervision.spec import ChildSpec, Restart, Strategy, SupervisorSpec, validate
from supervision.supervisor import ChildInfo, Supervisor
from supervision.tree import Budget, TreeNode

__all__ = [
    "ESCALATE",
    "RESTART",
    "RESUME",
    "STOP",
    "Backoff",
    "Budget",
    "ChargedRestart",
    "ChildBackoff",
    "ChildExit",
    "ChildFailure",
    "ChildInfo",
    "ChildSpec",
    "Decider",
    "Decision",
    "Directive",
    "Escalation",
    "EscalationError",
    "InvalidName",
    "InvalidTree",
    "NameTaken",
    "PoolRef",
    "Restart",
    "RestartFailure",
    "RestartPolicy",
    "StartDue",
    "StopRequest",
    "Strategy",
    "SupervisionError",
    "Supervisor",
    "SupervisorEvent",
    "SupervisorRef",
    "SupervisorSpec",
    "SupervisorState",
    "TreeNode",
    "add_restart",
    "affected",
    "default_decider",
    "plan",
    "should_restart",
    "validate",
]
