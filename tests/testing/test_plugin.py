"""The pytest plugin, as a user meets it: a test module that imports nothing but pytest.

Run through ``pytester`` in a fresh interpreter, so the plugin is found through its
``pytest11`` entry point exactly as in a project that installed regiment.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.slow

USING_ONLY_PYTEST = """
import pytest


def test_the_fixtures_give_a_running_system_and_a_probe(actor_system, probe):
    assert not actor_system.testing.pending_faults("nobody")
    probe.watch("ghost")
    assert probe.expect_terminated("ghost").name == "ghost"
    assert not probe.inbox.closed


def test_each_test_gets_a_system_of_its_own(actor_system):
    assert len(actor_system.agents()) == 0


@pytest.mark.manual_clock(start=50.0)
def test_manual_clock_puts_the_system_on_a_manual_clock(actor_system):
    assert actor_system.clock.monotonic() == 50.0
    actor_system.clock.advance(2.5)
    assert actor_system.clock.monotonic() == 52.5


@pytest.mark.actor_system(ask_timeout=1.5)
def test_the_actor_system_marker_passes_options(actor_system):
    assert actor_system.ask_timeout == 1.5
"""

DEAD_LETTERS = """
import pytest
from actors import Message
from actors.testing import expect_dead_letter


class Ping(Message):
    pass


def test_an_unexpected_dead_letter_fails_the_teardown(actor_system):
    actor_system.tell("nobody", Ping())


@pytest.mark.allow_dead_letters
def test_allow_dead_letters_allows_any(actor_system):
    actor_system.tell("nobody", Ping())


@pytest.mark.allow_dead_letters("unhandled")
def test_allow_dead_letters_with_reasons_allows_only_those(actor_system):
    actor_system.tell("nobody", Ping())


def test_a_dead_letter_the_test_expected_is_fine(actor_system):
    actor_system.tell("nobody", Ping())
    expect_dead_letter(actor_system, "unknown_address")


def test_a_failing_test_is_not_also_reported_for_its_dead_letters(actor_system):
    actor_system.tell("nobody", Ping())
    assert False, "the test's own failure"
"""


def test_a_module_that_imports_only_pytest_gets_working_fixtures(pytester):
    pytester.makepyfile(test_user=USING_ONLY_PYTEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=4)


def test_unexpected_dead_letters_fail_the_teardown_unless_allowed_or_expected(pytester):
    pytester.makepyfile(test_letters=DEAD_LETTERS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=4, failed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_an_unexpected_dead_letter_fails_the_teardown*",
            "*1 unexpected dead letter(s)*",
            "*unknown_address: Ping to nobody*",
        ]
    )
    errors = sorted(line.split()[1] for line in result.stdout.lines if line.startswith("ERROR "))
    assert errors == [
        "test_letters.py::test_allow_dead_letters_with_reasons_allows_only_those",
        "test_letters.py::test_an_unexpected_dead_letter_fails_the_teardown",
    ]
