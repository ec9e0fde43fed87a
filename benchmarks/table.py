"""Rendering for ``python -m benchmarks``: the markdown table and the JSON figures.

`Results` holds every side's per-round figures for every line; a cell shows the median and
its ratio to pykka's median (``2.41x``); the last column shows regiment's goal and
PASS/MISS. A side that cannot do a row shows ``n/a`` with a numbered footnote (its reason).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from benchmarks.anchors import BASELINE, CONTENDERS
from benchmarks.rows import Line, Row


@dataclass
class Cell:
    """One side's figures for one line: per-round values, or why there are none."""

    samples: list[float] = field(default_factory=list)
    status: str = "ok"  # ok, n/a, error, not installed
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else math.nan


@dataclass
class Results:
    """Everything one run measured: cells by (line key, side key), plus the run's context."""

    environment: dict[str, Any]
    config: dict[str, Any]
    rows: list[tuple[Row, int]] = field(default_factory=list)  # each row with the size it ran
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)

    def cell(self, line: str, side: str) -> Cell:
        return self.cells.setdefault((line, side), Cell())

    def ratio(self, line: str, side: str) -> float:
        """``median(side) / median(pykka)`` for this line; NaN if either is missing."""
        mine, base = self.cell(line, side).median, self.cell(line, BASELINE).median
        if math.isnan(mine) or math.isnan(base) or not base:
            return math.nan
        return mine / base

    def verdict(self, line: Line) -> bool | None:
        """PASS (True) / MISS (False) for regiment's goal on this line; None without a goal."""
        if line.target is None:
            return None
        value = self.ratio(line.key, "regiment")
        if math.isnan(value):
            return None
        op, threshold = line.target
        return value >= threshold if op == ">=" else value <= threshold


def figure(value: float, unit: str) -> str:
    """A median, formatted for its unit."""
    if math.isnan(value):
        return "-"
    if unit in ("msg/s", "agents/s", "req/s"):
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def markdown(results: Results) -> str:
    """The table, its footnotes and the environment line, as markdown."""
    env = results.environment
    others = "".join(
        f", {name} {env[name]}" for name in ("thespian", "autogen-core") if name in env
    )
    out = [
        "{date}: regiment {regiment_commit}, CPython {python}, pykka {pykka}".format(**env)
        + others
        + ", {cpus} CPUs, {platform}, load average {load} at the start".format(**env),
        "",
    ]
    headings = [c.heading for c in CONTENDERS]
    out.append("| row | " + " | ".join(headings) + " | target (regiment / pykka) |")
    out.append("| --- |" + " ---: |" * len(headings) + " --- |")
    reasons: dict[str, int] = {}
    for row, size in results.rows:
        for line in row.lines:
            slots = [line.label.format(n=size)]
            for contender in CONTENDERS:
                cell = results.cell(line.key, contender.key)
                if cell.status == "ok":
                    ratio = results.ratio(line.key, contender.key)
                    shown = figure(cell.median, line.unit)
                    slots.append(shown if math.isnan(ratio) else f"{shown} ({ratio:.2f}x)")
                elif cell.status == "not installed":
                    slots.append("not installed")
                else:
                    reason = f"{contender.heading}: {cell.note}"
                    number = reasons.setdefault(reason, len(reasons) + 1)
                    slots.append(f"{cell.status} [{number}]")
            verdict = results.verdict(line)
            if line.target is None:
                slots.append("")
            else:
                op, threshold = line.target
                result = {True: "PASS", False: "MISS", None: "-"}[verdict]
                slots.append(f"{op} {threshold:.1f}x: {result}")
            out.append("| " + " | ".join(slots) + " |")
    if reasons:
        out.append("")
        out += [f"[{number}] {reason}" for reason, number in reasons.items()]
    missing = [c.heading for c in CONTENDERS if c.missing]
    if missing:
        out += ["", f"not installed: {', '.join(missing)} (`pip install -e '.[bench]'`)"]
    return "\n".join(out)


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def as_json(results: Results) -> dict[str, Any]:
    """The figures for tooling: per line, per side, the median, every round and the ratio."""
    lines: dict[str, Any] = {}
    for row, size in results.rows:
        for line in row.lines:
            lines[line.key] = {
                "row": row.id,
                "label": line.label.format(n=size),
                "size": size,
                "unit": line.unit,
                "higher_is_better": line.higher_is_better,
                "target": (
                    None
                    if line.target is None
                    else {
                        "op": line.target[0],
                        "ratio": line.target[1],
                        "passed": results.verdict(line),
                    }
                ),
                "sides": {
                    c.key: {
                        "status": results.cell(line.key, c.key).status,
                        "median": results.cell(line.key, c.key).median,
                        "rounds": results.cell(line.key, c.key).samples,
                        "ratio_to_pykka": results.ratio(line.key, c.key),
                        "note": results.cell(line.key, c.key).note,
                    }
                    for c in CONTENDERS
                },
            }
    return _no_nan({"environment": results.environment, "config": results.config, "lines": lines})
