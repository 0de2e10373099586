"""Shared parts of the browser tests: Debian's chromium via Playwright, stream replays."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SAMPLE_REPO, make_git_repo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TERMINAL = ("succeeded", "failed", "cancelled", "interrupted")


def require_chromium() -> None:
    """Skip, saying why, when the system chromium is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need chromium at {CHROMIUM} (apt-get install chromium)")


def launch(playwright: Any) -> Any:
    """Chromium from the system package (Playwright never downloads a browser here)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def sample_repo_at(root: Path) -> Path:
    """A git copy of examples/sample-repo at `root`."""
    files = {
        str(p.relative_to(SAMPLE_REPO)): p.read_text()
        for p in SAMPLE_REPO.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    return make_git_repo(root, files)


def replay(base_url: str, run_id: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Every event of a finished run, read from the SSE stream up to `complete`."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    url = f"{base_url}/api/v1/runs/{run_id}/stream"
    with httpx.stream("GET", url, timeout=timeout) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line == "":
                if "data" in current:
                    events.append(current)
                    if current["event"] == "complete":
                        break
                current = {}
            elif line.startswith("id:"):
                current["id"] = int(line[3:].strip())
            elif line.startswith("event:"):
                current["event"] = line[6:].strip()
            elif line.startswith("data:"):
                current["data"] = json.loads(line[5:].strip())
    return events


def shown_line_ids(events: list[dict[str, Any]], variation_id: int) -> list[int]:
    """Ids of the agent lines a column shows (every agent_output but `usage` and the
    unrecognized-model warning about a scripted model)."""
    return [
        e["id"]
        for e in events
        if e["event"] == "agent_output"
        and e["data"]["variation_id"] == variation_id
        and e["data"]["type"] != "usage"
        and not _scripted_model_warning(e["data"])
    ]


def _scripted_model_warning(data: dict[str, Any]) -> bool:
    text = str(data.get("text") or "")
    return (
        data["type"] == "log"
        and text.startswith("[claude-code:unrecognized_model]")
        and '"scripted/' in text
    )


def wait_run(base_url: str, run_id: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll the API until the run has finished; return it."""
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = httpx.get(f"{base_url}/api/v1/runs/{run_id}").json()
        if run["status"] in TERMINAL:
            return run
        assert time.monotonic() < deadline, f"run still {run['status']}"
        time.sleep(0.1)
