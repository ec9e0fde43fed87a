"""Report the import graph of `actors` and `supervision` and its largest cycle.

Usage: ``python tools/import_cycles.py [--package-edges] [ROOT]`` (ROOT defaults to the
repository root).

Reads every module with ``ast`` (nothing is imported or executed), counts every ``import`` and
``from ... import`` that names a module of the two packages (module-level and late imports
alike, except those under ``if TYPE_CHECKING:``, which never run), and prints the strongly
connected components of that graph, largest first. A component of size 1 is no cycle.

``from actors import _local`` imports the submodule ``actors._local``. With
``--package-edges`` it also counts as importing the package ``actors`` itself (whose
``__init__`` imports most modules), which is how issue 8 counted its 19-module cycle.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGES = ("actors", "supervision")


def module_name(root: Path, path: Path) -> str:
    """The dotted module name of a file under ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if hasattr(sub, "lineno"):
                        lines.add(sub.lineno)
    return lines


def imports_of(
    root: Path,
    path: Path,
    modules: set[str],
    *,
    package_edges: bool = False,
    type_checking: bool = False,
) -> set[str]:
    """The package modules that ``path`` imports at run time (also for type checking, if asked)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = set() if type_checking else _type_checking_lines(tree)
    here = module_name(root, path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import sub`` imports the submodule; ``from pkg import name``, the module.
            subs = [f"{base}.{alias.name}" for alias in node.names]
            names = [sub for sub in subs if sub in modules]
            if package_edges or not names:
                names.append(base)
        else:
            continue
        found.update(name for name in names if name in modules and name != here)
    return found


def graph(
    root: Path, *, package_edges: bool = False, type_checking: bool = False
) -> dict[str, set[str]]:
    """Module -> modules it imports, for both packages."""
    files = {module_name(root, p): p for pkg in PACKAGES for p in (root / pkg).rglob("*.py")}
    return {
        name: imports_of(
            root, path, set(files), package_edges=package_edges, type_checking=type_checking
        )
        for name, path in files.items()
    }


def components(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan), largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            out.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(out, key=lambda g: (-len(g), g))


def main(argv: list[str]) -> int:
    """Print the cycles; exit 0."""
    package_edges = "--package-edges" in argv
    args = [arg for arg in argv[1:] if arg != "--package-edges"]
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent
    edges = graph(root, package_edges=package_edges)
    cycles = [group for group in components(edges) if len(group) > 1]
    largest = len(cycles[0]) if cycles else 1
    print(f"modules: {len(edges)}; import cycles: {len(cycles)}; largest: {largest}")
    for group in cycles:
        print(f"  {len(group)}: {' '.join(group)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
