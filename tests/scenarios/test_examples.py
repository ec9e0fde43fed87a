"""Every example runs to completion in a fresh interpreter, and every seed has its example."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ROOT, fresh_python

EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# The seeds of issue 12 (and issue 14's scale-out) and the example that shows each one.
SEEDS = {
    "message bus": "code_review_team.py",
    "agent orchestrator": "supervised_orchestrator.py",
    "agent pool": "research_pool.py",
    "broker": "broker.py",
    "runtime orchestrator": "runtime_orchestrator.py",
    "threaded web service": "web_service.py",
    "asyncio web service": "asgi_service.py",
    "supervision under faults": "fault_tree.py",
    "scale-out across processes": "distributed_team.py",
}

# A line each example prints once its story went as it should (examples not listed: any output).
EXPECTED = {
    "asgi_service.py": "5 requests at once for /count/together saw counts [1, 2, 3, 4, 5]",
    "broker.py": "the writer heard: ship it on Friday",
    "code_review_team.py": "review finished: 4 tasks approved, 1 revision, 1 crash reported",
    "distributed_team.py": "4 tasks approved, 1 revision, 1 crash reported and recovered, across 3",
    "fault_tree.py": "fault drill done",
    "quickstart.py": "done",
    "research_pool.py": "report approved=True",
    "runtime_orchestrator.py": "runtime orchestration done",
    "supervised_orchestrator.py": "2 crashes restarted within the policy",
    "supervised_team.py": "system stopped; failure chain:",
    "tool_policy.py": "tool calls by outcome",
    "web_service.py": "{'word': 'supervision', 'seen': 1}",
}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_example_runs_and_exits_zero(path: Path):
    done = fresh_python(str(path), timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip()
    assert EXPECTED.get(path.name, "") in done.stdout, done.stdout


@pytest.mark.parametrize(
    ("seed", "name"), SEEDS.items(), ids=[seed.replace(" ", "-") for seed in SEEDS]
)
def test_every_seed_has_its_example(seed: str, name: str):
    assert (ROOT / "examples" / name).is_file(), f"the {seed} seed has no examples/{name}"


def test_there_are_examples():
    assert len(EXAMPLES) >= 3
