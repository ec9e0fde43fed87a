"""The architecture's import rules, read from the source (tools/import_cycles.py, with ast).

- the module import graph of `actors` and `supervision` has no cycle;
- runtime modules (the private ``actors._*``) never import the facade (`ActorSystem`,
  `AgentRef`, `AgentActor`), not even for type checking;
- `supervision` uses no private `actors` module but the documented ``actors._spi``;
- `actors` imports `supervision` at run time in one place only: to boot the root supervisor
  (`actors.demo`, the shipped demo application, uses both packages as any application does).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
FACADE = {"actors.system", "actors.ref", "actors.agent"}


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_cycles", ROOT / "tools/import_cycles.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_cycles", module)
    spec.loader.exec_module(module)
    return module


TOOL = _tool()


def test_the_import_graph_of_both_packages_has_no_cycle():
    cycles = [group for group in TOOL.components(TOOL.graph(ROOT)) if len(group) > 1]
    assert cycles == []


def test_no_module_imports_a_sibling_through_the_package_init():
    # ``from actors import _x`` counts as importing ``actors`` itself, whose __init__ imports
    # every public module: the way issue 8 counted a 19-module cycle.
    edges = TOOL.graph(ROOT, package_edges=True)
    cycles = [group for group in TOOL.components(edges) if len(group) > 1]
    assert cycles == []


def test_the_tool_finds_a_cycle_when_there_is_one(tmp_path: Path):
    for package in TOOL.PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "actors/a.py").write_text("from actors import b\n")
    (tmp_path / "actors/b.py").write_text("def f():\n    from actors.a import x\n")
    (tmp_path / "actors/c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from actors.a import y\n"
    )
    groups = TOOL.components(TOOL.graph(tmp_path))
    assert [group for group in groups if len(group) > 1] == [["actors.a", "actors.b"]]


def test_runtime_modules_never_import_the_facade():
    edges = TOOL.graph(ROOT, type_checking=True)
    runtime = [name for name in edges if name.startswith("actors._")]
    assert len(runtime) >= 15
    offenders = {name: sorted(edges[name] & FACADE) for name in runtime if edges[name] & FACADE}
    assert offenders == {}


def test_supervision_uses_no_private_actors_module_but_the_spi():
    edges = TOOL.graph(ROOT, type_checking=True)
    private = {
        name: sorted(m for m in imported if m.startswith("actors._") and m != "actors._spi")
        for name, imported in edges.items()
        if name.startswith("supervision")
    }
    assert {name: found for name, found in private.items() if found} == {}


def test_actors_imports_supervision_at_run_time_only_to_boot_the_root():
    edges = TOOL.graph(ROOT)
    importers = {
        (name, imported)
        for name, targets in edges.items()
        if name.startswith("actors") and name != "actors.demo"
        for imported in targets
        if imported.startswith("supervision")
    }
    assert importers == {("actors.system", "supervision._root")}
