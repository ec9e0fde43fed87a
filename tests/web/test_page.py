"""The observer page in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Every wait is bounded (``wait_for_selector`` with a timeout); nothing sleeps to synchronise.
Set ``REGIMENT_DOCS_SCREENSHOT=1`` to also refresh the documentation's screenshot
(``docs/img/observer.png``) from `test_a_screenshot_of_a_busy_system_is_saved`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from actors import ActorSystem
from actors.web import ObserverURL
from tests.helpers import ROOT, WAIT
from tests.web.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, TOKEN
from tests.web.sample_app import AGENTS, Crash, Work

NO_CHROMIUM = f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)

MS = 1000  # Playwright's timeouts are in milliseconds
WAIT_MS = int(WAIT * MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (Playwright with Debian's executable)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page and what it said: console errors, uncaught errors, dialogs it opened."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_selector("#connection.live", timeout=WAIT_MS)
        self.page.wait_for_selector('.node[data-name="root"]', timeout=WAIT_MS)
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    """A fresh page (its own context) whose errors and dialogs are recorded."""
    page = Watched(browser)
    yield page
    page.close()


def node(name: str) -> str:
    return f'.node[data-name="{name}"]'


def test_the_page_loads_without_errors_and_shows_every_agent_of_the_sample(
    watched: Watched, served: ObserverURL
):
    page = watched.open(served)
    for name in AGENTS:
        page.wait_for_selector(f"{node(name)}.kind-agent.status-idle", timeout=WAIT_MS)
        page.wait_for_selector(f'#agents-body tr[data-name="{name}"]', timeout=WAIT_MS)
    assert page.text_content("#system") == "sample"
    assert page.get_attribute(node("team"), "data-kind") == "supervisor"
    assert "budget 0/5 in 10s" in page.text_content(node("team"))
    assert "pool of cruncher" in page.text_content(node("crunchers"))
    nested = page.query_selector_all(f"{node('team')} + ul {node('coder-1')}")
    assert len(nested) == 1, "coder-1 is drawn under its supervisor"
    assert watched.errors == []


def test_a_crash_turns_the_node_to_the_failed_colour_within_a_second_and_then_back(
    watched: Watched, served: ObserverURL, sample: ActorSystem
):
    page = watched.open(served)
    page.wait_for_selector(f"{node('coder-1')}.status-idle", timeout=WAIT_MS)
    sample.tell("coder-1", Crash(text="on purpose"))
    page.wait_for_selector(f"{node('coder-1')}.flash-failed", timeout=1 * MS)
    colour = page.eval_on_selector(node("coder-1"), "n => getComputedStyle(n).borderLeftColor")
    assert colour == "rgb(217, 45, 32)"  # --failed
    page.wait_for_selector(
        f'{node("coder-1")}.status-idle[data-status="idle"]:not(.flash-failed)', timeout=WAIT_MS
    )
    assert "restarts 1" in page.text_content(node("coder-1"))
    page.wait_for_selector('#feed li[data-type="AgentRestarted"][data-name="coder-1"]')
    assert watched.errors == []


def test_a_dead_letter_appears_in_its_list_with_its_reason(
    watched: Watched, served: ObserverURL, sample: ActorSystem
):
    page = watched.open(served)
    sample.tell("nobody", Work(ms=7))
    letter = page.wait_for_selector(
        '#dead-letters li[data-reason="unknown_address"]', timeout=WAIT_MS
    )
    text = letter.text_content()
    assert "nobody" in text
    assert Work.type_name in text
    assert '"ms": 7' in text
    assert "unknown_address: 1" in page.text_content("#dead-counts")


def test_clicking_an_agent_shows_its_info_and_flight_recording(
    watched: Watched, served: ObserverURL, sample: ActorSystem
):
    sample.ask("reviewer", Work(), timeout=WAIT)
    page = watched.open(served)
    page.click(node("reviewer"))
    page.wait_for_selector("#detail dl.info", timeout=WAIT_MS)
    assert page.text_content("#detail-name") == "reviewer"
    assert "team" in page.text_content("#detail dl.info")
    rows = page.wait_for_selector("#detail table.recent tbody tr", timeout=WAIT_MS)
    assert Work.type_name in rows.text_content()
    assert "ok" in rows.text_content()


def test_the_agent_table_sorts_by_failures_and_by_mailbox_depth(
    watched: Watched, served: ObserverURL, sample: ActorSystem
):
    sample.tell("lead", Crash(text="one"))
    page = watched.open(served)
    page.wait_for_selector('#agents-body tr[data-name="lead"] td.failures.some', timeout=WAIT_MS)
    page.click('#agents th button[data-sort="failed"]')
    page.wait_for_selector('#agents th button[data-sort="failed"].sorted-desc', timeout=WAIT_MS)
    first = page.get_attribute("#agents-body tr:first-child", "data-name")
    assert first == "lead"
    page.click('#agents th button[data-sort="name"]')
    page.wait_for_selector('#agents th button[data-sort="name"].sorted-asc', timeout=WAIT_MS)
    order = page.eval_on_selector_all("#agents-body tr", "rows => rows.map(r => r.dataset.name)")
    assert order == sorted(AGENTS)


def test_without_a_token_configured_there_are_no_control_buttons(
    watched: Watched, served: ObserverURL
):
    page = watched.open(served + "#token=" + TOKEN)
    page.wait_for_selector(node("coder-1"), timeout=WAIT_MS)
    assert page.query_selector_all("button.control") == []
    assert page.is_hidden("#token-form")
    assert page.is_hidden("#control-on")


def test_with_a_token_the_buttons_restart_stop_and_resize(
    watched: Watched, served_with_control: ObserverURL, sample: ActorSystem
):
    page = watched.open(served_with_control + "#token=" + TOKEN)
    assert "#token" not in page.url, "the token is taken out of the address bar"
    page.click(f'{node("coder-2")} button[data-action="restart"]')
    page.wait_for_selector('#feed li[data-type="AgentRestarted"][data-name="coder-2"]')
    assert sample.ref("coder-2").info().restarts == 1
    page.click(f'{node("crunchers")} button[data-action="resize"][data-size="3"]')
    page.wait_for_selector(node("crunchers-3"), timeout=WAIT_MS)
    assert sample.pools()[0].size == 3
    page.click(f'{node("reviewer")} button[data-action="stop"]')
    page.wait_for_selector(node("reviewer"), state="detached", timeout=WAIT_MS)
    assert "reviewer" not in {ref.name for ref in sample.agents()}
    assert watched.errors == []


def test_with_control_on_the_page_asks_for_the_token_and_a_wrong_one_is_refused(
    watched: Watched, served_with_control: ObserverURL, sample: ActorSystem
):
    page = watched.open(served_with_control)
    page.wait_for_selector("#token-form:not([hidden])", timeout=WAIT_MS)
    assert page.query_selector_all("button.control") == []
    page.fill("#token-input", "not-the-token")
    page.click("#token-form button")
    page.click(f'{node("lead")} button[data-action="restart"]')
    status = page.wait_for_selector("#control-status.error", timeout=WAIT_MS)
    assert "403" in status.text_content()
    page.wait_for_selector("#token-form:not([hidden])", timeout=WAIT_MS)
    assert page.query_selector_all("button.control") == []
    assert sample.ref("lead").info().restarts == 0


def test_html_in_a_crash_message_is_shown_as_text_and_never_run(
    watched: Watched, served: ObserverURL, sample: ActorSystem
):
    hostile = (
        '<script>window.__pwned = 1; alert("script")</script>'
        "<img src=x onerror=\"window.__pwned = 2; alert('img')\">"
        "<b>bold</b>"
    )
    page = watched.open(served)
    sample.tell("coder-1", Crash(text=hostile))
    line = page.wait_for_selector(
        '#feed li[data-type="AgentCrashed"][data-name="coder-1"]', timeout=WAIT_MS
    )
    page.wait_for_selector('#dead-letters li[data-reason="handler_failed"]', timeout=WAIT_MS)
    assert "<script>window.__pwned = 1;" in line.text_content()
    assert "<img src=x onerror=" in line.text_content()
    for where in ("#feed", "#dead-letters", "#tree", "#agents"):
        assert page.query_selector_all(f"{where} script, {where} img, {where} b") == []
    assert page.evaluate("window.__pwned") is None
    assert watched.dialogs == []


def test_a_screenshot_of_a_busy_system_is_saved(
    watched: Watched, served_with_control: ObserverURL, sample: ActorSystem
):
    sample.ask("coder-1", Work(), timeout=WAIT)
    page = watched.open(served_with_control + "#token=" + TOKEN)
    page.click(node("coder-1"))
    page.wait_for_selector("#detail table.recent tbody tr", timeout=WAIT_MS)
    for _ in range(16):
        sample.tell("role:cruncher", Work(ms=200))
    for _ in range(4):
        sample.tell("coder-2", Work(ms=150))
    sample.tell("designer", Work())
    sample.tell("reviewer", Crash(text="review service timed out"))
    page.wait_for_selector(f"{node('reviewer')}.flash-failed", timeout=WAIT_MS)
    page.wait_for_selector('#dead-letters li[data-reason="unknown_address"]', timeout=WAIT_MS)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "observer.png"
    # Written here: given a path, Playwright writes through its event loop's executor,
    # whose threads would outlive the test.
    shot.write_bytes(page.screenshot(full_page=True))
    assert shot.stat().st_size > 10_000
    if os.environ.get("REGIMENT_DOCS_SCREENSHOT"):
        shutil.copyfile(shot, ROOT / "docs" / "img" / "observer.png")
    assert watched.errors == []
