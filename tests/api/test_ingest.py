"""Relay ingest: bearer token per variation, idempotent by seq, 401/404/409/413."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from app.runs import repository as repo
from app.runs.relay import new_relay_token, relay_path
from tests.conftest import command_spec, wait_finished


def _services(client: httpx.AsyncClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def _batch(seqs: range) -> bytes:
    lines = [{"v": 1, "seq": s, "type": "log", "text": f"line {s}"} for s in seqs]
    return "\n".join(json.dumps(x) for x in lines).encode() + b"\nnot json\n"


async def _running_variation(client: httpx.AsyncClient, git_repo: Path) -> tuple[str, str]:
    body = {"repo_url": str(git_repo), "prompt": "p", "variations": [command_spec("sleep 30")]}
    run_id = (await client.post("/api/v1/runs", json=body)).json()["run_id"]
    token, digest = new_relay_token()
    services = _services(client)
    await services.events.write(
        statements=[repo.set_variation(run_id, 0, relay_token_sha256=digest)]
    )
    return run_id, token


async def _lines(client: httpx.AsyncClient, run_id: str) -> list[int]:
    from app.events.hub import read_events

    events = await read_events(_services(client).db, run_id, 0, 10_000)
    return [
        json.loads(e.payload)["seq"]
        for e in events
        if e.type == "agent_output" and json.loads(e.payload)["text"].startswith("line ")
    ]


async def test_ingest_is_idempotent_and_guarded(
    store_client: httpx.AsyncClient, git_repo: Path
) -> None:
    client = store_client  # on SQLite and on PostgreSQL
    run_id, token = await _running_variation(client, git_repo)
    url = "/api/v1" + relay_path(run_id, 0).removeprefix("/api/v1")
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}

    first = await client.post(url, content=_batch(range(0, 5)), headers=auth)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 5, "skipped": 1}
    again = await client.post(url, content=_batch(range(0, 5)), headers=auth)  # a retried batch
    assert again.status_code == 200
    overlap = await client.post(url, content=_batch(range(3, 8)), headers=auth)
    assert overlap.status_code == 200
    assert await _lines(client, run_id) == list(range(8)), "each seq stored exactly once"

    wrong = await client.post(
        url, content=_batch(range(8, 9)), headers={"Authorization": "Bearer x"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    missing = await client.post(url, content=_batch(range(8, 9)))
    assert missing.status_code == 401
    assert await _lines(client, run_id) == list(range(8))

    other = await client.post(
        url.replace("/variations/0/", "/variations/5/"), content=b"", headers=auth
    )
    assert other.status_code == 404
    huge = await client.post(url, content=b"x" * (9 * 1024 * 1024), headers=auth)
    assert huge.status_code == 413

    await client.post(f"/api/v1/runs/{run_id}/cancel")
    await wait_finished(client, run_id)
    late = await client.post(url, content=_batch(range(8, 10)), headers=auth)
    assert late.status_code == 409
    assert await _lines(client, run_id) == list(range(8))
