"""The run page shows the judge's verdict and rationale beside each variation's column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_process import ServerProcess

pytestmark = pytest.mark.e2e


def _command(script: str) -> dict[str, Any]:
    return {"agent": "command", "command": ["sh", "-c", script]}


def test_each_column_shows_its_verdict_and_rationale(
    page: Any, web_server: ServerProcess, web_repo: Path
) -> None:
    body = {
        "repo_url": str(web_repo),
        "prompt": "judge these",
        "variations": [_command(f"echo {n} > judged.txt") for n in range(3)],
        "check_command": "test -f judged.txt",
        "judge": {"model": "scripted/judge"},
    }
    res = httpx.post(f"{web_server.url}/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    run_id = res.json()["run_id"]
    page.goto(f"{web_server.url}/#/runs/{run_id}")
    page.wait_for_function(
        "() => document.querySelectorAll('.vcol [data-role=verdict]').length === 3",
        timeout=90_000,
    )
    run = httpx.get(f"{web_server.url}/api/v1/runs/{run_id}").json()
    assert run["judge"]["status"] == "ok", run["judge"]
    for v in run["variations"]:
        said = v["judge"]
        column = page.locator(f'section.vcol[data-variation="{v["variation_id"]}"]')
        badge = column.locator("[data-role=verdict]")
        assert badge.inner_text() == f"judge: {said['verdict']} · #{said['rank']}"
        assert f"verdict-{said['verdict']}" in (badge.get_attribute("class") or "")
        rationale = column.locator("[data-role=rationale]")
        assert rationale.inner_text() == said["rationale"]
        assert rationale.is_visible()
    # The scripted judge's fixed rule puts the highest id first.
    first = page.locator('section.vcol[data-variation="2"] [data-role=verdict]')
    assert first.inner_text() == "judge: strong · #1"


def test_the_second_judge_call_after_synthesis_replaces_the_badges(
    page: Any, web_server: ServerProcess, web_repo: Path
) -> None:
    """With synthesis the judge answers twice; the page ends with the second answer's badges."""
    body = {
        "repo_url": str(web_repo),
        "prompt": "Fix the failing test.",
        "variations": [_command("echo one >> notes.txt"), _command("echo two >> notes.txt")],
        "check_command": "python3 -m unittest -q",
        "judge": {"model": "scripted/judge"},
        "synthesize": {"model": "scripted/synthesize-median", "top": 2},
    }
    res = httpx.post(f"{web_server.url}/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    run_id = res.json()["run_id"]
    page.goto(f"{web_server.url}/#/runs/{run_id}")
    # The first call ranked 0 and 1 (1 first); the second ranks the synthesized 2 first.
    synth_badge = page.locator('section.vcol[data-variation="2"] [data-role=verdict]')
    synth_badge.wait_for(timeout=180_000)
    run = httpx.get(f"{web_server.url}/api/v1/runs/{run_id}").json()
    assert run["judge"]["calls"] == 2, run["judge"]
    assert synth_badge.inner_text() == "judge: strong · #1"
    for vid, text in ((1, "judge: acceptable · #2"), (0, "judge: weak · #3")):
        badge = page.locator(f'section.vcol[data-variation="{vid}"] [data-role=verdict]')
        assert badge.inner_text() == text
