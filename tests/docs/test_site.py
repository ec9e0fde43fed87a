"""The documentation site builds with ``mkdocs build --strict`` and holds the API reference.

mkdocs is in the ``test`` extra, so a missing mkdocs fails these tests instead of skipping them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.actors.test_public_api import PUBLIC_MODULES
from tests.helpers import ROOT

BUILD_TIMEOUT = 120.0


def nav_pages() -> set[str]:
    """Every page the nav of mkdocs.yml names (read as text: the file holds no tags)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:\n", 1)[1]
    return set(re.findall(r"([\w./-]+\.md)\s*$", text, re.MULTILINE))


def test_every_public_module_has_a_reference_page_in_the_nav():
    pages = nav_pages()
    for package, modules in PUBLIC_MODULES.items():
        for module in modules:
            page = f"reference/{package}/{module}.md"
            assert page in pages, f"no reference page for {package}.{module}"
            text = (ROOT / "docs" / page).read_text(encoding="utf-8")
            assert f"::: {package}.{module}" in text


def test_every_page_is_in_the_nav():
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert on_disk == nav_pages()


@pytest.mark.slow
def test_the_site_builds_strictly_with_the_api_reference(tmp_path: Path):
    site = tmp_path / "site"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    agent_page = (site / "reference" / "actors" / "agent" / "index.html").read_text("utf-8")
    assert "AgentActor" in agent_page
    system_page = (site / "reference" / "actors" / "system" / "index.html").read_text("utf-8")
    assert "spawn_pool" in system_page
    tree_page = (site / "reference" / "supervision" / "spec" / "index.html").read_text("utf-8")
    assert "SupervisorSpec" in tree_page
    supervision = (site / "concepts" / "supervision" / "index.html").read_text("utf-8")
    assert "Akka typed" in supervision
