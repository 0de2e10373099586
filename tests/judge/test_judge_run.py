"""The judge in a run: one call through the gateway to the scripted judge, recorded everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import command_spec, wait_finished
from tests.sse_client import collect

RUNS = "/api/v1/runs"


def _body(git_repo: Path, judge: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "repo_url": str(git_repo),
        "prompt": "make ok",
        "variations": [
            command_spec("echo one > ok"),
            command_spec("echo two > ok; echo more > extra.txt"),
            command_spec("echo three > ok"),
        ],
        "check_command": "test -f ok",
        "winner_policy": "best_score",
        "judge": judge,
        **extra,
    }


async def _run(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    res = await client.post(RUNS, json=body)
    assert res.status_code == 202, res.text
    return await wait_finished(client, res.json()["run_id"], timeout=60)


async def test_scripted_judge_ranks_every_variation(
    store_client: httpx.AsyncClient, git_repo: Path
) -> None:
    client = store_client  # on SQLite and on PostgreSQL
    run = await _run(client, _body(git_repo, {"model": "scripted/judge"}))
    assert run["status"] == "succeeded", run
    judge = run["judge"]
    assert judge["model"] == "scripted/judge" and judge["status"] == "ok", judge
    assert judge["error"] is None and judge["cost_usd"] > 0
    variations = run["variations"]
    assert sum(v["cost_usd"] for v in variations) == 0  # command agents spend nothing
    assert run["cost_usd"] == judge["cost_usd"], "the judge's cost is the run's cost"
    listed = (await client.get(RUNS)).json()["items"]
    assert [r["cost_usd"] for r in listed if r["id"] == run["id"]] == [judge["cost_usd"]]
    said = {v["variation_id"]: v["judge"] for v in variations}
    # The scripted judge's fixed rule: highest variation id first.
    assert {vid: s["rank"] for vid, s in said.items()} == {2: 1, 1: 2, 0: 3}
    assert [said[vid]["verdict"] for vid in (2, 1, 0)] == ["strong", "acceptable", "weak"]
    assert all("Scripted judge" in s["rationale"] for s in said.values())
    # The judge's rank is the score part after the check: all three passed, so it decides.
    assert {v["variation_id"]: v["score_parts"]["judge_rank"] for v in variations} == {
        0: 3,
        1: 2,
        2: 1,
    }
    assert {v["variation_id"]: v["score_parts"]["rank"] for v in variations} == {
        0: 3,
        1: 2,
        2: 1,
    }
    assert run["winning_variation_id"] == 2
    events = await collect(client, f"{RUNS}/{run['id']}/stream")
    judged = [e.json for e in events if e.event == "judge"]
    assert len(judged) == 1 and judged[0]["status"] == "ok"
    assert judged[0]["verdicts"]["2"]["rank"] == 1
    names = [e.event for e in events]
    assert names.index("judge") < max(i for i, n in enumerate(names) if n == "run_status")


async def test_invalid_json_is_recorded_and_the_run_still_succeeds(
    client: httpx.AsyncClient, git_repo: Path
) -> None:
    run = await _run(client, _body(git_repo, {"model": "scripted/judge-invalid-json"}))
    assert run["status"] == "succeeded", run
    judge = run["judge"]
    assert judge["status"] == "failed", judge
    assert "invalid JSON" in judge["error"], judge
    assert judge["cost_usd"] > 0, "a failed answer was still paid for"
    assert run["cost_usd"] == judge["cost_usd"]
    assert all(v["judge"] is None for v in run["variations"])
    assert all("judge_rank" not in v["score_parts"] for v in run["variations"])
    # Without the judge's part the other parts pick (here: time, as all passed at no cost).
    best = next(v for v in run["variations"] if v["score_parts"]["rank"] == 1)
    assert run["winning_variation_id"] == best["variation_id"]
    events = await collect(client, f"{RUNS}/{run['id']}/stream")
    judged = [e.json for e in events if e.event == "judge"]
    assert judged == [
        {
            "model": "scripted/judge-invalid-json",
            "status": "failed",
            "error": judge["error"],
            "cost_usd": judge["cost_usd"],
            "calls": 1,
            "verdicts": {},
        }
    ]


async def test_an_answer_without_the_tool_call_is_a_failed_judge(
    client: httpx.AsyncClient, git_repo: Path
) -> None:
    run = await _run(client, _body(git_repo, {"model": "scripted/judge-no-tool"}))
    assert run["status"] == "succeeded"
    assert run["judge"]["status"] == "failed"
    assert "without calling rank_variations" in run["judge"]["error"]


# A command agent that spends through the gateway (one small request) and then passes.
SPENDER = (
    'python3 -c "import json, os, urllib.request as u; '
    "body = json.dumps({'model': 'claude-haiku-5-5', 'max_tokens': 64, "
    "'messages': [{'role': 'user', 'content': 'hi'}]}).encode(); "
    "headers = {'x-api-key': os.environ['ANTHROPIC_API_KEY'], "
    "'content-type': 'application/json', 'anthropic-version': '2023-06-01'}; "
    "u.urlopen(u.Request(os.environ['ANTHROPIC_BASE_URL'] + '/v1/messages', body, headers)).read()"
    '" && echo spent > ok'
)


async def test_a_spent_budget_skips_the_judge(client: httpx.AsyncClient, git_repo: Path) -> None:
    body = _body(git_repo, {"model": "scripted/judge"}, budget_usd=0.000001)
    body["variations"] = [command_spec(SPENDER)]
    run = await _run(client, body)
    assert run["status"] == "succeeded", run
    spent = run["variations"][0]["cost_usd"]
    assert spent > body["budget_usd"], "the variation spent the whole budget"
    judge = run["judge"]
    assert judge["status"] == "skipped" and judge["error"].startswith("budget"), judge
    assert judge["cost_usd"] == 0 and run["cost_usd"] == spent
    assert run["variations"][0]["judge"] is None


async def test_without_a_judge_nothing_changes(client: httpx.AsyncClient, git_repo: Path) -> None:
    body = _body(git_repo, {"model": "x"})
    del body["judge"]
    run = await _run(client, body)
    assert run["judge"] is None
    assert all(v["judge"] is None for v in run["variations"])
    assert all("judge_rank" not in v["score_parts"] for v in run["variations"])


async def test_the_judge_spec_is_validated(client: httpx.AsyncClient, git_repo: Path) -> None:
    bad = ({}, {"model": ""}, {"model": "a b"}, {"model": "scripted/judge", "extra": 1}, "m")
    for judge in (*bad, {"model": "scripted/nope"}, {"model": "claude-opus-4-5"}):
        res = await client.post(RUNS, json=_body(git_repo, judge))  # type: ignore[arg-type]
        assert res.status_code == 422, (judge, res.text)
        assert "judge" in res.text
