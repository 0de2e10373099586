"""SSE streams on both stores: ids numbered per run, exact resume, 422 for foreign ids."""

from __future__ import annotations

import random
from pathlib import Path

import httpx

from tests.conftest import start_command_run, wait_finished
from tests.sse_client import collect

LINES = 40


async def _finished_run(client: httpx.AsyncClient, repo: Path) -> tuple[str, str]:
    accepted = await start_command_run(client, repo, f"seq 1 {LINES}", f"seq 1 {LINES}")
    await wait_finished(client, accepted["run_id"])
    return accepted["run_id"], accepted["stream_url"]


class TestRunStream:
    async def test_ids_count_from_one_and_resume_is_exact(
        self, store_client: httpx.AsyncClient, git_repo: Path
    ) -> None:
        _run_id, url = await _finished_run(store_client, git_repo)
        full = await collect(store_client, url)
        ids = [e.id for e in full]
        assert ids == list(range(1, len(full) + 1)), "per-run numbers, no gap, no duplicate"
        assert full[-1].event == "complete"
        lines = [e for e in full if e.event == "agent_output" and e.json["type"] == "log"]
        assert len(lines) == 2 * LINES

        rng = random.Random(19)
        for cursor in [0, *rng.sample(ids[:-1], 5)]:
            resumed = await collect(store_client, url, last_event_id=cursor)
            assert [e.id for e in resumed] == [i for i in ids if i > cursor]
            assert [e.data for e in resumed] == [e.data for e in full if e.id > cursor]

    async def test_an_id_this_run_never_sent_is_a_clear_422(
        self, store_client: httpx.AsyncClient, git_repo: Path
    ) -> None:
        _run_id, url = await _finished_run(store_client, git_repo)
        last = (await collect(store_client, url))[-1].id
        assert last is not None
        res = await store_client.get(url, params={"last_event_id": last + 1})
        assert res.status_code == 422
        error = res.json()["error"]
        assert "beyond this run's last event" in error["message"]
        assert error["details"]["last_event_id"] == last
