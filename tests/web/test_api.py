"""The observer's JSON endpoints, through Starlette's test client (no server, no browser)."""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from actors import ActorSystem, InvalidConfig, MetricsSnapshot, RegimentError
from actors.web import observer_app
from actors.web._views import Rates
from tests.helpers import WAIT, logged
from tests.web.conftest import TOKEN
from tests.web.sample_app import AGENTS, Crash, Work

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def flatten(node):
    yield node
    for child in node["children"]:
        yield from flatten(child)


# -- the page ----------------------------------------------------------------------------------


def test_the_page_and_its_files_are_served_with_a_policy_allowing_only_their_own_scripts(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert "<title>regiment observer</title>" in page.text
    script = client.get("/observer.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "EventSource" in script.text
    assert client.get("/observer.css").headers["content-type"].startswith("text/css")


def test_the_page_refers_only_to_relative_urls_and_never_to_another_site(client):
    page = client.get("/").text
    script = client.get("/observer.js").text
    for url in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert not url.startswith(("/", "http:", "https:", "//")), url
    for url in re.findall(r'(?:fetch|EventSource)\(\s*"([^"]*)"', script):
        assert not url.startswith(("/", "http", "//")), url
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("//"))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code, f"the page builds HTML from text with {sink}"
    assert "http://" not in script
    assert "https://" not in script


def test_the_app_works_mounted_under_a_prefix(sample):
    outer = Starlette(routes=[Mount("/regiment", observer_app(sample))])
    with TestClient(outer) as outer_client:
        assert "regiment observer" in outer_client.get("/regiment/").text
        tree = outer_client.get("/regiment/api/tree").json()
        assert tree["system"] == "sample"
        assert outer_client.get("/regiment/observer.js").status_code == 200


# -- reading ----------------------------------------------------------------------------------


def test_config_says_whether_control_is_on(client, controlled):
    assert client.get("/api/config").json() == {"system": "sample", "control": False}
    assert controlled.get("/api/config").json() == {"system": "sample", "control": True}


def test_the_tree_shows_supervisors_agents_budgets_and_marks_the_pool(client):
    view = client.get("/api/tree").json()
    nodes = {node["name"]: node for node in flatten(view["tree"])}
    assert set(AGENTS) <= set(nodes)
    assert nodes["team"]["kind"] == "supervisor"
    assert nodes["team"]["budget"] == {"used": 0, "max_restarts": 5, "within": 10.0}
    assert [child["name"] for child in nodes["team"]["children"]] == [
        "coder-1",
        "coder-2",
        "reviewer",
    ]
    assert nodes["crunchers"]["pool"] == {"role": "cruncher", "size": 2, "max_size": 4}
    assert nodes["team"]["pool"] is None
    assert nodes["coder-1"]["roles"] == ["coder"]
    assert nodes["coder-1"]["status"] == "idle"
    assert client.get("/api/tree").headers["cache-control"] == "no-store"


def test_the_agents_are_listed_with_status_mailbox_counts_and_supervisor(sample, client):
    sample.ask("lead", Work(), timeout=WAIT)
    rows = {row["name"]: row for row in client.get("/api/agents").json()["agents"]}
    assert set(rows) == set(AGENTS)
    lead = rows["lead"]
    assert (lead["status"], lead["handled"], lead["failed"], lead["supervisor"]) == (
        "idle",
        1,
        0,
        "root",
    )
    assert rows["crunchers-2"]["supervisor"] == "crunchers"
    assert rows["coder-2"]["roles"] == ["coder"]
    assert {"mailbox_depth", "handled_per_second", "restarts", "p50"} <= set(lead)


def test_handled_per_second_is_the_difference_of_two_snapshots_over_the_time_between(sample):
    now = [100.0]
    rates = Rates(every=0.5, clock=lambda: now[0])
    first = sample.metrics()
    assert rates.update(first) == {}
    agents = {**first.agents, "lead": first.agents["lead"].model_copy(update={"handled": 30})}
    later = first.model_copy(update={"agents": agents})
    now[0] = 100.2  # too soon: the last rates stand
    assert rates.update(later) == {}
    now[0] = 102.0
    assert rates.update(later)["lead"] == 15.0


def test_an_agent_shows_its_info_and_flight_recording(sample, client):
    sample.ask("reviewer", Work(ms=1), timeout=WAIT)
    detail = client.get("/api/agents/reviewer").json()
    assert detail["supervisor"] == "team"
    assert detail["info"]["name"] == "reviewer"
    assert detail["info"]["handled"] == 1
    assert [entry["type"] for entry in detail["recent"]] == [Work.type_name]
    assert detail["recent"][0]["outcome"] == "ok"
    assert detail["metrics"]["handled"] == 1


def test_an_unknown_agent_is_404(client):
    answer = client.get("/api/agents/nobody")
    assert answer.status_code == 404
    assert "nobody" in answer.json()["error"]


def test_metrics_are_the_systems_metrics_snapshot(sample, client):
    sample.ask("lead", Work(), timeout=WAIT)
    snapshot = MetricsSnapshot.model_validate(client.get("/api/metrics").json())
    assert snapshot.system_name == "sample"
    assert snapshot.agents["lead"].handled == 1


def test_dead_letters_come_newest_first_with_reasons_and_bodies_cut_short(sample, client):
    sample.tell("nobody", Crash(text="x" * 1000))
    sample.tell("lead", Crash(text="boom"))
    view = client.get("/api/dead-letters").json()
    assert view["counts"]["unknown_address"] == 1
    first = view["letters"][-1]
    assert (first["reason"], first["to"], first["sender"]) == ("unknown_address", "nobody", None)
    assert first["type"] == Crash.type_name
    assert len(first["body"]) == 300
    assert first["body"].endswith("\u2026")
    limited = client.get("/api/dead-letters?limit=1").json()["letters"]
    assert len(limited) == 1


@pytest.mark.parametrize("query", ["limit=0", "limit=-3", "limit=many"])
def test_a_bad_limit_is_a_400(client, query):
    assert client.get(f"/api/dead-letters?{query}").status_code == 400
    assert client.get(f"/api/events?{query}").status_code == 400


def test_the_event_stream_sends_the_tree_agents_and_dead_letters_then_ends_at_its_limit(
    sample, client
):
    sample.tell("nobody", Work())
    with client.stream("GET", "/api/events?limit=2") as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        text = "".join(answer.iter_text())
    assert text.startswith(": regiment observer\n\n")
    assert text.count("event: update\n") == 2
    first = text.split("data: ", 1)[1].split("\n", 1)[0]
    assert '"name":"coder-1"' in first
    assert '"unknown_address":1' in first


# -- control ----------------------------------------------------------------------------------

CONTROLS = [
    ("/api/children/coder-1/stop", None),
    ("/api/children/coder-1/restart", None),
    ("/api/pools/crunchers/resize", {"size": 3}),
]


@pytest.mark.parametrize(("path", "body"), CONTROLS)
def test_control_is_refused_when_no_token_is_configured(sample, client, path, body):
    answer = client.post(path, json=body, headers=AUTH)
    assert answer.status_code == 403
    assert "control is off" in answer.json()["error"]
    assert sample.ref("coder-1").info().restarts == 0
    assert sample.pools()[0].size == 2


WRONG = {
    "none": {},
    "wrong-bearer": {"Authorization": "Bearer wrong"},
    "wrong-header": {"X-Regiment-Token": "wrong"},
    "no-scheme": {"Authorization": TOKEN},
}


@pytest.mark.parametrize(
    "case",
    [(path, body, headers) for path, body in CONTROLS for headers in WRONG.values()],
    ids=[f"{path.split('/')[-1]}-{name}" for path, _ in CONTROLS for name in WRONG],
)
def test_control_without_the_right_token_is_refused_and_logged(sample, controlled, logs, case):
    path, body, headers = case
    answer = controlled.post(path, json=body, headers=headers)
    assert answer.status_code == 403
    logs.wait_for(logged("missing or wrong control token", "WARNING"))
    assert sample.ref("coder-1").is_alive()
    assert sample.ref("coder-1").info().restarts == 0
    assert sample.pools()[0].size == 2


def test_restart_with_the_token_restarts_the_child_through_its_supervisor(sample, controlled, logs):
    answer = controlled.post("/api/children/coder-1/restart", headers=AUTH)
    assert answer.status_code == 200
    assert answer.json() == {
        "action": "restart",
        "name": "coder-1",
        "supervisor": "team",
        "done": True,
    }
    assert sample.ref("coder-1").info().restarts == 1
    logs.wait_for(logged("restart 'coder-1' requested", "INFO"))
    assert not any(TOKEN in record["message"] for record in logs.items())


def test_stop_with_the_token_in_its_own_header_stops_the_child(sample, controlled):
    answer = controlled.post("/api/children/reviewer/stop", headers={"X-Regiment-Token": TOKEN})
    assert answer.status_code == 200
    assert not any(ref.name == "reviewer" for ref in sample.agents())
    assert controlled.post("/api/children/reviewer/stop", headers=AUTH).status_code == 404


def test_resize_with_the_token_grows_and_shrinks_the_pool(sample, controlled):
    grown = controlled.post("/api/pools/crunchers/resize", json={"size": 4}, headers=AUTH)
    assert grown.json() == {"action": "resize", "name": "crunchers", "size": 4, "done": True}
    assert sample.pools()[0].size == 4
    controlled.post("/api/pools/crunchers/resize", json={"size": 1}, headers=AUTH)
    assert [ref.name for ref in sample.pools()[0].members()] == ["crunchers-1"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/children/nobody/restart", None, 404),
        ("/api/children/root/stop", None, 404),
        ("/api/pools/team/resize", {"size": 1}, 404),
        ("/api/pools/crunchers/resize", {"size": -1}, 400),
        ("/api/pools/crunchers/resize", {"size": "3"}, 400),
        ("/api/pools/crunchers/resize", ["size", 3], 400),
        ("/api/pools/crunchers/resize", {"size": 5}, 409),
    ],
)
def test_control_on_something_that_is_not_there_or_with_a_bad_body_says_why(
    sample, controlled, path, body, status
):
    answer = controlled.post(path, json=body, headers=AUTH)
    assert answer.status_code == status
    assert answer.json()["error"]
    assert sample.pools()[0].size == 2


def test_control_endpoints_take_only_post(controlled):
    assert controlled.get("/api/children/coder-1/stop", headers=AUTH).status_code == 405


# -- bad arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "token"),
    [("not a system", None), (None, ""), (None, 42)],
    ids=["not-a-system", "empty-token", "token-not-a-str"],
)
def test_observer_app_refuses_bad_arguments_with_invalid_config(sample, system, token):
    with pytest.raises(InvalidConfig) as raised:
        observer_app(sample if system is None else system, control_token=token)
    assert isinstance(raised.value, RegimentError)


def test_the_crash_of_an_agent_is_in_its_recording_and_counts(sample: ActorSystem, client):
    with pytest.raises(RegimentError):
        sample.ask("lead", Crash(text="boom"), timeout=WAIT)
    detail = client.get("/api/agents/lead").json()
    assert detail["recent"][-1]["outcome"] == "failed"
    row = next(r for r in client.get("/api/agents").json()["agents"] if r["name"] == "lead")
    assert row["failed"] == 1
