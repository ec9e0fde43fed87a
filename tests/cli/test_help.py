"""``regiment --help``: plain text, every command with its one line, and an example."""

from __future__ import annotations

import pytest

from actors.cli import main


def test_help_is_plain_text_listing_every_command_with_an_example(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "``" not in out
    assert "`" not in out
    for command in ("demo", "tree", "top"):
        assert f"    {command} " in out
    assert "regiment tree myapp:build --format mermaid" in out
