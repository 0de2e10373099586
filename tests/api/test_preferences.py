"""best_score at run end, a user's override, and GET /api/v1/preferences over real runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import wait_finished

PREFS = "/api/v1/preferences"


def _records(res: httpx.Response) -> list[dict[str, Any]]:
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in res.text.splitlines()]


async def test_policy_winner_user_override_and_export(
    client: httpx.AsyncClient, sample_repo: Path
) -> None:
    body = {
        "repo_url": str(sample_repo),
        "prompt": "Fix the failing median test.",
        "variations": [
            {"model": "scripted/fix-bad"},
            {"model": "scripted/fix-correct"},
            {"model": "scripted/no-change"},
        ],
        "check_command": "python3 -m unittest -q",
        "winner_policy": "best_score",
    }
    res = await client.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    run_id = res.json()["run_id"]
    run = await wait_finished(client, run_id, timeout=120)
    # The policy picks the correct fix even though it is not listed first.
    assert (run["winning_variation_id"], run["winner_selected_by"]) == (1, "policy")
    by_policy = _records(await client.get(PREFS))
    assert [(r["chosen"]["variation_id"], r["rejected"]["variation_id"]) for r in by_policy] == [
        (1, 0),
        (1, 2),
    ]
    assert {r["selected_by"] for r in by_policy} == {"policy"}

    res = await client.post(
        f"/api/v1/runs/{run_id}/select",
        json={"winning_variation_id": 0, "reason": "smaller change"},
    )
    assert res.status_code == 200, res.text
    again = (await client.get(f"/api/v1/runs/{run_id}")).json()
    assert (again["winning_variation_id"], again["winner_selected_by"]) == (0, "user")
    assert again["winner_reason"] == "smaller change"

    records = _records(await client.get(PREFS))
    pairs = [(r["chosen"]["variation_id"], r["rejected"]["variation_id"]) for r in records]
    assert pairs == [(0, 1), (0, 2)]
    for r in records:
        assert r["run_id"] == run_id and r["prompt"] == "Fix the failing median test."
        assert r["base_sha"] == run["base_sha"] and r["repo_url"] == str(sample_repo)
        assert (r["selected_by"], r["reason"]) == ("user", "smaller change")
        assert r["chosen"]["spec"]["model"] == "scripted/fix-bad"
        assert r["chosen"]["check_passed"] is False
        assert r["chosen"]["score_parts"]["rank"] == 2
    assert records[0]["rejected"]["spec"]["model"] == "scripted/fix-correct"
    assert records[0]["rejected"]["check_passed"] is True
    assert records[1]["rejected"]["diff_stats"]["files"] == 0
    with_diffs = _records(await client.get(PREFS, params={"include_diffs": "true"}))
    assert "numstats" in with_diffs[0]["rejected"]["diff"]

    # Time filter: the run finished now, so a window in the past is empty.
    past = (datetime.now(UTC) - timedelta(days=1)).replace(tzinfo=None).isoformat()
    assert _records(await client.get(PREFS, params={"until": past})) == []
    assert len(_records(await client.get(PREFS, params={"since": past}))) == 2


async def test_bad_time_window_is_422(client: httpx.AsyncClient) -> None:
    res = await client.get(PREFS, params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01"})
    assert res.status_code == 422
    assert res.json()["error"]["details"]["field"] == "since"
    res = await client.get(PREFS, params={"since": "yesterday"})
    assert res.status_code == 422


async def test_no_runs_no_lines(client: httpx.AsyncClient) -> None:
    assert _records(await client.get(PREFS)) == []


async def test_times_must_be_iso(client: object) -> None:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    for bad in ("0.5", "yesterday", "1700000000"):
        res = await client.get("/api/v1/preferences", params={"until": bad})
        assert res.status_code == 422, bad
        assert res.json()["error"]["details"] == {"field": "until"}
    ok = await client.get("/api/v1/preferences", params={"since": "2026-01-01T00:00:00+00:00"})
    assert ok.status_code == 200
