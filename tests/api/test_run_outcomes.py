"""What the API says about outcomes: passed counts in the list, unranked setup failures."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import command_spec, wait_finished

RUNS = "/api/v1/runs"


async def test_runs_list_counts_passed_checks(client: httpx.AsyncClient, git_repo: Path) -> None:
    body = {
        "repo_url": str(git_repo),
        "prompt": "make ok",
        "variations": [
            command_spec("touch ok"),
            command_spec("echo nothing"),
            command_spec("echo no > nope"),
        ],
        "check_command": "test -f ok",
    }
    res = await client.post(RUNS, json=body)
    assert res.status_code == 202, res.text
    run_id = res.json()["run_id"]
    await wait_finished(client, run_id)
    listed = (await client.get(RUNS)).json()["items"]
    item = next(i for i in listed if i["id"] == run_id)
    assert item["passed_count"] == 1 and item["variation_count"] == 3
    assert item["check_command"] == "test -f ok"


async def test_a_failed_clone_ranks_nothing_and_keeps_its_cause(
    client: httpx.AsyncClient, git_repo: Path
) -> None:
    body = {
        "repo_url": str(git_repo),
        "ref": "no-such-branch",
        "prompt": "p",
        "variations": [command_spec("true")] * 2,
    }
    res = await client.post(RUNS, json=body)
    assert res.status_code == 202, res.text
    run = await wait_finished(client, res.json()["run_id"])
    assert run["status"] == "failed" and "no-such-branch" in run["error"]
    for v in run["variations"]:
        assert v["status"] == "failed"
        assert v["score"] is None and v["score_parts"] == {}, v
        assert v["error"] == run["error"]
