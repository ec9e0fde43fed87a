"""Snapshots of supervision trees: text, Mermaid, and dicts or JSON for tools.

`snapshot` reads a live tree into an immutable `TreeNode`, which prints as indented text,
renders as a Mermaid graph, and converts to plain data (`TreeNode.to_dict`, `to_json`).
(Slots are built from specs by `supervision._build`.)

**Budgets.** Every supervisor's node carries its `Budget`: the restarts charged within its
current window against ``max_restarts``. Every node below the root carries its *tolerance*:
how many failures of it, in one burst, the tree absorbs before the failure reaches the root's
fatal policy. A supervisor that spent its budget escalates, which is one failure for its own
supervisor, and a restarted supervisor starts with a fresh budget; so a child tolerates
``(m1 + 1) * (m2 + 1) * ... - 1`` failures, where ``m1, m2, ...`` are the ``max_restarts`` of
the supervisors above it up to the root. (That assumes the burst fits in every window; over a
longer time each window forgets what it charged, and the child tolerates more.) A temporary
child is never restarted and never charged: its tolerance is None, without limit.

OTP's design principles warn that nested budgets surprise: a supervisor that restarts its
children more often than its parent may restart it (a larger budget in a shorter window) can
escalate again and again within its parent's window. Such a supervisor is flagged (the
``warnings`` of its node, shown in every rendering).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actors._spi import Slot
from supervision.spec import ChildSpec, Restart, SupervisorSpec

if TYPE_CHECKING:
    from collections.abc import Iterator


__all__ = ["Budget", "TreeNode", "snapshot"]


@dataclass(frozen=True, slots=True)
class Budget:
    """A supervisor's restart budget as it stood when the snapshot was taken.

    Attributes:
        used: restarts charged within the current window.
        max_restarts: restarts allowed within the window (one more escalates).
        within: the window, in seconds.
    """

    used: int
    max_restarts: int
    within: float

    def __str__(self) -> str:
        return f"{self.used}/{self.max_restarts} in {self.within:g}s"


@dataclass(frozen=True, slots=True)
class TreeNode:
    """One slot of a supervision tree, as it was when the snapshot was taken.

    Attributes:
        status: what the slot was doing (an `actors.AgentStatus` value: ``idle``,
            ``processing``, ``waiting``, ``failed``, ...).
        budget: a supervisor's `Budget` (None for an agent).
        tolerance: failures of this slot, in one burst, that the tree absorbs before the
            root's fatal policy runs (see the module docstring); None: without limit (a
            temporary child) or the root itself.
        warnings: what is surprising about this supervisor's budget, if anything.
    """

    name: str
    kind: str  # "supervisor" or "agent"
    roles: tuple[str, ...]
    state: str  # a SlotState value: running, suspended, restarting, stopped, ...
    restarts: int
    mailbox: int  # queued user messages
    capacity: int | None  # the mailbox's bound, None if unbounded
    children: tuple[TreeNode, ...] = ()
    status: str = ""
    budget: Budget | None = None
    tolerance: int | None = None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The node and its subtree as plain data (JSON-ready: str, int, float, None, lists)."""
        budget = self.budget
        return {
            "name": self.name,
            "kind": self.kind,
            "roles": list(self.roles),
            "state": self.state,
            "status": self.status,
            "restarts": self.restarts,
            "mailbox": self.mailbox,
            "capacity": self.capacity,
            "budget": None
            if budget is None
            else {
                "used": budget.used,
                "max_restarts": budget.max_restarts,
                "within": budget.within,
            },
            "tolerance": self.tolerance,
            "warnings": list(self.warnings),
            "children": [child.to_dict() for child in self.children],
        }

    def to_json(self, **dumps: Any) -> str:
        """`to_dict` as JSON text; ``dumps`` go to `json.dumps` (``indent=2``, ...)."""
        return json.dumps(self.to_dict(), **dumps)

    def render(self, *, status: bool = False) -> str:
        """Indented text, one line per slot.

        Args:
            status: also show each slot's status (``status=idle``, ``status=processing``...)
                after its state.
        """
        return "\n".join(self._lines(0, status))

    def __str__(self) -> str:
        return self.render()

    def _lines(self, depth: int, status: bool) -> Iterator[str]:
        yield f"{'  ' * depth}{self.name} [{self.kind}] {self._summary(status)}"
        for warning in self.warnings:
            yield f"{'  ' * depth}  ! {warning}"
        for child in self.children:
            yield from child._lines(depth + 1, status)

    def _summary(self, status: bool = False) -> str:
        state = f"{self.state} status={self.status}" if status and self.status else self.state
        roles = f" roles={','.join(self.roles)}" if self.roles else ""
        bound = f"/{self.capacity}" if self.capacity is not None else ""
        budget = f" budget={self.budget}" if self.budget is not None else ""
        tolerance = f" tolerance={self.tolerance}" if self.tolerance is not None else ""
        return (
            f"{state} restarts={self.restarts} mailbox={self.mailbox}{bound}{roles}"
            f"{budget}{tolerance}"
        )

    def mermaid(self, *, status: bool = False) -> str:
        """A Mermaid ``graph TD`` of the tree (supervisors as rounded boxes).

        Args:
            status: also show each slot's status in its box, as `render` does.
        """
        lines = ["graph TD"]
        for node, parent in self._pairs(None):
            shape = ("([", "])") if node.kind == "supervisor" else ("[", "]")
            flags = "".join(f"<br/>! {warning}" for warning in node.warnings)
            label = f"{node.name}<br/>{node._summary(status)}{flags}".replace('"', "'")
            lines.append(f'    {_node_id(node.name)}{shape[0]}"{label}"{shape[1]}')
            if parent is not None:
                lines.append(f"    {_node_id(parent.name)} --> {_node_id(node.name)}")
        return "\n".join(lines)

    def _pairs(self, parent: TreeNode | None) -> Iterator[tuple[TreeNode, TreeNode | None]]:
        yield self, parent
        for child in self.children:
            yield from child._pairs(self)

    def find(self, name: str) -> TreeNode | None:
        """The node called ``name`` in this subtree, or None."""
        for node, _ in self._pairs(None):
            if node.name == name:
                return node
        return None


