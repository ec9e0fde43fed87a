"""docs/how-to/cli.md: every Python block runs on its own, and the commands it shows exist."""

from __future__ import annotations

import re

import pytest

from actors.cli import _parser
from tests.helpers import ROOT, fresh_python

PAGE = ROOT / "docs/how-to/cli.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.DOTALL)


def test_the_page_has_python_blocks():
    assert len(BLOCKS) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.splitlines()[0][:30])
def test_every_python_block_runs_on_its_own(block: str):
    done = fresh_python("-c", block, timeout=60)
    assert done.returncode == 0, done.stderr


def test_every_regiment_command_shown_parses():
    shell = "\n".join(re.findall(r"```bash\n(.*?)```", PAGE.read_text(), re.DOTALL))
    commands = re.findall(r"^regiment (.+?)(?:\s+#.*)?$", shell, re.MULTILINE)
    assert len(commands) >= 6
    for command in commands:
        _parser().parse_args(command.split())
