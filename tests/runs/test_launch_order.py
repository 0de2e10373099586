"""The base commit is recorded off the launch path, yet before anything the run writes later."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import command_spec, wait_finished
from tests.sse_client import collect

RUNS = "/api/v1/runs"


async def test_the_base_commit_comes_before_every_variation_event(
    client: httpx.AsyncClient, git_repo: Path
) -> None:
    body = {
        "repo_url": str(git_repo),
        "prompt": "p",
        "variations": [command_spec("echo one"), command_spec("echo two")],
    }
    res = await client.post(RUNS, json=body)
    assert res.status_code == 202, res.text
    run_id = res.json()["run_id"]
    done = await wait_finished(client, run_id)
    assert done["status"] == "succeeded" and len(done["base_sha"]) == 40
    events = await collect(client, f"{RUNS}/{run_id}/stream")
    ids = [event.id for event in events]
    assert ids == sorted(ids)
    based = [
        i
        for i, event in enumerate(events)
        if event.event == "run_status" and event.json.get("base_sha") == done["base_sha"]
    ]
    first_variation = next(i for i, event in enumerate(events) if event.event != "run_status")
    assert based and based[0] < first_variation, [(e.event, e.data[:80]) for e in events]
