"""5 variations x 2,000 lines: the DOM stays capped, clicks are handled mid-stream, and the
full log is still downloadable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_process import ServerProcess
from tests.web.browser import replay, shown_line_ids

pytestmark = pytest.mark.e2e

VARIATIONS = 5
LINES = 2000
DOM_CAP = 500  # app/static/js/variation_column.js
# `seq 0 1999`, paced (20 s in all) so the page is still receiving lines when the test
# scrolls and clicks, even on a busy machine.
COMMAND = f"seq 0 {LINES - 1} | while read i; do echo $i; [ $((i % 100)) -eq 99 ] && sleep 1; done"
LONGEST_TASK = """
window.__longestTask = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    window.__longestTask = Math.max(window.__longestTask, e.duration);
  }
}).observe({ type: "longtask", buffered: true });
"""


BELOW_VIEW = "e => e.scrollHeight - e.scrollTop - e.clientHeight"


def test_many_lines_stay_responsive(page: Any, web_server: ServerProcess, web_repo: Path) -> None:
    spec = {"agent": "command", "command": ["sh", "-c", COMMAND]}
    body = {"repo_url": str(web_repo), "prompt": "count", "variations": [spec] * VARIATIONS}
    response = httpx.post(f"{web_server.url}/api/v1/runs", json=body)
    assert response.status_code == 202, response.text
    run_id = response.json()["run_id"]
    page.add_init_script(LONGEST_TASK)
    page.goto(f"{web_server.url}/#/runs/{run_id}")

    page.wait_for_function(
        "n => [...document.querySelectorAll('.vcol')].every(c => +c.dataset.lines > 0)"
        " && document.querySelectorAll('.vcol').length == n",
        arg=VARIATIONS,
    )

    # Scrolling up stops the auto-scroll while lines keep coming; "Latest" resumes it.
    first = ".vcol[data-variation='0']"
    log = f"{first} .vcol-log"
    page.hover(log)
    page.mouse.wheel(0, -5_000)
    page.wait_for_selector(f"{first} .jump", state="visible")
    seen = int(page.get_attribute(first, "data-lines"))
    page.wait_for_function(
        "n => +document.querySelector(\".vcol[data-variation='0']\").dataset.lines > n + 100",
        arg=seen,
    )
    assert page.eval_on_selector(log, BELOW_VIEW) > 200, "the column scrolled by itself"

    # Clicks are handled while lines still arrive (Compare takes the columns' place).
    tab = ".compare .tab[data-variation='3']"
    page.click(".view-switch [data-view=compare]")
    page.click(tab)
    page.wait_for_selector(f"{tab}[aria-selected='true']", timeout=5_000)
    at_click = page.eval_on_selector_all(".vcol", "els => els.map(e => +e.dataset.lines)")
    assert page.evaluate("1 + 1") == 2
    page.click(".view-switch [data-view=columns]")
    page.click(f"{first} .jump")

    page.wait_for_selector(".run-head .badge[data-status='succeeded']", timeout=120_000)
    events = replay(web_server.url, run_id)
    finals = []
    for i in range(VARIATIONS):
        column = f".vcol[data-variation='{i}']"
        expected = len(shown_line_ids(events, i))
        page.wait_for_selector(f"{column}[data-lines='{expected}']")
        finals.append(expected)
        assert expected > LINES
        assert page.locator(f"{column} .lines > .line").count() == DOM_CAP
        note = page.locator(f"{column} .hidden-note").inner_text()
        assert f"{expected - DOM_CAP:,} earlier lines not shown" in note
        assert (
            page.locator(f"{column} .lines > .line").last.get_attribute("class") == "line l-final"
        )
        assert page.eval_on_selector(f"{column} .vcol-log", BELOW_VIEW) < 48, "not at the end"
    assert min(a - f for a, f in zip(at_click, finals, strict=True)) < 0, (
        "the click was handled only after every line had arrived"
    )
    assert page.evaluate("window.__longestTask") < 2_000

    with page.expect_download() as download:
        page.click(".vcol[data-variation='4'] [data-action=download]")
    text = Path(download.value.path()).read_text()
    numbers = [int(m) for m in re.findall(r"^\s*\d+ log\s+(\d+)$", text, re.MULTILINE)]
    assert numbers == list(range(LINES))
