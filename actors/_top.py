"""``regiment top``: a live view of a system's agents, redrawn in place until Ctrl-C.

One row per live agent: its status, mailbox depth, messages handled per second (the difference
of two `ActorSystem.metrics` snapshots over the time between them), and restarts. The metrics
count dead letters for the whole system only, by reason, so they are the view's last line.

`frame` (the rows, from two snapshots) is pure; `run_top` draws frames with rich, which it
imports only when it starts, in the calling thread (rich's refresh thread is not used).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from actors._extras import need

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from actors._lifecycle import AgentStatus
    from actors.metrics import MetricsSnapshot

__all__ = ["Frame", "Row", "Watched", "frame", "run_top"]


class _Agent(Protocol):
    @property
    def name(self) -> str: ...

    def status(self) -> AgentStatus: ...


class Watched(Protocol):
    """What `run_top` reads: an `ActorSystem` (a protocol, so this module needs no facade)."""

    @property
    def name(self) -> str:
        """The system's name."""
        ...

    def metrics(self) -> MetricsSnapshot:
        """A metrics snapshot."""
        ...

    def agents(self) -> Sequence[_Agent]:
        """Refs of the live agents."""
        ...


@dataclass(frozen=True, slots=True)
class Row:
    """One agent's line of the view."""

    agent: str
    status: str
    mailbox: int
    per_second: float | None  # None until two snapshots have seen the agent
    restarts: int


@dataclass(frozen=True, slots=True)
class Frame:
    """One screenful: the system's line, a row per agent, and the dead letters' line."""

    system: str
    handled: int  # by every agent, since the system started
    per_second: float | None
    rows: tuple[Row, ...]
    dead_letters: dict[str, int]  # by reason, since the system started

    def dead_letter_line(self) -> str:
        """``dead letters: 3 (no_role_member 2, shutdown 1)``, or ``dead letters: 0``."""
        total = sum(self.dead_letters.values())
        if not total:
            return "dead letters: 0"
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(self.dead_letters.items()))
        return f"dead letters: {total} ({reasons})"


def frame(
    before: MetricsSnapshot | None,
    after: MetricsSnapshot,
    seconds: float,
    statuses: Mapping[str, str],
) -> Frame:
    """The view of ``after``, with rates over the ``seconds`` since ``before`` (pure)."""

    def rate(now: int, then: int | None) -> float | None:
        if then is None or seconds <= 0:
            return None
        return max(0, now - then) / seconds

    previous = before.agents if before is not None else {}
    rows = tuple(
        Row(
            agent=name,
            status=statuses.get(name, "?"),
            mailbox=agent.mailbox_depth,
            per_second=rate(agent.handled, previous[name].handled if name in previous else None),
            restarts=agent.restarts,
        )
        for name, agent in sorted(after.agents.items())
    )
    return Frame(
        system=after.system_name,
        handled=after.system.handled,
        per_second=rate(after.system.handled, before.system.handled if before else None),
        rows=rows,
        dead_letters=dict(after.system.dead_letters),
    )


def run_top(
    system: Watched, *, interval: float = 1.0, once: bool = False, console: Console | None = None
) -> None:
    """Show the live view of ``system`` until Ctrl-C (calling thread); returns then.

    Args:
        system: the system to watch (it keeps running; stopping it is the caller's job).
        interval: seconds between frames.
        once: print a single frame, ``interval`` seconds after the first snapshot, and return.
        console: where to draw (default: a rich console on stdout).

    Raises:
        MissingExtra: if rich is not installed.
    """
    need("rich", "cli", "regiment top")
    from rich.console import Console  # noqa: PLC0415 - rich is optional: imported when drawn
    from rich.live import Live  # noqa: PLC0415 - as above

    out = console if console is not None else Console()
    before, then = system.metrics(), time.monotonic()

    def next_frame() -> Frame:
        nonlocal before, then
        after, now = system.metrics(), time.monotonic()
        statuses = {agent.name: agent.status().value for agent in system.agents()}
        shown = frame(before, after, now - then, statuses)
        before, then = after, now
        return shown

    try:
        if once:
            time.sleep(interval)  # the cadence of the view, not a synchronisation
            out.print(_table(next_frame()))
            return
        first = frame(None, before, 0.0, {a.name: a.status().value for a in system.agents()})
        hint = "   (Ctrl-C to stop)"
        with Live(_table(first, hint), console=out, auto_refresh=False) as live:
            while True:
                time.sleep(interval)
                live.update(_table(next_frame(), hint), refresh=True)
    except KeyboardInterrupt:
        return


def _table(shown: Frame, hint: str = "") -> Table:
    from rich.table import Table  # noqa: PLC0415 - rich is optional: imported when drawn

    rate = "-" if shown.per_second is None else f"{shown.per_second:.1f}/s"
    table = Table(
        title=f"regiment top: system {shown.system!r}, {shown.handled} handled ({rate})",
        caption=f"{shown.dead_letter_line()}{hint}",
    )
    table.add_column("agent")
    table.add_column("status")
    table.add_column("mailbox", justify="right")
    table.add_column("handled/s", justify="right")
    table.add_column("restarts", justify="right")
    for row in shown.rows:
        per_second = "-" if row.per_second is None else f"{row.per_second:.1f}"
        table.add_row(row.agent, row.status, str(row.mailbox), per_second, str(row.restarts))
    return table
