"""Run budgets on two real server processes sharing one PostgreSQL database.

A run's model requests pass through the gateway of the replica that runs it (its variations
run there, and a gateway token is known only to the process that issued it); that gateway
reserves and settles in the run's ledger in the database. Here replicas A and B each run a
budgeted run at the same moment, three variations each, every variation calling the Messages
API through its gateway until refused, against one recording upstream. Each run's spend
passes its budget by at most one request, nothing stays reserved, and the ledger in the
database agrees with what the gateways metered and what the upstream answered.

(Two gateways settling into one run's ledger is `tests/gateway/test_shared_budget.py`.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.gateway import default_prices
from app.gateway.listener import Listener, bind_tcp
from app.gateway.shared_budget import upper_cost_usd
from tests.conftest import command_spec, wait_finished
from tests.gateway.fake_anthropic import FakeAnthropic
from tests.postgres_server import PostgresServer
from tests.server_process import ServerProcess

pytestmark = pytest.mark.e2e
BUDGET = 0.1
MODEL = "claude-sonnet-4-5-20250929"
BODY = {"model": MODEL, "max_tokens": 1400, "messages": [{"role": "user", "content": "hello"}]}
# Calls the gateway until it refuses; prints `ok` per answered request, then the refusal.
SPENDER = f"""
import json, os, urllib.error, urllib.request
body = json.dumps({BODY!r}).encode()
headers = {{"x-api-key": os.environ["ANTHROPIC_API_KEY"], "content-type": "application/json",
           "anthropic-version": "2023-06-01"}}
url = os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages"
while True:
    try:
        urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=30).read()
    except urllib.error.HTTPError as refused:
        print("refused", refused.code, flush=True)
        break
    print("ok", flush=True)
"""


@pytest.fixture
async def upstream() -> AsyncIterator[FakeAnthropic]:
    fake = FakeAnthropic()
    sock = bind_tcp("127.0.0.1", 0)
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    listener = Listener(fake.app, graceful_shutdown_seconds=1)
    await listener.start([sock])
    yield fake
    await listener.stop()


@pytest.fixture
async def replicas(
    postgres: PostgresServer, tmp_path: Path, upstream: FakeAnthropic
) -> AsyncIterator[tuple[str, list[ServerProcess]]]:
    url = await postgres.new_database()
    servers = []
    for name in ("a", "b"):
        server = ServerProcess(
            tmp_path / name, replica_id=name, database_url=url, upstream_url=upstream.url
        )
        server.env["ANTHROPIC_API_KEY"] = "upstream-key"  # the gateway forwards, no scripted model
        servers.append(server)
    try:
        for server in servers:
            server.start()
        yield url, servers
    finally:
        for server in servers:
            server.stop()


def _lines(events: list[dict[str, Any]], variation_id: int) -> list[str]:
    return [
        e["text"]
        for e in events
        if e.get("type") == "log" and e.get("variation_id") == variation_id
    ]


async def _ledger(url: str, run_id: str) -> tuple[asyncpg.Record, list[dict[str, Any]]]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        row = await conn.fetchrow(
            "SELECT owner, spent_usd, reserved_usd, in_flight FROM runs WHERE id = $1", run_id
        )
        events = await conn.fetch(
            "SELECT payload FROM events WHERE run_id = $1 AND type = 'agent_output' "
            "ORDER BY run_seq",
            run_id,
        )
    finally:
        await conn.close()
    assert row is not None
    return row, [json.loads(e["payload"]) for e in events]


async def _run_on(server: ServerProcess, repo: Path) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        spec = command_spec('python3 -c "$SPENDER"') | {"env": {"SPENDER": SPENDER}}
        body = {
            "repo_url": str(repo),
            "prompt": "spend",
            "budget_usd": BUDGET,
            "variations": [spec | {"model": MODEL}] * 3,
        }
        res = await client.post("/api/v1/runs", json=body)
        assert res.status_code == 202, res.text
        return await wait_finished(client, res.json()["run_id"], timeout=120)


async def test_each_replica_holds_its_runs_to_the_budget(
    replicas: tuple[str, list[ServerProcess]], upstream: FakeAnthropic, git_repo: Path
) -> None:
    url, servers = replicas
    runs = await asyncio.gather(*(_run_on(server, git_repo) for server in servers))
    estimate = upper_cost_usd(default_prices(), BODY, len(json.dumps(BODY)))
    answered = 0
    for server, run in zip(servers, runs, strict=True):
        ledger, events = await _ledger(url, run["id"])
        assert ledger["owner"] == server.env["AIDEATOR_REPLICA_ID"]
        metered = sum(v["cost_usd"] for v in run["variations"])
        requests = 0
        for variation in run["variations"]:
            lines = _lines(events, variation["variation_id"])
            assert lines[-1] == "refused 402", lines[-3:]  # stopped by the budget, no error
            requests += lines.count("ok")
        answered += requests
        per_request = metered / requests  # the upstream charges every answer the same
        assert per_request <= estimate
        assert ledger["spent_usd"] == pytest.approx(metered)
        assert (ledger["in_flight"], ledger["reserved_usd"]) == (0, 0.0)
        assert metered <= BUDGET + per_request + 1e-9, "past the budget by more than one request"
        assert metered > BUDGET - estimate, "refused before the budget was (nearly) spent"
        print(f"replica {ledger['owner']}: {requests} requests, {metered:.4f} USD of {BUDGET}")
    forwarded = [s for s in upstream.seen if s.path == "/v1/messages"]
    assert len(forwarded) == answered, "every forwarded request was answered and counted"
