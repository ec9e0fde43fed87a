"""Sizes for the reliability suite: CI sizes by default, full sizes with ``pytest --full``."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big each reliability test runs."""

    full: bool
    soak_messages: int  # messages the chaos soak's producers send, all together
    fuzz_examples: int  # hypothesis examples per fuzz test
    queued_at_shutdown: int  # messages queued across the agents when shutdown starts
    role_messages: int  # messages sent to a role while its members crash and restart
    spawn_agents: int  # agents spawned and shut down per cycle (three cycles)
    dead_letters: int  # dead letters produced to check that memory stays bounded


CI = Sizes(
    full=False,
    soak_messages=100_000,
    fuzz_examples=2_000,
    queued_at_shutdown=100_000,
    role_messages=20_000,
    spawn_agents=2_000,
    dead_letters=100_000,
)
FULL = Sizes(
    full=True,
    soak_messages=1_000_000,
    fuzz_examples=34_000,  # per fuzz test: three tests, some 100,000 examples in all
    queued_at_shutdown=100_000,
    role_messages=200_000,
    spawn_agents=10_000,
    dead_letters=1_000_000,
)


def full_size(config: pytest.Config) -> bool:
    return bool(config.getoption("--full"))


@pytest.fixture
def size(request: pytest.FixtureRequest) -> Sizes:
    """The sizes of this run: `FULL` under ``--full``, else `CI`."""
    return FULL if full_size(request.config) else CI


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here is marked ``reliability``; at full size its timeout grows tenfold.

    A test's ``timeout`` marker is sized for CI; ``--full`` runs up to ten times the work.
    """
    for item in items:
        if "tests/reliability/" not in item.nodeid:
            continue
        item.add_marker(pytest.mark.reliability)
        marker = item.get_closest_marker("timeout")
        if full_size(config) and marker is not None and marker.args:
            item.add_marker(pytest.mark.timeout(marker.args[0] * 10), append=False)
