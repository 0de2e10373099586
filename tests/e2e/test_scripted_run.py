"""Through the HTTP API: three scripted scenarios -> three different real diffs, metered usage."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import wait_finished

SCENARIOS = ["fix-correct", "fix-bad", "no-change"]


async def test_three_scenarios_three_diffs(client: httpx.AsyncClient, sample_repo: Path) -> None:
    body = {
        "repo_url": str(sample_repo),
        "prompt": "Fix the failing test.",
        "variations": [{"model": f"scripted/{name}"} for name in SCENARIOS],
        "check_command": "python3 -m unittest -q",
    }
    res = await client.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    assert res.json()["scripted_model"] is True
    run_id = res.json()["run_id"]
    run = await wait_finished(client, run_id, timeout=120)
    assert run["status"] == "succeeded", run
    diffs = [
        (await client.get(f"/api/v1/runs/{run_id}/variations/{n}/diff")).text for n in range(3)
    ]
    correct, bad, none = diffs
    assert "numstats" in correct and correct != bad
    assert none == ""
    variations = run["variations"]
    assert [v["status"] for v in variations] == ["succeeded"] * 3
    checks = [v["check"]["passed"] for v in variations]
    assert checks == [True, False, False]
    for v in variations:
        assert v["usage"]["input_tokens"] > 0 and v["usage"]["output_tokens"] > 0
        assert v["cost_usd"] > 0
    # Costs differ with the work done; they come from the gateway's metering.
    assert len({v["cost_usd"] for v in variations}) == 3
    scores = {v["variation_id"]: v["score_parts"]["rank"] for v in variations}
    assert scores[0] == 1
    manifest = variations[0]["manifest"]
    assert manifest["base_sha"] == run["base_sha"] and manifest["model"] == "scripted/fix-correct"
    assert manifest["claude_code_version"] and manifest["agent_version"]
    import hashlib

    assert manifest["prompt_sha256"] == hashlib.sha256(b"Fix the failing test.").hexdigest()
