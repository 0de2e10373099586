"""The judge asked again after synthesis: the synthesized variation gets a verdict and a rank.

Two command agents change the sample repository without fixing it (their checks fail); the
scripted judge ranks them, the synthesized variation (the real Claude Code playing
`scripted/synthesize-median`) fixes it, and the judge is asked a second time over all three.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

import app.judge.step as judge_step
from tests.conftest import command_spec, wait_finished
from tests.sse_client import collect

RUNS = "/api/v1/runs"


def _body(sample_repo: Path) -> dict[str, Any]:
    return {
        "repo_url": str(sample_repo),
        "prompt": "Fix the failing test.",
        "variations": [
            command_spec("echo one >> notes.txt"),
            command_spec("echo two >> notes.txt; echo more > extra.txt"),
        ],
        "check_command": "python3 -m unittest -q",
        "winner_policy": "best_score",
        "judge": {"model": "scripted/judge"},
        "synthesize": {"model": "scripted/synthesize-median", "top": 2},
    }


async def _run(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    res = await client.post(RUNS, json=body)
    assert res.status_code == 202, res.text
    run = await wait_finished(client, res.json()["run_id"], timeout=300)
    assert run["status"] == "succeeded", run
    assert run["synthesis"]["status"] == "started" and run["synthesis"]["variation_id"] == 2
    return run


async def _judge_events(client: httpx.AsyncClient, run_id: str) -> list[dict[str, Any]]:
    events = await collect(client, f"{RUNS}/{run_id}/stream")
    return [e.json for e in events if e.event == "judge"]


async def test_the_synthesized_variation_is_judged_by_a_second_call(
    client: httpx.AsyncClient, sample_repo: Path
) -> None:
    run = await _run(client, _body(sample_repo))
    judge = run["judge"]
    assert judge["status"] == "ok" and judge["error"] is None and judge["calls"] == 2, judge
    by_id = {v["variation_id"]: v for v in run["variations"]}
    synth = by_id[2]
    assert synth["synthesized_from"] is not None and synth["check"]["passed"] is True
    # The second answer replaced the first: the scripted rule (highest id first) over 3.
    assert {vid: v["judge"]["rank"] for vid, v in by_id.items()} == {2: 1, 1: 2, 0: 3}
    assert synth["judge"]["verdict"] == "strong"
    assert "ranked 1 of 3" in synth["judge"]["rationale"]
    assert {vid: v["score_parts"]["judge_rank"] for vid, v in by_id.items()} == {2: 1, 1: 2, 0: 3}
    assert run["winning_variation_id"] == 2

    first, second = await _judge_events(client, run["id"])
    assert first["calls"] == 1 and set(first["verdicts"]) == {"0", "1"}
    assert second["calls"] == 2 and set(second["verdicts"]) == {"0", "1", "2"}
    assert 0 < first["cost_usd"] < second["cost_usd"] == judge["cost_usd"]
    spent = sum(v["cost_usd"] for v in run["variations"])
    assert run["cost_usd"] == pytest.approx(spent + judge["cost_usd"], abs=2e-6)


async def test_a_failed_second_call_keeps_the_first_verdicts(
    client: httpx.AsyncClient, sample_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second call asks for another model than the judge's pinned one: the gateway refuses."""
    real = judge_step.ask_judge
    calls: list[str] = []

    async def second_refused(**kwargs: Any) -> Any:
        calls.append(kwargs["model"])
        if len(calls) == 2:
            kwargs["model"] = "scripted/judge-no-tool"
        return await real(**kwargs)

    monkeypatch.setattr(judge_step, "ask_judge", second_refused)
    run = await _run(client, _body(sample_repo))
    assert len(calls) == 2
    judge = run["judge"]
    assert judge["status"] == "ok" and judge["calls"] == 2, judge
    assert judge["error"].startswith("second call (after synthesis) failed: "), judge
    by_id = {v["variation_id"]: v for v in run["variations"]}
    # The first call's verdicts stay; the synthesized variation has none.
    assert {vid: v["judge"]["rank"] for vid, v in by_id.items() if v["judge"]} == {1: 1, 0: 2}
    assert by_id[2]["judge"] is None
    # One scored variation has no judge rank: the part is left out for the whole run, and
    # the synthesized variation wins by the other parts (its check passed).
    assert all("judge_rank" not in v["score_parts"] for v in by_id.values())
    assert by_id[2]["score_parts"]["rank"] == 1
    assert run["winning_variation_id"] == 2

    first, second = await _judge_events(client, run["id"])
    assert second["status"] == "ok" and second["error"] == judge["error"]
    assert second["verdicts"] == first["verdicts"]
    assert first["cost_usd"] <= second["cost_usd"] == judge["cost_usd"]


async def test_a_budget_spent_between_the_calls_skips_the_second(
    client: httpx.AsyncClient, sample_repo: Path
) -> None:
    """The first judge call (about $0.004) fits the budget; the synthesized variation's first
    model request (about $0.04) spends the rest, so the second judge call is refused."""
    run = await _run(client, _body(sample_repo) | {"budget_usd": 0.01})
    judge = run["judge"]
    assert judge["status"] == "ok" and judge["calls"] == 2, judge
    assert judge["error"].startswith("second call (after synthesis) skipped: budget"), judge
    first, second = await _judge_events(client, run["id"])
    assert 0 < first["cost_usd"] < run["budget_usd"]
    assert second["cost_usd"] == first["cost_usd"] == judge["cost_usd"]  # nothing was spent
    assert second["verdicts"] == first["verdicts"] and set(first["verdicts"]) == {"0", "1"}
    by_id = {v["variation_id"]: v for v in run["variations"]}
    assert by_id[2]["judge"] is None and by_id[2]["cost_usd"] > 0
    assert by_id[2]["score_parts"]["of"] == 3  # scored, ranked by the other parts
    assert all("judge_rank" not in v["score_parts"] for v in by_id.values())
