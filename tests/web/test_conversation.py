"""Conversations on the page: a follow-up from a column's message box continues it live;
a variation that cannot be continued says why instead of offering the box; Fork… starts a
new run from a variation and the new run shows where it came from."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.repos.directories import remove_tree
from tests.conftest import command_spec
from tests.server_process import ServerProcess
from tests.web.axe import axe_source, severe_violations
from tests.web.browser import require_chromium, shown_line_ids, wait_run

pytestmark = pytest.mark.e2e

# Each turn prints a few lines naming its prompt; a turn whose prompt says "slowly" waits
# before its last lines, so the page can be seen mid-turn.
TALK = (
    'echo "start: $AIDEATOR_PROMPT"; echo "$AIDEATOR_PROMPT" >> notes.txt; '
    'case "$AIDEATOR_PROMPT" in *slowly*) sleep 5;; esac; '
    'echo "end: $AIDEATOR_PROMPT"'
)
FOLLOW_UP = "Now add a line slowly"


@pytest.fixture(scope="module")
def kept_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that keeps finished runs' workspaces, so their variations can be continued."""
    require_chromium()
    server = ServerProcess(
        tmp_path_factory.mktemp("kept-server"), workspace_retention_seconds="600"
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def full_replay(base_url: str, run_id: str, completes: int) -> list[dict[str, Any]]:
    """Every event of the run up to its `completes`-th `complete` (one per finished turn)."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with httpx.stream("GET", f"{base_url}/api/v1/runs/{run_id}/stream", timeout=60) as res:
        for line in res.iter_lines():
            if line == "":
                if "data" in current:
                    events.append(current)
                    if sum(e["event"] == "complete" for e in events) == completes:
                        break
                current = {}
            elif line.startswith("id:"):
                current["id"] = int(line[3:].strip())
            elif line.startswith("event:"):
                current["event"] = line[6:].strip()
            elif line.startswith("data:"):
                current["data"] = json.loads(line[5:].strip())
    return events


def column_sequence(page: Any, variation_id: int) -> list[str]:
    """The column's log in DOM order: agent lines as their event ids, separators as `turn N`."""
    items: list[str] = page.eval_on_selector_all(
        f".vcol[data-variation='{variation_id}'] .lines > *",
        "els => els.map(e => e.classList.contains('turn-sep')"
        " ? `turn ${e.dataset.turn}` : e.dataset.id)",
    )
    return items


def finished_run(server: ServerProcess, repo: Path) -> str:
    body = {"repo_url": str(repo), "prompt": "first", "variations": [command_spec(TALK)] * 2}
    run_id: str = httpx.post(f"{server.url}/api/v1/runs", json=body).json()["run_id"]
    assert wait_run(server.url, run_id)["status"] == "succeeded"
    return run_id


def test_follow_up_continues_the_column_live(
    new_page: Any, kept_server: ServerProcess, web_repo: Path
) -> None:
    run_id = finished_run(kept_server, web_repo)
    page = new_page()
    page.goto(f"{kept_server.url}/#/runs/{run_id}")
    page.wait_for_selector(".run-head .conn[data-state='ended']")
    box = ".vcol[data-variation='0'] .vcol-continue"
    page.wait_for_selector(f"{box}[data-mode='open']")
    assert page.locator(f"{box} .continue-status").inner_text().startswith("Can be continued until")
    # The box has a label, and Ctrl+Enter sends.
    page.get_by_label("Follow-up to variation 0").fill(FOLLOW_UP)
    page.get_by_label("Follow-up to variation 0").press("Control+Enter")

    # Turn 2 shows live: its separator and first line while the run is going again.
    separator = page.wait_for_selector(".vcol[data-variation='0'] .turn-sep[data-turn='2']")
    assert separator.inner_text() == f"Turn 2: {FOLLOW_UP}"
    column = ".vcol[data-variation='0']"
    page.wait_for_selector(f"{column} .lines > .line:text-is('start: {FOLLOW_UP}')")
    assert httpx.get(f"{kept_server.url}/api/v1/runs/{run_id}").json()["status"] == "running"
    page.wait_for_selector(".run-head .conn[data-state='live']")
    # Meanwhile this box cannot send (its turn runs); the other variation's can: one turn
    # at a time per variation.
    page.wait_for_selector(f"{box}[data-mode='busy'] .continue-status:text('Turn 2 is running')")
    other = page.locator(".vcol[data-variation='1'] .vcol-continue[data-mode='open']")
    assert other.locator("textarea").is_enabled()
    assert page.locator(f"{box} textarea").is_disabled()
    # ...and takes its own (quick) turn while variation 0's still runs.
    other.locator("textarea").fill("A second one")
    other.locator("button[type=submit]").click()
    page.wait_for_selector(".vcol[data-variation='1'] .lines > .line:text-is('end: A second one')")
    assert page.locator(f"{box} textarea").is_disabled(), "variation 0's turn is still running"

    # The turn ends: the stream ends again, the box reopens, every line is shown once.
    page.wait_for_selector(f"{column} .lines > .line:text-is('end: {FOLLOW_UP}')")
    page.wait_for_selector(".run-head .conn[data-state='ended']")
    page.wait_for_selector(f"{box}[data-mode='open']")
    events = full_replay(kept_server.url, run_id, completes=2)
    first_end = next(i for i, e in enumerate(events) if e["event"] == "complete")
    assert [e["event"] for e in events].count("complete") == 2, "one end after both turns"
    turn_one = [str(i) for i in shown_line_ids(events[:first_end], 0)]
    turn_two = [str(i) for i in shown_line_ids(events[first_end:], 0)]
    assert turn_one and turn_two
    assert column_sequence(page, 0) == [*turn_one, "turn 2", *turn_two]
    other_one = [str(i) for i in shown_line_ids(events[:first_end], 1)]
    other_two = [str(i) for i in shown_line_ids(events[first_end:], 1)]
    assert other_one and other_two
    assert column_sequence(page, 1) == [*other_one, "turn 2", *other_two]

    # A reload replays both turns the same way (the separator comes from the stream).
    page.reload()
    page.wait_for_selector(".run-head .conn[data-state='ended']")
    page.wait_for_selector(f"{column} .lines > .line:text-is('end: {FOLLOW_UP}')")
    assert column_sequence(page, 0) == [*turn_one, "turn 2", *turn_two]
    assert column_sequence(page, 1) == [*other_one, "turn 2", *other_two]
    assert page.locator(f"{column} .turn-sep").inner_text() == f"Turn 2: {FOLLOW_UP}"
    assert (
        page.locator(".vcol[data-variation='1'] .turn-sep").inner_text() == "Turn 2: A second one"
    )


class _RunReads:
    """The page's reads of one run: which are in flight, when the last one answered."""

    def __init__(self, page: Any, path: str) -> None:
        self.in_flight = 0
        self.last_answer = time.monotonic()
        is_read = lambda r: r.method == "GET" and r.url.split("?")[0].endswith(path)  # noqa: E731
        page.on("request", lambda r: is_read(r) and self._started())
        page.on("requestfinished", lambda r: is_read(r) and self._ended())
        page.on("requestfailed", lambda r: is_read(r) and self._ended())

    def _started(self) -> None:
        self.in_flight += 1

    def _ended(self) -> None:
        self.in_flight -= 1
        self.last_answer = time.monotonic()

    def wait_quiet(self, page: Any, quiet_seconds: float = 1.5, timeout: float = 60) -> None:
        """Until no read is in flight and none has started for `quiet_seconds`."""
        deadline = time.monotonic() + timeout
        while self.in_flight or time.monotonic() - self.last_answer < quiet_seconds:
            assert time.monotonic() < deadline, "the page kept reading the run"
            page.wait_for_timeout(100)  # lets the page's events be delivered to us


def test_refusal_is_shown_beside_the_box(
    new_page: Any, kept_server: ServerProcess, web_repo: Path
) -> None:
    run_id = finished_run(kept_server, web_repo)
    page = new_page()
    reads = _RunReads(page, f"/api/v1/runs/{run_id}")
    page.goto(f"{kept_server.url}/#/runs/{run_id}")
    box = ".vcol[data-variation='1'] .vcol-continue"
    # The replay has ended and the read after it says the box is open.
    page.wait_for_selector(".run-head .conn[data-state='ended']")
    page.wait_for_selector(f"{box}[data-mode='open']")
    reads.wait_quiet(page)  # the page's last read is in: it cannot close the box later
    # An empty message is refused on the page, without a request.
    page.fill(f"{box} textarea", "  ")
    page.click(f"{box} button[type=submit]")
    page.wait_for_selector(f"{box} .form-error:text('Type a message first.')")
    # The workspace goes away behind the page's back: the server's 409 shows inline.
    workspaces = [p for p in (kept_server.data_dir / "data").rglob(run_id) if p.is_dir()]
    assert workspaces, "the run's workspaces are kept"
    for path in sorted(workspaces):  # a parent before its children
        remove_tree(path)  # as retention does: the variations' overlay mounts go first
    page.fill(f"{box} textarea", "one more")
    page.click(f"{box} button[type=submit]")
    error = page.wait_for_selector(f"{box} .form-error[role=alert]:visible")
    assert "workspace is gone" in error.inner_text()
    assert page.input_value(f"{box} textarea") == "one more", "the message is kept"


def test_cancelled_run_says_why_instead_of_the_box(
    new_page: Any, kept_server: ServerProcess, web_repo: Path
) -> None:
    body = {
        "repo_url": str(web_repo),
        "prompt": "wait",
        "variations": [command_spec("sleep 60")],
    }
    run_id = httpx.post(f"{kept_server.url}/api/v1/runs", json=body).json()["run_id"]
    res = httpx.post(f"{kept_server.url}/api/v1/runs/{run_id}/cancel")
    assert res.status_code == 202, res.text
    assert wait_run(kept_server.url, run_id)["status"] == "cancelled"
    page = new_page()
    page.goto(f"{kept_server.url}/#/runs/{run_id}")
    closed = page.wait_for_selector(".vcol[data-variation='0'] .vcol-continue[data-mode='closed']")
    reason = closed.query_selector(".continue-closed")
    assert reason is not None
    assert reason.inner_text() == (
        "Can no longer be continued: the run was cancelled; its variations cannot be continued"
    )
    assert not page.locator(".vcol[data-variation='0'] .continue-form").is_visible()


def test_fork_from_the_page_shows_the_lineage(
    new_page: Any, kept_server: ServerProcess, web_repo: Path
) -> None:
    parent = finished_run(kept_server, web_repo)
    page = new_page()
    page.goto(f"{kept_server.url}/#/runs/{parent}")
    column = ".vcol[data-variation='1']"
    page.wait_for_selector(f"{column} .vcol-continue[data-mode='open']")
    page.click(f"{column} [data-action=fork]")
    assert page.get_attribute(f"{column} [data-action=fork]", "aria-expanded") == "true"
    # The message boxes and the open fork form pass axe in both themes.
    source = axe_source()
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert severe_violations(page, source) == [], scheme
    page.get_by_label("Fork variation 1 into a new run").fill("fork it")
    count = page.get_by_label("Variations", exact=True).locator("visible=true")
    count.fill("9")
    page.click(f"{column} .fork-form button[type=submit]")
    page.wait_for_selector(f"{column} .fork-form .form-error:text('from 1 to 8')")
    count.fill("2")
    page.click(f"{column} .fork-form button[type=submit]")
    page.wait_for_url(lambda url: parent not in url and re.search(r"#/runs/[0-9a-f-]+$", url))
    child = page.url.rsplit("/", 1)[-1]

    lineage = page.wait_for_selector(".run-head .run-lineage")
    assert lineage.inner_text() == f"Forked from run {parent[:8]} variation 1"
    link = lineage.query_selector("a")
    assert link is not None and link.get_attribute("href") == f"#/runs/{parent}"
    assert page.locator(".vcol").count() == 2
    run = wait_run(kept_server.url, child)
    assert run["parent"]["run_id"] == parent and run["parent"]["variation_id"] == 1
    # The fork started from variation 1's files: its diff (against the same base) has both.
    diff = httpx.get(f"{kept_server.url}/api/v1/runs/{child}/variations/0/diff").text
    assert "+first" in diff and "+fork it" in diff, diff

    # The runs list says so too, and its link leads back to the parent.
    page.goto(f"{kept_server.url}/#/")
    row = page.wait_for_selector(f"tr[data-run-id='{child}'] .lineage")
    assert row.inner_text() == f"↳ forked from run {parent[:8]} variation 1"
    back = row.query_selector("a")
    assert back is not None
    back.click()
    page.wait_for_url(f"**/#/runs/{parent}")
    page.wait_for_selector(".vcol[data-variation='1']")


def test_claude_code_follow_up_from_the_page(
    new_page: Any, kept_server: ServerProcess, web_repo: Path
) -> None:
    # Turn 2 of `fix-then-midrange` edits only when its request holds turn 1's messages.
    body = {
        "repo_url": str(web_repo),
        "prompt": "Fix the failing test.",
        "variations": [{"model": "scripted/fix-then-midrange"}],
        "check_command": "python3 -m unittest -q",
    }
    run_id = httpx.post(f"{kept_server.url}/api/v1/runs", json=body).json()["run_id"]
    assert wait_run(kept_server.url, run_id, timeout=240)["status"] == "succeeded"
    page = new_page()
    page.goto(f"{kept_server.url}/#/runs/{run_id}")
    box = ".vcol[data-variation='0'] .vcol-continue"
    page.wait_for_selector(".run-head .conn[data-state='ended']")
    page.wait_for_selector(f"{box}[data-mode='open']")
    page.fill(f"{box} textarea", "Also add midrange().")
    page.click(f"{box} button[type=submit]")
    separator = page.wait_for_selector(".turn-sep[data-turn='2']")
    assert separator.inner_text() == "Turn 2: Also add midrange()."
    # The turn's Edit comes after the separator, in the same column, without a reload.
    edit = page.wait_for_selector(
        ".turn-sep[data-turn='2'] ~ details.l-tool:has(.tool-name:text-is('Edit'))",
        timeout=120_000,
    )
    assert "numstats/summary.py" in edit.inner_text()
    page.wait_for_selector(f"{box}[data-mode='open']", timeout=120_000)
    assert page.locator(".vcol[data-variation='0'] .chip.pass").inner_text() == "✓ check passed"
    diff = httpx.get(f"{kept_server.url}/api/v1/runs/{run_id}/variations/0/diff").text
    assert "+def midrange(values):" in diff
    events = full_replay(kept_server.url, run_id, completes=2)
    shown = column_sequence(page, 0)
    assert [i for i in shown if i != "turn 2"] == [str(i) for i in shown_line_ids(events, 0)]
