"""The public surface of `actors` and `supervision` changes only on purpose.

Each package lists its API in ``__all__`` (sorted the way ruff's RUF022 sorts it), documents
every name there, exposes nothing else, and has a fixed set of public modules: a new public
name or module is a decision made in this file. Every error either package defines, in a
private module too, derives from `actors.RegimentError`.
"""

from __future__ import annotations
import __future__

import enum
import importlib
import inspect
import pkgutil
import re
import types

import pytest

import actors
import supervision

PACKAGES = [actors, supervision]

PUBLIC_MODULES = {
    "actors": {
        "address",
        "agent",
        "cli",
        "clock",
        "demo",
        "envelope",
        "errors",
        "events",
        "future",
        "gather",
        "inbox",
        "info",
        "mailbox",
        "memory",
        "message_log",
        "messages",
        "metrics",
        "nats",
        "prometheus",
        "recording",
        "ref",
        "request",
        "routes",
        "routing",
        "run",
        "schema",
        "send_policy",
        "system",
        "testing",
        "tools",
        "traffic",
        "web",
    },
    "supervision": {
        "decisions",
        "errors",
        "intensity",
        "policy",
        "pool",
        "ref",
        "spec",
        "supervisor",
        "tree",
    },
}

# Values with no docstring of their own (an enum member is documented by its enum, so is not
# listed). Only names that are neither classes nor functions may appear here.
DOCUMENTED_ELSEWHERE = {
    "actors.OUTSIDE": "a str constant; actors.send_policy's docstring explains it",
    "actors.Address": "a type alias (Direct | Role | Broadcast | Nowhere); each is documented",
    "actors.NOWHERE": "the one Nowhere instance; Nowhere's docstring explains it",
    "actors.AddressLike": "a type alias (Address | str); parse_address documents the str form",
    "supervision.Decider": "a Callable alias; RestartPolicy's docstring describes the decider",
    "supervision.SupervisorEvent": "a union of the planner's events; plan's docstring lists them",
}

# A module that runs when imported, so the walk over every module leaves it out.
ENTRY_POINTS = {"actors.__main__"}

MIN_ERRORS = 15  # the packages define 25 today; fewer means the walk below broke


def ruff_sort_key(name: str) -> tuple[int, list[int | str]]:
    """The order ruff's RUF022 wants in ``__all__`` (its "isort-style" sort).

    SCREAMING_SNAKE_CASE names first, then CamelCase ones, then the rest; within each group a
    case-sensitive natural sort (digit runs compare as numbers).
    """
    if len(name) > 1 and name.isupper():
        group = 0
    elif name[:1].isupper():
        group = 1
    else:
        group = 2
    return group, [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def own_doc(obj: object) -> str:
    """The docstring ``obj`` itself has (a class does not count its bases' docstrings)."""
    if inspect.isclass(obj):
        doc = vars(obj).get("__doc__")
        return inspect.cleandoc(doc) if isinstance(doc, str) else ""
    return inspect.getdoc(obj) or ""


def is_submodule(obj: object, package: types.ModuleType) -> bool:
    return isinstance(obj, types.ModuleType) and obj.__name__.startswith(package.__name__ + ".")


def every_module() -> list[types.ModuleType]:
    """Every module of both packages, the private ones included, imported."""
    modules = []
    for package in PACKAGES:
        for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
            if info.name not in ENTRY_POINTS:
                modules.append(importlib.import_module(info.name))
    return modules


def regiment_exceptions() -> set[type[BaseException]]:
    """Every exception class defined at the top level of a module of either package."""
    found: set[type[BaseException]] = set()
    for module in every_module():
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, BaseException)
                and obj.__module__.partition(".")[0] in {"actors", "supervision"}
            ):
                found.add(obj)
    return found


by_name = pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)


@by_name
def test_every_name_in_all_exists(package):
    missing = [name for name in package.__all__ if not hasattr(package, name)]
    assert missing == []


@by_name
def test_all_lists_each_name_once(package):
    assert len(package.__all__) == len(set(package.__all__))


@by_name
def test_all_is_sorted_as_ruff_sorts_it(package):
    assert list(package.__all__) == sorted(package.__all__, key=ruff_sort_key)


def test_the_sort_key_puts_constants_then_classes_then_the_rest_in_natural_order():
    names = ["parse", "Role", "STOP", "x10", "A", "x2", "AB", "Ab2", "Ab10", "ESCALATE"]
    assert sorted(names, key=ruff_sort_key) == [
        "AB",
        "ESCALATE",
        "STOP",
        "A",
        "Ab2",
        "Ab10",
        "Role",
        "parse",
        "x2",
        "x10",
    ]


@by_name
def test_every_public_class_and_function_has_a_docstring_of_its_own(package):
    undocumented = [
        name
        for name in package.__all__
        if (inspect.isclass(obj := getattr(package, name)) or inspect.isroutine(obj))
        and not own_doc(obj)
    ]
    assert undocumented == []


@by_name
def test_every_public_value_is_an_enum_member_or_documented_elsewhere(package):
    unexplained = [
        name
        for name in package.__all__
        if not inspect.isclass(obj := getattr(package, name))
        and not inspect.isroutine(obj)
        and not (isinstance(obj, enum.Enum) and own_doc(type(obj)))
        and f"{package.__name__}.{name}" not in DOCUMENTED_ELSEWHERE
    ]
    assert unexplained == []


def test_only_values_without_a_docstring_are_excused_from_having_one():
    for qualified in DOCUMENTED_ELSEWHERE:
        package_name, _, name = qualified.partition(".")
        package = importlib.import_module(package_name)
        assert name in package.__all__, f"{qualified} is no longer public"
        obj = getattr(package, name)
        assert not inspect.isclass(obj), f"{qualified} is a class: give it a docstring"
        assert not inspect.isroutine(obj), f"{qualified} is a function: give it a docstring"


@by_name
def test_every_public_attribute_of_the_package_is_in_all(package):
    public = {
        name
        for name, obj in vars(package).items()
        if not name.startswith(("_", "@"))  # "@py_builtins": pytest's assertion rewriting
        and not is_submodule(obj, package)
        and obj is not __future__.annotations  # the `from __future__ import annotations` flag
    }
    assert public - set(package.__all__) == set()


@by_name
def test_the_public_modules_are_exactly_the_expected_ones(package):
    modules = {info.name for info in pkgutil.iter_modules(package.__path__)}
    public = {name for name in modules if not name.startswith("_")}
    assert public == PUBLIC_MODULES[package.__name__], "a public module is a deliberate decision"


def test_every_module_of_both_packages_is_walked_private_ones_included():
    names = {module.__name__ for module in every_module()}
    for package in PACKAGES:
        for public in PUBLIC_MODULES[package.__name__]:
            assert f"{package.__name__}.{public}" in names
    assert any(name.rpartition(".")[2].startswith("_") for name in names)


def test_every_error_either_package_defines_derives_from_regiment_error():
    errors = regiment_exceptions()
    assert len(errors) >= MIN_ERRORS, sorted(error.__qualname__ for error in errors)
    strays = [
        f"{error.__module__}.{error.__qualname__}"
        for error in errors
        if not issubclass(error, actors.RegimentError)
    ]
    assert strays == []


def test_both_packages_ship_py_typed():
    from importlib import resources

    assert resources.files("actors").joinpath("py.typed").is_file()
    assert resources.files("supervision").joinpath("py.typed").is_file()
