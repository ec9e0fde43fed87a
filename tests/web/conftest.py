"""Fixtures of the observer's tests: the sample system, its app, a served URL, a browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from actors import ActorSystem
from actors.web import ObserverURL, observer_app, serve
from tests.web.sample_app import build

TOKEN = "s3cret-token"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture
def sample() -> Iterator[ActorSystem]:
    """The sample system (`tests.web.sample_app`), shut down (and checked clean) after."""
    system = build()
    try:
        yield system
    finally:
        assert system.shutdown(timeout=10.0), "the sample system did not shut down cleanly"


@pytest.fixture
def client(sample: ActorSystem) -> Iterator[TestClient]:
    """A test client of the sample's observer, control off."""
    with TestClient(observer_app(sample)) as test_client:
        yield test_client


@pytest.fixture
def controlled(sample: ActorSystem) -> Iterator[TestClient]:
    """A test client of the sample's observer with control on (token `TOKEN`)."""
    with TestClient(observer_app(sample, control_token=TOKEN)) as test_client:
        yield test_client


@pytest.fixture
def served(sample: ActorSystem) -> Iterator[ObserverURL]:
    """The sample's observer served on a free port, control off; stopped after the test."""
    url = serve(sample)
    yield url
    assert url.stop(), "the observer's server did not stop"


@pytest.fixture
def served_with_control(sample: ActorSystem) -> Iterator[ObserverURL]:
    """The sample's observer served on a free port with control on (token `TOKEN`)."""
    url = serve(sample, control_token=TOKEN)
    yield url
    assert url.stop(), "the observer's server did not stop"
