"""The run page shows the setup command's output in a Setup box above the columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_process import ServerProcess

pytestmark = pytest.mark.e2e


def test_setup_lines_appear_above_the_columns(
    page: Any, web_server: ServerProcess, web_repo: Path
) -> None:
    body = {
        "repo_url": str(web_repo),
        "prompt": "p",
        "variations": [{"agent": "command", "command": ["sh", "-c", "echo agent-line"]}],
        "setup_command": "echo '<b>setup-line</b>'",
    }
    res = httpx.post(f"{web_server.url}/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    page.goto(f"{web_server.url}/#/runs/{res.json()['run_id']}")
    box = page.locator("details.setup-log pre.setup-lines")
    page.wait_for_function(
        "() => document.querySelector('pre.setup-lines')?.textContent.includes('setup: done')",
        timeout=60_000,
    )
    text = box.inner_text()
    assert text.splitlines()[:2] == ["setup: echo '<b>setup-line</b>'", "<b>setup-line</b>"]
    assert page.locator("pre.setup-lines b").count() == 0  # text, never markup
    # The box sits between the header and the columns.
    order = page.eval_on_selector_all(
        ".run-page > *", "els => els.map(e => e.className.split(' ').pop())"
    )
    assert order.index("setup-log") < order.index("columns"), order
