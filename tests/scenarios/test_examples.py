"""Every example runs to completion in a fresh interpreter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ROOT, fresh_python

EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_example_runs_and_exits_zero(path: Path):
    done = fresh_python(str(path), timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip()


def test_there_are_examples():
    assert len(EXAMPLES) >= 3
