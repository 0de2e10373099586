"""The run page reconnects by itself after the server goes away and resumes from its last
event id, without a reload and without showing a line twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_process import ServerProcess
from tests.web.browser import replay, require_chromium, shown_line_ids

pytestmark = pytest.mark.e2e

SLOW = "for i in $(seq 1 200); do echo line $i; sleep 0.05; done"


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    require_chromium()
    server = ServerProcess(tmp_path / "server").start()
    try:
        yield server
    finally:
        server.stop()


def test_reconnects_and_resumes_after_server_restart(
    page: Any, own_server: ServerProcess, web_repo: Path
) -> None:
    spec = {"agent": "command", "command": ["sh", "-c", SLOW]}
    body = {"repo_url": str(web_repo), "prompt": "slow", "variations": [spec, spec]}
    run_id = httpx.post(f"{own_server.url}/api/v1/runs", json=body).json()["run_id"]
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/stream" in r.url else None)
    page.goto(f"{own_server.url}/#/runs/{run_id}")
    page.wait_for_selector(".vcol[data-variation='1'] .lines > .l-log >> nth=4")
    page.evaluate("window.__samePage = true")

    own_server.kill()
    page.wait_for_selector(".run-head .conn[data-state='reconnecting']")
    restarted = ServerProcess(own_server.data_dir, port=own_server.port).start()
    try:
        page.wait_for_selector(".run-head .badge[data-status='interrupted']", timeout=60_000)
        events = replay(restarted.url, run_id)
        for i in range(2):
            column = f".vcol[data-variation='{i}']"
            expected = shown_line_ids(events, i)
            page.wait_for_selector(f"{column}[data-lines='{len(expected)}']")
            shown = [
                int(x)
                for x in page.eval_on_selector_all(
                    f"{column} .lines > .line", "els => els.map(e => e.dataset.id)"
                )
            ]
            assert shown == expected, f"column {i}: lines lost or shown twice"
            assert page.get_attribute(column, "data-status") == "interrupted"
    finally:
        restarted.stop()
    assert page.evaluate("window.__samePage") is True, "the page was reloaded"
    cursors = [int(m.group(1)) for u in streams if (m := re.search(r"last_event_id=(\d+)", u))]
    assert cursors and cursors[0] > 0, f"no resume from the last event id: {streams}"
