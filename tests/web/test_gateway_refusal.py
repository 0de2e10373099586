"""A request the LLM gateway refused shows in the variation's column, in red, naming the rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_process import ServerProcess

pytestmark = pytest.mark.e2e

LIST_FILES = (
    "import os, urllib.request, urllib.error\n"
    "request = urllib.request.Request(os.environ['ANTHROPIC_BASE_URL'] + '/v1/files',\n"
    "    headers={'x-api-key': os.environ['ANTHROPIC_API_KEY']})\n"
    "try:\n"
    "    urllib.request.urlopen(request, timeout=20)\n"
    "except urllib.error.HTTPError as error:\n"
    "    print('files', error.code)\n"
)


def test_gateway_refusal_is_a_red_line(
    page: Any, web_server: ServerProcess, web_repo: Path
) -> None:
    body = {
        "repo_url": str(web_repo),
        "prompt": "list the files",
        "variations": [{"agent": "command", "command": ["python3", "-c", LIST_FILES]}],
    }
    run_id = httpx.post(f"{web_server.url}/api/v1/runs", json=body).json()["run_id"]
    page.goto(f"{web_server.url}/#/runs/{run_id}")
    page.wait_for_selector(".run-head .badge[data-status='succeeded']", timeout=60_000)
    refused = page.locator(".vcol .lines > .l-error", has_text="gateway refused")
    assert refused.count() == 1
    assert "GET /v1/files is not allowed" in refused.inner_text()
    assert refused.locator(".error-code").text_content() == "endpoint"
    assert refused.evaluate("e => getComputedStyle(e).color") == "rgb(207, 34, 46)"
    assert page.locator(".vcol .lines > .l-log", has_text="files 403").count() == 1
