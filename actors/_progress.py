"""The progress bar of ``ActorSystem.run_until(..., progress=True)``, drawn by rich on stderr.

What the bar measures follows the run's limits:

- ``max_messages`` given: messages handled against it;
- else ``max_runtime`` given: seconds elapsed against it, messages handled alongside;
- else: a spinner, the messages handled and the time elapsed.

The run waits in the calling thread exactly as it does without a bar. A thread of the bar's own
(``regiment:<system>/progress``) reads the run's message count ten times a second and redraws;
it is joined before `run_with_progress` returns. Rich's own refresh thread is not used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from actors._extras import need
from actors._guards import RunWatch, check_limits

if TYPE_CHECKING:
    from rich.progress import Progress

    from actors.run import RunReport

__all__ = ["run_with_progress"]

_REDRAW = 0.1  # seconds between redraws


def run_with_progress(
    watch: RunWatch,
    system: str,
    predicate: Callable[[], bool] | None,
    *,
    max_messages: int | None,
    max_runtime: float | None,
    idle: float | None,
    shutdown: bool,
) -> RunReport:
    """`RunWatch.run` with a progress bar on stderr (calling thread; see the module docstring).

    Raises:
        MissingExtra: if rich is not installed (before the run starts).
        InvalidConfig: as `RunWatch.run`.
    """
    need("rich", "cli", "run_until(progress=True)")
    check_limits(max_messages, max_runtime, idle)
    progress = _progress(max_messages, max_runtime)
    task = progress.add_task(f"run_until {system}", total=max_messages or max_runtime, handled=0)
    start = time.monotonic()
    done = threading.Event()

    def draw(handled: int, elapsed: float) -> None:
        if max_messages is not None:
            completed: float = handled
        elif max_runtime is not None:
            completed = min(elapsed, max_runtime)
        else:
            completed = handled
        progress.update(task, completed=completed, handled=handled)
        progress.refresh()

    def redraw() -> None:
        while not done.wait(_REDRAW):
            draw(watch.handled, time.monotonic() - start)
        for report in final:  # the run's own figures, once it has returned
            draw(report.messages, report.elapsed)

    final: list[RunReport] = []
    painter = threading.Thread(target=redraw, name=f"regiment:{system}/progress", daemon=True)
    progress.start()
    painter.start()
    try:
        report = watch.run(
            predicate,
            max_messages=max_messages,
            max_runtime=max_runtime,
            idle=idle,
            shutdown=shutdown,
        )
        final.append(report)
    finally:
        done.set()
        painter.join()
        progress.stop()
    return report


def _progress(max_messages: int | None, max_runtime: float | None) -> Progress:
    """A rich `Progress` on stderr whose columns fit the run's limits (refreshed by hand)."""
    from rich.console import Console  # noqa: PLC0415 - rich is optional: imported when drawn
    from rich.progress import (  # noqa: PLC0415 - as above
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns: list[ProgressColumn | str]
    described = TextColumn("{task.description}")
    handled = TextColumn("{task.fields[handled]} messages")
    if max_messages is not None:
        columns = [described, BarColumn(), MofNCompleteColumn(), "messages", TimeElapsedColumn()]
    elif max_runtime is not None:
        seconds = TextColumn("{task.completed:.1f}/{task.total:g}s")
        columns = [described, BarColumn(), seconds, handled]
    else:
        columns = [SpinnerColumn(), described, handled, TimeElapsedColumn()]
    return Progress(*columns, console=Console(stderr=True), auto_refresh=False)
