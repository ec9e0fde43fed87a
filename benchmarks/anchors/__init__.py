"""The contenders of ``python -m benchmarks``: one module per side, the same workloads in each.

Every side is a `Side` subclass (`anchors.common`); a workload it cannot do raises
`NotApplicable` with the reason the table prints as a footnote. `SIDES` lists them in table
order; a side whose library is not installed is listed with `Contender.missing` set.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.anchors.common import NotApplicable, Side

__all__ = ["BASELINE", "CONTENDERS", "Contender", "NotApplicable", "Side", "make_side"]


@dataclass(frozen=True, slots=True)
class Contender:
    """One column of the table: its id, its heading, what must be importable, how to build it."""

    key: str  # the id used on the command line, in JSON and by child processes
    heading: str  # the table's column heading
    requires: str  # the top-level module that must be importable ("" for none)
    build: Callable[[], Side]

    @property
    def missing(self) -> bool:
        """True if its library is not installed (its column then says so)."""
        return bool(self.requires) and importlib.util.find_spec(self.requires) is None


def _regiment() -> Side:
    from benchmarks.anchors.regiment_side import RegimentSide

    return RegimentSide()


def _pykka() -> Side:
    from benchmarks.anchors.pykka_side import PykkaSide

    return PykkaSide()


def _floor() -> Side:
    from benchmarks.anchors.floor import FloorSide

    return FloorSide()


def _thespian_simple() -> Side:
    from benchmarks.anchors.thespian_side import ThespianSide

    return ThespianSide("simpleSystemBase")


def _thespian_multiproc() -> Side:
    from benchmarks.anchors.thespian_side import ThespianSide

    return ThespianSide("multiprocQueueBase")


def _autogen() -> Side:
    from benchmarks.anchors.autogen_side import AutogenSide

    return AutogenSide()


CONTENDERS: tuple[Contender, ...] = (
    Contender("regiment", "regiment", "actors", _regiment),
    Contender("pykka", "pykka (raw)", "pykka", _pykka),
    Contender("floor", "CPython floor", "", _floor),
    Contender("thespian-simple", "Thespian simple", "thespian", _thespian_simple),
    Contender("thespian-multiproc", "Thespian multiproc", "thespian", _thespian_multiproc),
    Contender("autogen", "autogen-core", "autogen_core", _autogen),
)

BASELINE = "pykka"  # every ratio in the table is to this side


def make_side(key: str) -> Side:
    """The side called ``key`` (raises KeyError for an unknown one)."""
    for contender in CONTENDERS:
        if contender.key == key:
            return contender.build()
    raise KeyError(key)
