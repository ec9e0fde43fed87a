"""Snapshots of supervision trees, which render as text or Mermaid.

`snapshot` reads a live tree into an immutable `TreeNode`, which prints as indented text and
renders as a Mermaid graph. (Slots are built from specs by `supervision._build`.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from actors._spi import Slot

if TYPE_CHECKING:
    from collections.abc import Iterator


__all__ = ["TreeNode", "snapshot"]


@dataclass(frozen=True, slots=True)
class TreeNode:
    """One slot of a supervision tree, as it was when the snapshot was taken."""

    name: str
    kind: str  # "supervisor" or "agent"
    roles: tuple[str, ...]
    state: str  # a SlotState value: running, suspended, restarting, stopped, ...
    restarts: int
    mailbox: int  # queued user messages
    capacity: int | None  # the mailbox's bound, None if unbounded
    children: tuple[TreeNode, ...] = ()

    def render(self) -> str:
        """Indented text, one line per slot."""
        return "\n".join(self._lines(0))

    def __str__(self) -> str:
        return self.render()

    def _lines(self, depth: int) -> Iterator[str]:
        roles = f" roles={','.join(self.roles)}" if self.roles else ""
        bound = f"/{self.capacity}" if self.capacity is not None else ""
        yield (
            f"{'  ' * depth}{self.name} [{self.kind}] {self.state} restarts={self.restarts} "
            f"mailbox={self.mailbox}{bound}{roles}"
        )
        for child in self.children:
            yield from child._lines(depth + 1)

    def mermaid(self) -> str:
        """A Mermaid ``graph TD`` of the tree (supervisors as rounded boxes)."""
        lines = ["graph TD"]
        for node, parent in self._pairs(None):
            shape = ("([", "])") if node.kind == "supervisor" else ("[", "]")
            roles = f"<br/>roles: {', '.join(node.roles)}" if node.roles else ""
            bound = f"/{node.capacity}" if node.capacity is not None else ""
            label = (
                f"{node.name}<br/>{node.state}, restarts={node.restarts}, "
                f"mailbox={node.mailbox}{bound}{roles}"
            )
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
    return TreeNode(
        name=slot.name,
        kind=slot.kind,
        roles=tuple(sorted(slot.roles)),
        state=slot.state.value,
        restarts=slot.restarts,
        mailbox=slot.mailbox.qsize(),
        capacity=slot.mailbox.capacity,
        children=tuple(snapshot(child) for child in list(slot.children)),
    )
