"""`actors._app.load_app`: what ``APP`` may name, and what each mistake says."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from actors import ActorSystem
from actors._app import AppError, load_app


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory; sys.path and sys.modules are restored afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    return tmp_path


def test_a_function_is_called_and_its_system_returned(workdir: Path):
    system = load_app("tests.cli.sample_app:build", ActorSystem)
    try:
        assert system.name == "sample"
        assert {ref.name for ref in system.agents()} == {"ticker", "counter", "greeter"}
    finally:
        assert system.shutdown(timeout=10.0)


def test_the_current_directory_is_searched_first(workdir: Path):
    (workdir / "cli_app_here.py").write_text("VALUE = 41\ndef make():\n    return VALUE + 1\n")
    assert load_app("cli_app_here:make", int) == 42
    assert sys.path[0] == str(workdir)


def test_an_attribute_that_is_already_the_object_is_returned_as_it_is(workdir: Path):
    (workdir / "cli_app_value.py").write_text("class Box:\n    inner = 'x'\n")
    assert load_app("cli_app_value:Box.inner", str) == "x"


@pytest.mark.parametrize(
    ("source", "app", "says"),
    [
        ("", "cli_app_a", "APP must be MODULE:ATTRIBUTE (like myapp:build), got 'cli_app_a'"),
        ("", "cli_app_a:", "APP must be MODULE:ATTRIBUTE"),
        ("", "cli_app_missing:build", "cannot import module 'cli_app_missing'"),
        ("", "cli_app_a:build", "module 'cli_app_a' has no attribute 'build'"),
        ("import no_such_dependency\n", "cli_app_a:build", "importing 'cli_app_a' raised"),
        ("raise ValueError('bad config')\n", "cli_app_a:x", "ValueError: bad config"),
        ("def build():\n    raise KeyError('k')\n", "cli_app_a:build", "calling cli_app_a:build"),
        ("def build():\n    return 7\n", "cli_app_a:build", "gave int 7, not an ActorSystem"),
    ],
)
def test_each_mistake_is_an_app_error_that_says_what_was_wrong(
    workdir: Path, source: str, app: str, says: str
):
    (workdir / "cli_app_a.py").write_text(source)
    with pytest.raises(AppError, match=None) as caught:
        load_app(app, ActorSystem)
    assert says in str(caught.value)
    assert caught.value.app == app
