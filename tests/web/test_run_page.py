"""The whole loop in a browser: form -> three live columns -> reload mid-run -> diff -> winner."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_process import ServerProcess
from tests.web.browser import replay, shown_line_ids

pytestmark = pytest.mark.e2e

SCENARIOS = ["scripted/fix-correct", "scripted/fix-bad", "scripted/no-change"]
REASON = "The only one whose check passes"


def line_ids(page: Any, variation_id: int) -> list[int]:
    """The event ids of the lines a column has in the DOM, in order."""
    ids: list[str] = page.eval_on_selector_all(
        f".vcol[data-variation='{variation_id}'] .lines > .line",
        "els => els.map(e => e.dataset.id)",
    )
    return [int(i) for i in ids]


def start_run_through_form(page: Any, server: ServerProcess, repo: Path) -> str:
    page.goto(f"{server.url}/#/")
    page.fill("[name=repo_url]", str(repo))
    page.fill("[name=prompt]", "Fix the failing test.")
    page.fill("[name=check_command]", "python3 -m unittest -q")
    page.fill("input.count", "3")
    for i, model in enumerate(SCENARIOS):
        page.fill(f"[name='variations.{i}.model']", model)
    page.click("form.run-form button[type=submit]")
    page.wait_for_url(re.compile(r"#/runs/[0-9a-f-]+$"))
    return page.url.rsplit("/", 1)[-1]


def test_form_run_reload_diff_and_winner(
    new_page: Any, web_server: ServerProcess, web_repo: Path
) -> None:
    page = new_page()
    run_id = start_run_through_form(page, web_server, web_repo)
    assert page.locator(".banner.warn").inner_text().startswith("Scripted model, not Claude")

    # Three columns fill live: each shows the model's own words before the run ends.
    for i in range(3):
        page.wait_for_selector(f".vcol[data-variation='{i}'] .lines > .l-text")
    status = httpx.get(f"{web_server.url}/api/v1/runs/{run_id}").json()["status"]
    assert status == "running", "the reload below must happen mid-run"

    page.reload()
    page.wait_for_selector(".run-head .badge[data-status='succeeded']", timeout=120_000)
    events = replay(web_server.url, run_id)
    for i in range(3):
        column = f".vcol[data-variation='{i}']"
        page.wait_for_selector(f"{column} .lines > .l-final")
        shown = line_ids(page, i)
        assert len(shown) == len(set(shown)), f"column {i} shows a line twice"
        assert shown == shown_line_ids(events, i), f"column {i} differs from the stream"
        assert page.get_attribute(column, "data-status") == "succeeded"
    assert page.locator(".vcol[data-variation='0'] .chip.pass").inner_text() == "✓ check passed"

    # A tool call is one line that expands to its input.
    edit = page.locator(".vcol[data-variation='0'] details.l-tool", has_text="Edit").first
    assert edit.locator("summary").inner_text().split() == ["Edit", "numstats/summary.py"]
    assert not edit.locator(".line-body").is_visible()
    edit.locator("summary").click()
    assert '"old_string"' in edit.locator(".line-body").inner_text()

    # A second page stays open on the finished run: the winner must reach it live.
    watcher = new_page()
    watcher.goto(page.url)
    watcher.wait_for_selector(".run-head .conn[data-state='ended']")

    page.click(".vcol[data-variation='0'] [data-action=diff]")
    page.wait_for_selector(".compare .pair-file")  # beside the next best one by default
    page.select_option(".compare select.against", "")  # this variation's diff alone
    diff_file = page.wait_for_selector(".compare .diff-file[data-path='numstats/summary.py']")
    added = diff_file.query_selector_all("tr.d-add td.code")
    removed = diff_file.query_selector_all("tr.d-del td.code")
    assert [r.inner_text() for r in added] == [
        "+    return (ordered[middle - 1] + ordered[middle]) / 2"
    ]
    assert len(removed) == 1 and "ordered[middle + 1]" in removed[0].inner_text()
    green = page.eval_on_selector(
        ".diff-table tr.d-add td.code", "e => getComputedStyle(e).backgroundColor"
    )
    red = page.eval_on_selector(
        ".diff-table tr.d-del td.code", "e => getComputedStyle(e).backgroundColor"
    )
    assert green == "rgb(230, 255, 236)" and red == "rgb(255, 235, 233)"
    assert page.locator(".file-list td.plus").all_inner_texts() == ["+1"]
    assert "Ran 6 tests" in page.locator(".compare .output-tail").inner_text()
    assert page.locator(".compare .score-value").inner_text() == "3"

    page.fill(".pick-block textarea", REASON)
    page.click(".pick-block button")
    for p in (page, watcher):
        # (the columns are hidden while Compare is shown on `page`)
        p.wait_for_selector(".vcol[data-variation='0'].is-winner", state="attached")
        p.wait_for_selector(".run-head .winner-line[data-variation='0']")
        assert REASON in p.locator(".run-head .winner-line").inner_text()
    assert watcher.locator(".vcol.is-winner").count() == 1

    run = httpx.get(f"{web_server.url}/api/v1/runs/{run_id}").json()
    assert run["winning_variation_id"] == 0
    assert run["winner_selected_by"] == "user"
    assert run["winner_reason"] == REASON


def test_agent_output_is_text_never_markup(
    page: Any, web_server: ServerProcess, web_repo: Path
) -> None:
    hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'
    body = {
        "repo_url": str(web_repo),
        "prompt": "print hostile output",
        "variations": [{"agent": "command", "command": ["printf", "%s\\n", hostile]}],
    }
    run_id = httpx.post(f"{web_server.url}/api/v1/runs", json=body).json()["run_id"]
    page.goto(f"{web_server.url}/#/runs/{run_id}")
    page.wait_for_selector(".run-head .badge[data-status='succeeded']", timeout=60_000)
    log = page.locator(".vcol .lines > .l-log", has_text="onerror")
    assert log.inner_text() == hostile
    assert page.locator(".vcol .lines img, .vcol .lines script, .vcol .lines b").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_errors_show_in_red(page: Any, web_server: ServerProcess, web_repo: Path) -> None:
    body = {
        "repo_url": str(web_repo),
        "prompt": "Fix the failing test.",
        "variations": [{"model": "scripted/fix-correct"}],
        "budget_usd": 0.000001,
    }
    run_id = httpx.post(f"{web_server.url}/api/v1/runs", json=body).json()["run_id"]
    page.goto(f"{web_server.url}/#/runs/{run_id}")
    error = page.locator(".vcol .lines > .l-error").first
    error.wait_for(timeout=60_000)
    assert "budget" in error.inner_text().lower()
    assert error.evaluate("e => getComputedStyle(e).color") == "rgb(207, 34, 46)"
