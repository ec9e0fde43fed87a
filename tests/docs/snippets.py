"""Code blocks of the README and the documentation site, found by their fences.

A block is a fenced code block: an opening fence (three backticks and a language, possibly
indented, as inside a list item) and the next fence at the same indentation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import ROOT

FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w+-]*)\s*$")


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced code block: where it is, its language and its text (indent removed)."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


def documents() -> list[Path]:
    """The README and every page of the site, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of one Markdown file.

    Raises:
        ValueError: if a fence is never closed.
    """
    found = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent = opening["indent"]
        body = []
        for end in range(index + 1, len(lines)):
            if lines[end] == f"{indent}```":
                break
            body.append(lines[end].removeprefix(indent))
        else:
            msg = f"{path}:{index + 1}: a code fence that is never closed"
            raise ValueError(msg)
        found.append(Block(path, index + 1, opening["lang"], "\n".join(body) + "\n"))
        index = end + 1
    return found


def all_blocks(lang: str | None = None) -> list[Block]:
    """Every block of every document, or those in one language."""
    return [b for p in documents() for b in blocks(p) if lang is None or b.lang == lang]
