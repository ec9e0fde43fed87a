"""Every ``regiment ...`` command the docs and the README show parses with the real parser.

(The pages' Python blocks are run by tests/docs, like every other block.)
"""

from __future__ import annotations

import re

import pytest

from actors.cli import _parser
from tests.helpers import ROOT

PAGES = [ROOT / "docs/how-to/cli.md", ROOT / "README.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_regiment_command_shown_parses(page):
    shell = "\n".join(re.findall(r"```bash\n(.*?)```", page.read_text(), re.DOTALL))
    commands = re.findall(r"^regiment (.+?)(?:\s+#.*)?$", shell, re.MULTILINE)
    assert len(commands) >= 3
    for command in commands:
        _parser().parse_args(command.split())
