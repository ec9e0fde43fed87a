"""``python -m benchmarks``: the table, ``--json`` and ``--list`` (a smoke run, no measurement)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        capture_output=True,
        text=True,
        timeout=50,
        check=True,
        cwd=ROOT,
        env=env,
    )


def test_list_names_every_row():
    listed = [line.split()[0] for line in run("--list").stdout.splitlines()]
    assert listed[:2] == ["tell", "fan-in"]
    assert {"ask", "broadcast-1000", "spawn-10000", "rss", "restart", "gather"} <= set(listed)


def test_quick_rows_print_one_markdown_table_and_write_the_figures_as_json(tmp_path: Path):
    figures = tmp_path / "figures.json"
    done = run("--quick", "--rows", "tell,ask", "--rounds", "1", "--json", str(figures))
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| row |"))
    assert "| regiment | pykka (raw) | CPython floor |" in header
    assert header.endswith("| target (regiment / pykka) |")
    rows = [
        line for line in lines if line.startswith("| ") and not line.startswith(("| row", "| -"))
    ]
    assert [r.split(" | ")[0] for r in rows] == [
        "| direct tell 1->1, 2,000 msgs (msg/s)",
        "| ask p50, 200 sequential (µs)",
        "| ask p99, 200 sequential (µs)",
    ]
    assert "(1.00x)" in rows[0].split(" | ")[2]  # pykka: the baseline of every ratio
    assert rows[0].endswith(("PASS |", "MISS |"))

    data = json.loads(figures.read_text(encoding="utf-8"))
    assert set(data["lines"]) == {"tell", "ask-p50", "ask-p99"}
    tell = data["lines"]["tell"]
    assert tell["unit"] == "msg/s"
    assert tell["sides"]["regiment"]["status"] == "ok"
    assert tell["sides"]["regiment"]["median"] > 0
    assert tell["sides"]["pykka"]["ratio_to_pykka"] == 1.0
    assert tell["target"]["op"] == ">="
    assert "python" in data["environment"]


def test_an_unknown_row_is_refused():
    with pytest.raises(subprocess.CalledProcessError) as failed:
        run("--rows", "nope")
    assert "unknown" in failed.value.stderr
