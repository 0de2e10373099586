"""The decision at a glance: outcome headlines, passed k/N, the suggested pick, the no-check
warning, unranked setup failures, side-by-side compare with keys, cancel confirmation,
"Run again", accessibility (axe-core), the dark theme and offline Swagger UI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_process import ServerProcess
from tests.web.axe import axe_source, severe_violations
from tests.web.browser import wait_run

pytestmark = pytest.mark.e2e

SCENARIOS = ["scripted/fix-correct", "scripted/fix-bad", "scripted/no-change"]
CHECK = "python3 -m unittest -q"


def _run(server: ServerProcess, **body: Any) -> str:
    res = httpx.post(f"{server.url}/api/v1/runs", json={"prompt": "Fix the failing test.", **body})
    assert res.status_code == 202, res.text
    run_id: str = res.json()["run_id"]
    return run_id


@pytest.fixture(scope="module")
def checked_run(web_server: ServerProcess, web_repo: Path) -> str:
    """One finished run: fix-correct passes its check, fix-bad and no-change fail it."""
    variations = [{"model": m} for m in SCENARIOS]
    run_id = _run(web_server, repo_url=str(web_repo), variations=variations, check_command=CHECK)
    wait_run(web_server.url, run_id, timeout=240)
    return run_id


def _open(page: Any, server: ServerProcess, run_id: str) -> None:
    page.goto(f"{server.url}/#/runs/{run_id}")
    page.wait_for_selector(".run-head .conn[data-state='ended']", timeout=120_000)


def _headline(page: Any, vid: int) -> str:
    text: str = page.locator(f".vcol[data-variation='{vid}'] .badge.outcome").inner_text()
    return text


def test_outcome_headlines_suggested_pick_and_passed_count(
    page: Any, web_server: ServerProcess, checked_run: str
) -> None:
    _open(page, web_server, checked_run)
    headlines = [_headline(page, i) for i in range(3)]
    assert headlines == ["Check passed", "Check failed", "Check failed"]
    # The agent's exit is the secondary line, not the headline.
    assert "agent exited 0" in page.locator(".vcol[data-variation='1'] .vcol-status").inner_text()
    assert page.locator(".vcol[data-variation='0'] .badge.suggested").is_visible()
    assert not page.locator(".vcol[data-variation='1'] .badge.suggested").is_visible()
    assert page.locator(".no-check").count() == 0

    page.goto(f"{web_server.url}/#/")
    row = page.locator(f".runs tbody tr[data-run-id='{checked_run}']")
    assert row.locator(".outcome-cell").inner_text() == "1/3 passed"


def test_side_by_side_compare_above_the_fold_with_keys(
    page: Any, web_server: ServerProcess, checked_run: str
) -> None:
    _open(page, web_server, checked_run)
    page.click(".vcol[data-variation='0'] [data-action=diff]")
    pair = page.locator(".compare .pair-file[data-path='numstats/summary.py']")
    pair.wait_for()
    # Both variations' changes to the file, next to each other, within a 1440x900 screen.
    sides = pair.locator(".pair-sides > .diff-file")
    assert sides.count() == 2
    boxes = [sides.nth(i).bounding_box() for i in range(2)]
    assert all(b is not None and b["y"] < 900 for b in boxes), boxes
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] + 1  # left of each other
    assert page.locator(".compare .pair-list tr[data-relation='different']").count() == 1
    assert page.locator(".compare .tab.on").get_attribute("data-variation") == "0"

    page.keyboard.press("j")
    assert page.locator(".compare .tab.on").get_attribute("data-variation") == "1"
    page.keyboard.press("k")
    assert page.locator(".compare .tab.on").get_attribute("data-variation") == "0"
    before = page.locator(".compare select.against").input_value()
    page.keyboard.press("a")
    assert page.locator(".compare select.against").input_value() != before
    page.keyboard.press("w")
    page.wait_for_selector(".vcol[data-variation='0'].is-winner", state="attached")
    run = httpx.get(f"{web_server.url}/api/v1/runs/{checked_run}").json()
    assert run["winning_variation_id"] == 0 and run["winner_selected_by"] == "user"
    # A recorded winner replaces the suggestion.
    page.keyboard.press("Escape")
    assert page.locator(".vcol[data-variation='0'] .badge.winner").is_visible()
    assert not page.locator(".vcol[data-variation='0'] .badge.suggested").is_visible()


def test_compare_shows_the_diff_between_two_variations(
    page: Any, web_server: ServerProcess, checked_run: str
) -> None:
    base = f"{web_server.url}/api/v1/runs/{checked_run}/variations"
    mine, theirs = (httpx.get(f"{base}/{n}/diff").text for n in (0, 1))
    added = {line[1:] for line in theirs.splitlines() if line.startswith("+")}
    only_mine = next(
        line[1:]
        for line in mine.splitlines()
        if line.startswith("+") and not line.startswith("+++") and line[1:].strip()
        and line[1:] not in added
    )  # fmt: skip
    _open(page, web_server, checked_run)
    page.click(".vcol[data-variation='0'] [data-action=diff]")
    page.locator(".compare select.against").select_option("1")
    page.locator(".compare .pair-list").wait_for()
    toggle = page.locator(".compare .between-toggle")
    toggle.click()
    between = page.locator(".compare .interdiff")
    between.wait_for()
    assert toggle.get_attribute("aria-pressed") == "true"
    assert "From #1's files to #0's" in between.locator(".interdiff-note").inner_text()
    assert only_mine.strip() in between.inner_text()
    assert page.locator(".compare .pair-list").count() == 0
    toggle.click()
    page.locator(".compare .pair-list").wait_for()


def test_without_a_check_the_page_says_what_ranks(
    page: Any, web_server: ServerProcess, web_repo: Path
) -> None:
    run_id = _run(
        web_server,
        repo_url=str(web_repo),
        variations=[{"agent": "command", "command": ["sh", "-c", "echo x > f"]}],
    )
    wait_run(web_server.url, run_id)
    _open(page, web_server, run_id)
    warning = page.locator(".run-head .no-check")
    assert "ranking is by diff, cost and time only" in warning.inner_text()
    assert _headline(page, 0) == "Not checked"
    assert "looks like it runs python3 -m unittest -q" in warning.inner_text()
    warning.locator("a:text-is('Run again with this check')").click()
    page.wait_for_function("() => (document.querySelector('[name=prompt]')?.value ?? '') !== ''")
    assert page.locator("[name=check_command]").input_value() == CHECK
    assert page.locator("[name=prompt]").input_value() == "Fix the failing test."

    page.goto(f"{web_server.url}/#/")
    note = page.locator(".run-form .no-check")
    assert note.is_visible() and page.locator("[name=check_command]").input_value() == ""
    page.click(".run-form .chip-button:text-is('python3 -m unittest -q')")
    assert page.locator("[name=check_command]").input_value() == CHECK
    assert not note.is_visible()
    row = page.locator(f".runs tbody tr[data-run-id='{run_id}']")
    assert row.locator(".outcome-cell").inner_text() == "1 · no check"


def test_a_clone_failure_is_unranked_and_names_its_cause(
    page: Any, web_server: ServerProcess, web_repo: Path
) -> None:
    run_id = _run(
        web_server,
        repo_url=str(web_repo),
        ref="no-such-branch",
        variations=[{"model": m} for m in SCENARIOS[:2]],
        check_command=CHECK,
    )
    wait_run(web_server.url, run_id)
    _open(page, web_server, run_id)
    for vid in range(2):
        column = page.locator(f".vcol[data-variation='{vid}']")
        assert column.locator(".badge.outcome").inner_text() == "Error"
        assert "no-such-branch" in column.locator(".cause").inner_text()
        assert "not ranked" in column.locator(".vcol-summary").inner_text()
        assert "score" not in column.locator(".vcol-summary").inner_text()
        assert not column.locator("[data-action=diff]").is_visible()
    assert "no-such-branch" in page.locator(".run-head .form-error").inner_text()


def test_cancel_asks_first_and_run_again_prefills(
    page: Any, web_server: ServerProcess, web_repo: Path
) -> None:
    run_id = _run(
        web_server,
        repo_url=str(web_repo),
        variations=[{"agent": "command", "command": ["sh", "-c", "echo go; sleep 60"]}],
        check_command="true",
        budget_usd=1.5,
    )
    page.goto(f"{web_server.url}/#/runs/{run_id}")
    page.wait_for_selector(".vcol .lines > .l-log >> text=go", timeout=60_000)
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click(".run-head button.danger")
    page.wait_for_timeout(500)
    assert asked and "Cancel run" in asked[0]
    assert httpx.get(f"{web_server.url}/api/v1/runs/{run_id}").json()["status"] == "running"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(".run-head button.danger")
    page.wait_for_selector(".run-head .badge[data-status='cancelled']", timeout=60_000)

    page.click(".run-head a:text('Run again')")
    page.wait_for_function("() => (document.querySelector('[name=repo_url]')?.value ?? '') !== ''")
    assert page.locator("[name=repo_url]").input_value() == str(web_repo)
    assert page.locator("[name=prompt]").input_value() == "Fix the failing test."
    assert page.locator("[name=check_command]").input_value() == "true"
    assert page.locator("[name=budget_usd]").input_value() == "1.5"
    assert page.locator("input.count").input_value() == "1"


def test_no_serious_accessibility_violations(
    new_page: Any, web_server: ServerProcess, checked_run: str
) -> None:
    source = axe_source()
    found: dict[str, Any] = {}
    for scheme in ("light", "dark"):
        page = new_page()
        page.emulate_media(color_scheme=scheme)
        page.goto(f"{web_server.url}/#/")
        page.wait_for_selector(".runs tbody tr")
        found[f"home/{scheme}"] = severe_violations(page, source)
        _open(page, web_server, checked_run)
        found[f"run/{scheme}"] = severe_violations(page, source)
        page.click(".vcol[data-variation='1'] [data-action=diff]")
        page.wait_for_selector(".compare .diff-file")
        found[f"compare/{scheme}"] = severe_violations(page, source)
    assert all(not v for v in found.values()), json.dumps(found, indent=1)
    # The count input has an accessible name; the dark theme follows the system setting.
    assert page.locator("input[aria-label='Number of variations']").count() == 0  # run view
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(13, 17, 23)"


def test_swagger_ui_is_served_from_the_package(page: Any, web_server: ServerProcess) -> None:
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        url = route.request.url
        if url.startswith(web_server.url):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(f"{web_server.url}/docs")
    page.wait_for_selector(".opblock", timeout=60_000)
    assert page.locator(".opblock-summary-path", has_text="/api/v1/runs").count() >= 1
    assert outside == []
