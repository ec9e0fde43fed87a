"""``python -m benchmarks``: one markdown table, every contender side by side, in one run.

regiment, raw pykka (the baseline of every ratio), the CPython floor (`queue.SimpleQueue`
threads) and, when installed (``pip install -e '.[bench]'``), Thespian's ``simpleSystemBase``
and ``multiprocQueueBase`` and autogen-core's ``SingleThreadedAgentRuntime`` do the same work
per row (`benchmarks.rows`). Rounds alternate the sides, rotating which goes first; a cell is
the median over rounds and its ratio to pykka; the last column is regiment's goal. Rows marked
``fresh`` run each side in a new process (this module with the hidden ``--child`` option).

Run: ``python -m benchmarks [--quick] [--rows tell,ask] [--json PATH|-] [--rounds N] [--list]``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.anchors import CONTENDERS, Contender, NotApplicable, Side, make_side
from benchmarks.rows import ROW_IDS, ROWS, Row, row
from benchmarks.table import Results, as_json, markdown

ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT = 600.0  # seconds one fresh-process run may take


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, 1 round: a smoke test (CI), < 60 s"
    )
    parser.add_argument(
        "--rows", default=None, help="comma-separated row ids (default: all; see --list)"
    )
    parser.add_argument(
        "--json", default=None, metavar="PATH", help="also write the figures as JSON ('-': stdout)"
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="measured rounds per row (default 3, quick 1)"
    )
    parser.add_argument("--list", action="store_true", help="list the row ids and exit")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # SIDE ROW SIZE
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.rows is None:
        args.rows = list(ROW_IDS)
    else:
        args.rows = [r.strip() for r in args.rows.split(",") if r.strip()]
        unknown = [r for r in args.rows if r not in ROW_IDS]
        if unknown or not args.rows:
            parser.error(f"--rows: unknown {unknown}; choose from {','.join(ROW_IDS)}")
    return args


def environment() -> dict[str, Any]:
    """The harness's environment line plus the load average and the contenders' versions."""
    from importlib.metadata import PackageNotFoundError, version

    from benchmarks._harness import environment as harness_environment

    env = harness_environment()
    env["regiment_commit"] = _framework_commit(env["regiment_commit"])
    env["load"] = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    env["date"] = time.strftime("%Y-%m-%d")
    for package in ("thespian", "autogen-core"):
        with contextlib.suppress(PackageNotFoundError):
            env[package] = version(package)
    return env


def _framework_commit(head: str) -> str:
    """The last commit that changed actors/ or supervision/ (what the figures depend on).

    Stays the same across commits that touch only benchmarks or docs, so a pasted table
    names a commit that exists; ``+dirty`` (from the harness) is kept.
    """
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", "actors", "supervision"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return head
    commit = done.stdout.strip()
    if not commit:
        return head
    return commit + ("+dirty" if head.endswith("+dirty") else "")


def run_child(side: str, row_id: str, size: int) -> int:
    """``--child``: run one fresh-process row on one side; print one JSON line."""
    try:
        figures = row(row_id).run(make_side(side), size)
        result: dict[str, Any] = {"status": "ok", "figures": figures}
    except NotApplicable as exc:
        result = {"status": "n/a", "note": str(exc)}
    print(json.dumps(result), flush=True)
    return 0


def in_child(contender: Contender, the_row: Row, size: int) -> dict[str, float]:
    """Run a fresh-process row for one side in a new interpreter."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    command = [sys.executable, "-m", "benchmarks", "--child", contender.key, the_row.id, str(size)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False, env=env
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise RuntimeError(tail[0])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["status"] == "n/a":
        raise NotApplicable(result["note"])
    return {k: float(v) for k, v in result["figures"].items()}


def measure(the_row: Row, size: int, rounds: int, results: Results) -> None:
    """Every installed side, in rounds that rotate which side goes first."""
    installed = [c for c in CONTENDERS if not c.missing]
    for contender in CONTENDERS:
        if contender.missing:
            for line in the_row.lines:
                results.cell(line.key, contender.key).status = "not installed"
    sides: dict[str, Side] = {}
    out: set[str] = set()  # sides that cannot do this row (n/a or failed)
    first = 0 if the_row.warm_up else 1
    for r in range(first, rounds + 1):
        k = r % len(installed)
        for contender in [*installed[k:], *installed[:k]]:
            if contender.key in out:
                continue
            n = size if r else max(1, size // 10)
            started = time.perf_counter()
            try:
                if the_row.fresh:
                    figures = in_child(contender, the_row, n)
                else:
                    side = sides.setdefault(contender.key, contender.build())
                    figures = the_row.run(side, n)
            except NotApplicable as exc:
                _mark(results, the_row, contender, "n/a", str(exc))
                out.add(contender.key)
                continue
            except Exception as exc:  # noqa: BLE001 - one side failing must not end the run
                _mark(results, the_row, contender, "error", f"{type(exc).__name__}: {exc}")
                out.add(contender.key)
                continue
            _progress(
                f"{the_row.id} round {r} {contender.key}: {time.perf_counter() - started:.1f}s"
            )
            if r:
                for key, value in figures.items():
                    results.cell(key, contender.key).samples.append(value)


def _mark(results: Results, the_row: Row, contender: Contender, status: str, note: str) -> None:
    for line in the_row.lines:
        cell = results.cell(line.key, contender.key)
        cell.status, cell.note, cell.samples = status, note.splitlines()[0][:160], []
    _progress(f"{the_row.id} {contender.key}: {status} ({note.splitlines()[0][:160]})")


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        side, row_id, size = args.child
        return run_child(side, row_id, int(size))
    if args.list:
        for candidate in ROWS:
            print(f"{candidate.id:15} {candidate.describe}")
        return 0
    from loguru import logger

    logger.remove()  # per-message logging is not what is measured
    before = set(threading.enumerate())
    started = time.perf_counter()
    results = Results(
        environment=environment(),
        config={"quick": args.quick, "rounds": args.rounds, "rows": args.rows},
    )
    for row_id in args.rows:
        the_row = row(row_id)
        size = the_row.quick_size if args.quick else the_row.size
        results.rows.append((the_row, size))
        measure(the_row, size, args.rounds, results)
    results.config["seconds"] = round(time.perf_counter() - started, 1)
    text = markdown(results)
    leaked = _leftovers(before)
    if leaked:
        text += f"\n\nleft behind after the run: {leaked}"
    figures = json.dumps(as_json(results), indent=2)
    if args.json == "-":
        print(text, file=sys.stderr)
        print(figures)
    else:
        print(text)
        if args.json:
            Path(args.json).write_text(figures + "\n", encoding="utf-8")
    return 0


def _leftovers(before: set[threading.Thread]) -> list[str]:
    """Threads and child processes the run started and did not end (after a short join)."""
    gc.collect()  # multiprocessing queues Thespian dropped end their feeder threads
    deadline = time.perf_counter() + 5.0
    for thread in threading.enumerate():
        if thread not in before:
            thread.join(max(0.0, deadline - time.perf_counter()))
    left = [t.name for t in threading.enumerate() if t not in before]
    left += [f"process {p.pid} {p.name}" for p in multiprocessing.active_children()]
    return left


if __name__ == "__main__":
    raise SystemExit(main())
