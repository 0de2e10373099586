"""With API keys configured, the page asks for one, sends it, and streams with a run token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_process import ServerProcess
from tests.web.browser import require_chromium

pytestmark = pytest.mark.e2e
KEY = "web-test-key-4711"


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    require_chromium()
    server = ServerProcess(tmp_path_factory.mktemp("keyed"), api_keys=KEY)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_page_prompts_for_key_and_streams(
    page: Any, keyed_server: ServerProcess, web_repo: Path
) -> None:
    headers = {"X-API-Key": KEY}
    body = {
        "repo_url": str(web_repo),
        "prompt": "p",
        "variations": [{"agent": "command", "command": ["sh", "-c", "echo keyed-line-1"]}],
    }
    res = httpx.post(f"{keyed_server.url}/api/v1/runs", json=body, headers=headers)
    assert res.status_code == 202, res.text
    run_id = res.json()["run_id"]
    prompts: list[str] = []

    def answer(dialog: Any) -> None:
        prompts.append(dialog.message)
        dialog.accept(KEY)

    page.on("dialog", answer)
    page.goto(f"{keyed_server.url}/#/runs/{run_id}")
    line = page.locator(".vcol[data-variation='0'] .lines > .l-log", has_text="keyed-line-1")
    line.wait_for(timeout=30_000)
    assert prompts and "API key" in prompts[0]
    assert len(prompts) == 1, "the key is asked once per tab"
