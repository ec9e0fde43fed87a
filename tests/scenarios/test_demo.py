"""The `regiment demo` main job."""

from __future__ import annotations

from actors.cli import main
from actors.demo import run_demo
from tests.helpers import fresh_python


def test_the_demo_exercises_every_addressing_mode_and_exits_zero():
    lines: list[str] = []
    assert run_demo(lines.append) == 0
    text = "\n".join(lines)
    assert "-> role:coder" in text  # role addressing
    assert "Standup (broadcast)" in text  # broadcast
    assert "ask: review" in text  # direct ask from a handler
    assert "restarted coder" in text  # supervision
    assert "no_role_member" in text  # a dead letter
    assert text.count("Status:") == 3  # every other agent answered the broadcast
    assert lines[-1] == "shut down cleanly"


def test_the_command_line_runs_the_demo_in_a_fresh_process():
    done = fresh_python("-m", "actors", "demo", timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("shut down cleanly")
    assert done.stderr == ""  # no log noise unless --log-level asks for it


def test_the_command_line_without_a_command_prints_help(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out
