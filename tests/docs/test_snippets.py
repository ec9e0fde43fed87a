"""Every code block of the README and the documentation site is complete and runs.

Each ```python block runs alone in a fresh interpreter (its own temporary working directory,
this checkout first on ``PYTHONPATH``, proxies pointed at a closed port so only 127.0.0.1 is
reachable) and must exit 0 within `TIMEOUT` seconds. A new user copies one block at a time,
so no block may lean on another.

The interpreters are subprocesses, not threads: `Snippets` starts the next `AHEAD` selected
blocks as a test begins, so a few run at once while each test checks only its own.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.docs.snippets import Block, all_blocks, blocks
from tests.helpers import ROOT

TIMEOUT = 30.0  # seconds one block may take, startup included
AHEAD = 3  # blocks running at once (started ahead of the test that checks them)
MIN_PYTHON_BLOCKS = 40

PYTHON_BLOCKS = all_blocks("python")


class Snippets:
    """Runs blocks in subprocesses, starting them in the order the tests will check them."""

    def __init__(self, order: list[str], workdir: Path) -> None:
        self._order = order
        self._workdir = workdir
        self._blocks = {block.where: block for block in PYTHON_BLOCKS}
        self._running: dict[str, tuple[subprocess.Popen[bytes], float, IO[bytes]]] = {}

    def _start(self, where: str) -> None:
        if where in self._running:
            return
        folder = self._workdir / re.sub(r"[^\w.-]", "_", where)
        folder.mkdir()
        script = folder / "snippet.py"
        script.write_text(self._blocks[where].code, encoding="utf-8")
        paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
        closed = "http://127.0.0.1:9"  # the discard port: nothing listens, nothing leaves
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in paths if p),
            "http_proxy": closed,
            "https_proxy": closed,
            "HTTP_PROXY": closed,
            "HTTPS_PROXY": closed,
            "no_proxy": "127.0.0.1,localhost",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        output = (folder / "output.txt").open("w+b")
        process = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        self._running[where] = (process, time.monotonic() + TIMEOUT, output)

    def run(self, where: str) -> tuple[int | None, str]:
        """Start this block (and the next few), wait for it; (exit code or None, output)."""
        self._start(where)
        if where in self._order:
            at = self._order.index(where)
            for ahead in self._order[at + 1 : at + AHEAD]:
                self._start(ahead)
        process, deadline, output = self._running[where]
        try:
            code: int | None = process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
        output.close()
        return code, text

    def close(self) -> None:
        """Kill whatever is still running (blocks whose test was not run, or failed early)."""
        for process, _, output in self._running.values():
            if process.poll() is None:
                process.kill()
                process.wait()
            output.close()


@pytest.fixture(scope="session")
def snippets(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Snippets]:
    order = [
        item.callspec.params["block"].where
        for item in request.session.items
        if hasattr(item, "callspec") and isinstance(item.callspec.params.get("block"), Block)
    ]
    runner = Snippets(order, tmp_path_factory.mktemp("snippets"))
    yield runner
    runner.close()


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.where for b in PYTHON_BLOCKS])
def test_python_block_runs_alone_in_a_fresh_interpreter(block: Block, snippets: Snippets):
    code, output = snippets.run(block.where)
    assert code is not None, f"{block.where} still ran after {TIMEOUT}s:\n{output}"
    assert code == 0, f"{block.where} exited {code}:\n{output}"


def test_the_docs_hold_enough_python_blocks_to_be_worth_testing():
    assert len(PYTHON_BLOCKS) >= MIN_PYTHON_BLOCKS, [b.where for b in PYTHON_BLOCKS]


def test_every_block_names_its_language():
    bare = [b.where for b in all_blocks() if not b.lang]
    assert not bare, f"fences without a language (use ```text for output): {bare}"


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    start = readme.index(section)
    first_line = readme[:start].count("\n") + 1
    last_line = first_line + section.count("\n")
    commands = []
    for block in blocks(ROOT / "README.md"):
        if block.lang == "bash" and first_line <= block.line <= last_line:
            commands.extend(line for line in block.code.splitlines() if line.strip())
    return commands


def test_the_quick_start_has_its_two_commands():
    assert len(quick_start_commands()) == 2


def test_ci_runs_the_quick_start_commands_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for command in quick_start_commands():
        assert command in ci, f"not run verbatim by .ci/run: {command}"


def test_the_getting_started_page_gives_the_quick_start_commands_verbatim():
    page = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    for command in quick_start_commands():
        assert command in page


SHELL_BLOCKS = all_blocks("bash")
PROGRAMS = {"python", "python3", "pip", "mkdocs", "regiment", "pytest", ".", "cd"}


def shell_commands() -> list[tuple[str, list[str]]]:
    """(where, words) of every command line of every bash block, comments removed."""
    found = []
    for block in SHELL_BLOCKS:
        for line in block.code.splitlines():
            for command in re.split(r"&&|;", line.split(" #", 1)[0]):
                words = shlex.split(command)
                if words:
                    found.append((block.where, words))
    return found


def test_every_shell_command_runs_a_known_program():
    unknown = [
        (where, words[0])
        for where, words in shell_commands()
        if words[0] not in PROGRAMS and not words[0].startswith(".venv/bin/")
    ]
    assert not unknown


def test_every_script_a_shell_block_runs_exists():
    scripts = [
        (where, word)
        for where, words in shell_commands()
        if words[0].endswith(("python", "python3"))
        for word in words[1:2]
        if word.endswith(".py")
    ]
    assert any(word.startswith("benchmarks/") for _, word in scripts)
    missing = [(where, word) for where, word in scripts if not (ROOT / word).is_file()]
    assert not missing
