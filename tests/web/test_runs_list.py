"""The runs list: newest first, winner and cost shown, cursor paging with "Load more"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_process import ServerProcess
from tests.web.browser import wait_run

pytestmark = pytest.mark.e2e

PAGE = 20  # app/static/js/runs_list.js
QUICK = {"agent": "command", "command": ["true"]}


def test_newest_first_with_cursor_paging(
    page: Any, web_server: ServerProcess, web_repo: Path
) -> None:
    created = []
    for n in range(PAGE + 2):
        body = {"repo_url": str(web_repo), "prompt": f"list run {n}", "variations": [QUICK]}
        created.append(httpx.post(f"{web_server.url}/api/v1/runs", json=body).json()["run_id"])
    for run_id in created:
        wait_run(web_server.url, run_id)
    newest = created[-1]
    res = httpx.post(
        f"{web_server.url}/api/v1/runs/{newest}/select", json={"winning_variation_id": 0}
    )
    assert res.status_code == 200, res.text

    page.goto(f"{web_server.url}/#/")
    rows = page.locator(".runs tbody tr")
    rows.nth(PAGE - 1).wait_for()
    assert rows.count() == PAGE
    ids = page.eval_on_selector_all(".runs tbody tr", "rs => rs.map(r => r.dataset.runId)")
    assert ids == created[::-1][:PAGE]
    first = rows.first
    assert first.locator(".prompt").inner_text() == f"list run {PAGE + 1}"
    assert first.locator(".winner-chip").inner_text() == "#0"
    assert first.locator(".badge").get_attribute("data-status") == "succeeded"
    assert first.locator("td.num").last.inner_text() == "$0.0000"

    page.click(".runs-list button:text('Load more')")
    rows.nth(PAGE + 1).wait_for()
    ids = page.eval_on_selector_all(".runs tbody tr", "rs => rs.map(r => r.dataset.runId)")
    assert ids[: PAGE + 2] == created[::-1]
    assert len(ids) == len(set(ids))

    page.click(f".runs tbody tr[data-run-id='{newest}'] a.prompt")
    page.wait_for_url(f"**/#/runs/{newest}")
    page.wait_for_selector(".run-head .winner-line[data-variation='0']")