def _node_id(name: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def snapshot(slot: Slot) -> TreeNode:
    """Read ``slot``'s subtree as it is now (thread-safe, not atomic across slots)."""
    return _snapshot(slot, _Path(1, None, slot.runtime.clock.monotonic()), top=True)


@dataclass(frozen=True, slots=True)
class _Path:
    """What the supervisors above a slot add up to."""

    failures: int  # failures of a direct child that reach the root: product of (m + 1)
    parent: SupervisorSpec | None
    now: float


def _snapshot(slot: Slot, path: _Path, *, top: bool = False) -> TreeNode:
    spec = slot.spec
    budget: Budget | None = None
    warnings: tuple[str, ...] = ()
    below = path
    if isinstance(spec, SupervisorSpec):
        policy = spec.policy
        used = sum(1 for t in slot.restart_history if path.now - t < policy.within)
        budget = Budget(used, policy.max_restarts, policy.within)
        warnings = _surprises(spec, path.parent)
        below = _Path(path.failures * (policy.max_restarts + 1), spec, path.now)
    temporary = isinstance(spec, ChildSpec | SupervisorSpec) and spec.restart is Restart.TEMPORARY
    return TreeNode(
        name=slot.name,
        kind=slot.kind,
        roles=tuple(sorted(slot.roles)),
        state=slot.state.value,
        restarts=slot.restarts,
        mailbox=slot.mailbox.qsize(),
        capacity=slot.mailbox.capacity,
        children=tuple(_snapshot(child, below) for child in list(slot.children)),
        status=slot.status.value,
        budget=budget,
        tolerance=None if top or temporary else path.failures - 1,
        warnings=warnings,
    )


def _surprises(spec: SupervisorSpec, parent: SupervisorSpec | None) -> tuple[str, ...]:
    """Why this supervisor's budget may surprise, next to its parent's (OTP's warning)."""
    if parent is None:
        return ()
    inner, outer = spec.policy, parent.policy
    if inner.max_restarts <= outer.max_restarts or inner.within >= outer.within:
        return ()  # only a larger budget in a shorter window is flagged
    return (
        f"restarts more often ({inner.max_restarts} in {inner.within:g}s) than its parent "
        f"{parent.name!r} may restart it ({outer.max_restarts} in {outer.within:g}s): its "
        "escalations can use up the parent's budget within the parent's window",
    )
