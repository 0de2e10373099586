"""Two gateways (two replicas) enforcing one run's budget through the ledger in the database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from app.db import Database
from app.gateway import Gateway, default_prices
from app.gateway.shared_budget import upper_cost_usd
from app.models import Run, utcnow
from app.runs import repository as repo
from app.runs.budget_repository import DatabaseBudget

from .conftest import Sinks
from .fake_anthropic import FakeAnthropic

BUDGET = 0.1
# max_tokens just large enough that the reserved estimate bounds what the fake upstream
# charges per response (0.0193 USD), so several requests fit in the budget at once.
BODY: dict[str, Any] = {
    "model": "claude-sonnet-4-5-20250929",
    "max_tokens": 1400,
    "messages": [{"role": "user", "content": "hello"}],
}


@pytest.fixture
async def gateways(
    database_url: str, upstream: FakeAnthropic, sinks: Sinks
) -> AsyncIterator[list[tuple[Gateway, DatabaseBudget]]]:
    databases = [Database(database_url), Database(database_url)]
    run = Run(
        id="run-1",
        repo_url="x",
        prompt="p",
        backend="process",
        status="running",
        timeout_seconds=60,
        created_at=utcnow(),
        budget_usd=BUDGET,
    )
    async with databases[0].writer() as conn:
        await conn.execute(insert(repo.RUNS).values(run.model_dump()))
    started: list[tuple[Gateway, DatabaseBudget]] = []
    for db in databases:
        ledger = DatabaseBudget(db)
        gw = Gateway(
            upstream_url=upstream.url,
            api_key=None,
            on_usage=sinks.on_usage,
            on_budget_exhausted=sinks.on_budget_exhausted,
            upstream_timeout=10,
            shared_budget=ledger,
        )
        await gw.start()
        gw.open_run("run-1", budget_usd=BUDGET)
        started.append((gw, ledger))
    yield started
    for gw, _ in started:
        await gw.stop()
    for db in databases:
        await db.dispose()


async def _send_until_refused(gw: Gateway, variation_id: int, statuses: list[int]) -> None:
    token = gw.issue_token("run-1", variation_id, model="claude-sonnet-4-5")
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as http:
        while True:
            response = await http.post("/v1/messages", json=BODY, headers={"x-api-key": token})
            statuses.append(response.status_code)
            if response.status_code != 200:
                return


async def test_two_gateways_pass_the_budget_by_at_most_one_request(
    gateways: list[tuple[Gateway, DatabaseBudget]], upstream: FakeAnthropic
) -> None:
    (first, ledger), (second, _) = gateways
    statuses: list[int] = []
    # One request through each replica first, then everyone at once until refused.
    for gw in (first, second):
        token = gw.issue_token("run-1", 9, model="claude-sonnet-4-5")
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as http:
            response = await http.post("/v1/messages", json=BODY, headers={"x-api-key": token})
        assert response.status_code == 200
    await asyncio.gather(
        *(
            _send_until_refused(gw, variation_id, statuses)
            for gw, _ in gateways
            for variation_id in range(3)
        )
    )
    forwarded = [s for s in upstream.seen if s.path == "/v1/messages"]
    total = first.spent_of("run-1") + second.spent_of("run-1")
    state = await ledger.state("run-1")

    assert statuses.count(402) == 6  # every sender stopped by the budget, none by an error
    assert first.spent_of("run-1") > 0 and second.spent_of("run-1") > 0
    assert state.spent_usd == pytest.approx(total)
    assert (state.in_flight, state.reserved_usd) == (0, 0.0)
    per_request = total / len(forwarded)  # the fake upstream charges every response the same
    estimate = upper_cost_usd(default_prices(), BODY, len(json.dumps(BODY)))
    assert per_request <= estimate
    assert total <= BUDGET + per_request + 1e-9
    assert total > BUDGET - estimate  # refused only once the budget was (nearly) spent
