"""``regiment tree APP``: the sample app's supervision tree in each format, and bad APPs."""

from __future__ import annotations

import json

import pytest

from tests.helpers import fresh_python

APP = "tests.cli.sample_app:build"
AGENTS = ("workers", "ticker", "counter", "greeter")

pytestmark = pytest.mark.slow  # each test starts an interpreter


def tree(*args: str) -> str:
    done = fresh_python("-m", "actors", "tree", APP, *args, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no log noise, and the system shut down cleanly
    return done.stdout


def test_tree_prints_every_slot_with_its_status_and_every_budget_as_text():
    lines = tree().splitlines()
    assert lines[0].startswith("root [supervisor] running status=idle")
    workers = next(line for line in lines if line.lstrip().startswith("workers "))
    assert "[supervisor]" in workers
    assert "budget=0/2 in 10s" in workers
    for name in ("ticker", "counter", "greeter"):
        line = next(line for line in lines if line.lstrip().startswith(f"{name} [agent]"))
        assert "status=" in line
    assert tree("--format", "text").splitlines()[0] == lines[0]  # text is the default


def test_tree_prints_a_mermaid_graph_naming_every_agent():
    graph = tree("--format", "mermaid")
    assert graph.startswith("graph TD\n")
    for name in AGENTS:
        assert f"n_{name}" in graph
    assert "n_workers --> n_ticker" in graph
    assert "budget=0/2 in 10s" in graph


def test_tree_prints_json_that_parses_into_the_tree():
    root = json.loads(tree("--format", "json"))
    assert root["name"] == "root"
    assert root["budget"] == {"used": 0, "max_restarts": 3, "within": 5.0}
    children = {child["name"]: child for child in root["children"]}
    assert set(children) == {"workers", "greeter"}
    workers = children["workers"]
    assert workers["kind"] == "supervisor"
    assert workers["budget"]["max_restarts"] == 2
    assert [child["name"] for child in workers["children"]] == ["ticker", "counter"]
    assert children["greeter"]["roles"] == ["greeting"]
    assert all(child["status"] for child in workers["children"])


@pytest.mark.parametrize(
    ("app", "says"),
    [
        ("no_such_module:build", "cannot import module 'no_such_module'"),
        ("tests.cli.sample_app:nothing", "has no attribute 'nothing'"),
        ("tests.cli.sample_app:not_a_system", "not an ActorSystem"),
        ("tests.cli.sample_app", "APP must be MODULE:ATTRIBUTE"),
    ],
)
def test_a_bad_app_is_one_line_on_stderr_and_exit_status_2(app, says):
    done = fresh_python("-m", "actors", "tree", app, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("regiment: ")
    assert says in done.stderr
    assert "Traceback" not in done.stderr
