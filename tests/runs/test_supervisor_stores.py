"""The supervisor on both stores: a run's life, cancel, and the winner, end to end in-process."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import start_command_run, wait_finished
from tests.sse_client import collect

RUNS = "/api/v1/runs"


class TestSupervisorOnEachStore:
    async def test_run_finishes_scored_with_one_winner(
        self, store_client: httpx.AsyncClient, git_repo: Path
    ) -> None:
        accepted = await start_command_run(
            store_client, git_repo, "echo one > a.txt", "exit 3", winner_policy="best_score"
        )
        run = await wait_finished(store_client, accepted["run_id"])
        assert run["status"] == "succeeded"
        assert [v["status"] for v in run["variations"]] == ["succeeded", "failed"]
        assert run["winning_variation_id"] == 0
        events = await collect(store_client, accepted["stream_url"])
        assert [e.event for e in events].count("winner") == 1
        assert events[-1].event == "complete"

    async def test_cancel_stops_agents_and_ends_the_stream(
        self, store_client: httpx.AsyncClient, git_repo: Path
    ) -> None:
        accepted = await start_command_run(store_client, git_repo, "sleep 60", "sleep 60")
        res = await store_client.post(f"{RUNS}/{accepted['run_id']}/cancel")
        assert res.status_code == 202, res.text
        run = await wait_finished(store_client, accepted["run_id"])
        assert run["status"] == "cancelled"
        assert [v["status"] for v in run["variations"]] == ["cancelled", "cancelled"]
        events = await collect(store_client, accepted["stream_url"])
        assert events[-1].event == "complete" and events[-1].json["status"] == "cancelled"
