"""`actors.web.serve`: a real server on a thread, its live feed, and how it stops."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from actors import ActorSystem, InvalidConfig, RegimentError, SystemStopped
from actors.web import ObserverURL, serve
from actors.web._feed import Feed
from tests.helpers import WAIT
from tests.web.sample_app import Crash, Work, build


def updates(answer: httpx.Response) -> Iterator[tuple[str, dict]]:
    """(event name, data) of each SSE event of a streamed response, as they arrive."""
    name = None
    for line in answer.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name is not None:
            yield name, json.loads(line.removeprefix("data: "))
            name = None


def test_serve_returns_the_url_as_a_str_that_serves_the_page_and_the_api(served):
    assert isinstance(served, str)
    assert isinstance(served, ObserverURL)
    assert served == f"http://127.0.0.1:{served.port}/"
    assert served.host == "127.0.0.1"
    assert "regiment observer" in httpx.get(served, timeout=WAIT).text
    tree = httpx.get(served + "api/tree", timeout=WAIT).json()
    assert tree["system"] == "sample"


def test_the_server_runs_on_one_named_thread_that_stop_joins(sample):
    before = set(threading.enumerate())
    url = serve(sample)
    httpx.get(url + "api/config", timeout=WAIT)
    started = [t.name for t in threading.enumerate() if t not in before]
    assert started == ["regiment:sample/web"]
    assert url.stop(timeout=WAIT)
    assert url.stop(timeout=WAIT)  # idempotent
    assert [t for t in threading.enumerate() if t not in before] == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "api/config", timeout=WAIT)


def test_the_server_stops_when_its_system_shuts_down():
    system = build()
    url = serve(system)
    httpx.get(url + "api/config", timeout=WAIT)
    assert system.shutdown(timeout=WAIT)
    assert not any(t.name == "regiment:sample/web" for t in threading.enumerate())
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "api/config", timeout=WAIT)
    assert url.stop()


def test_an_open_live_feed_is_told_stopped_when_the_system_shuts_down():
    system = build()
    url = serve(system)
    with httpx.stream("GET", url + "api/events", timeout=WAIT) as answer:
        events = updates(answer)
        assert next(events)[0] == "update"
        stopper = threading.Thread(target=system.shutdown, kwargs={"timeout": WAIT})
        stopper.start()
        names = [name for name, _ in events]
    stopper.join(WAIT)
    assert names[-1] == "stopped"
    assert system.wait(0)


def test_the_live_feed_reports_a_crash_and_the_restart_that_follows(sample, served):
    with httpx.stream("GET", served + "api/events", timeout=WAIT) as answer:
        events = updates(answer)
        assert next(events)[0] == "update"
        sample.tell("coder-2", Crash(text="on purpose"))
        seen: list[dict] = []
        for name, data in events:
            assert name == "update"
            seen += data["events"]
            if any(line["type"] == "AgentRestarted" for line in seen):
                break
    crash = next(line for line in seen if line["type"] == "AgentCrashed")
    assert crash["name"] == "coder-2"
    assert "on purpose" in crash["text"]
    assert "restart" in crash["text"]


def test_the_live_feed_sends_at_most_four_updates_a_second_however_heavy_the_traffic(
    sample, served
):
    stop = threading.Event()

    def flood() -> None:  # dead letters, as fast as one thread can make them
        while not stop.is_set():
            for _ in range(100):
                sample.tell("nobody", Work())

    flooder = threading.Thread(target=flood)
    try:
        with httpx.stream("GET", served + "api/events", timeout=WAIT) as answer:
            events = updates(answer)
            next(events)
            flooder.start()
            began = time.monotonic()
            arrivals = []
            letters = []
            for _name, data in events:
                arrivals.append(time.monotonic() - began)
                if "dead_letters" in data:
                    letters.append(data["dead_letters"]["counts"].get("unknown_address", 0))
                # At least 2 s, and until two updates carried dead letters (a flooded,
                # loaded machine may give the server's thread little time): bounded by WAIT.
                if (arrivals[-1] >= 2.0 and len(letters) >= 2) or arrivals[-1] >= WAIT:
                    break
    finally:
        stop.set()
        if flooder.is_alive():
            flooder.join(WAIT)
    assert len(arrivals) <= arrivals[-1] / 0.25 + 2  # at most four a second, however long
    assert len(letters) >= 2
    assert letters[-1] > letters[0] > 0  # the updates did follow the traffic


def test_a_feed_counts_what_its_full_queue_dropped(sample):
    feed = Feed(sample, capacity=5)
    try:
        for _ in range(20):
            sample.tell("nobody", Work())
        lines, dropped, arrived = feed.take()
        assert (lines, dropped, arrived) == ([], 15, True)
        assert feed.take() == ([], 0, False)
    finally:
        feed.close()


def test_serve_refuses_a_bad_port_and_a_stopped_system(sample):
    for port in (-1, 65536, "80", True):
        with pytest.raises(InvalidConfig):
            serve(sample, port=port)  # type: ignore[arg-type]
    gone = ActorSystem("gone")
    gone.shutdown()
    with pytest.raises(SystemStopped) as raised:
        serve(gone)
    assert isinstance(raised.value, RegimentError)


def test_serve_on_a_taken_port_raises_os_error_and_starts_nothing(sample):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        before = threading.active_count()
        with pytest.raises(OSError, match="in use"):
            serve(sample, port=port)
        assert threading.active_count() == before
