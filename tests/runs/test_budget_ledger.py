"""The shared budget ledger across two replicas, on SQLite and PostgreSQL.

Two `DatabaseBudget`s on two separate engines stand for two replicas' gateways enforcing the
same run's budget; each sends concurrent requests (reserve, wait, settle) until refused.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert

from app.db import Database
from app.errors import NotFound
from app.models import Run, utcnow
from app.runs import repository as repo
from app.runs.budget_repository import DatabaseBudget

ESTIMATE = 0.30  # each request's upper bound; actual costs are drawn below it


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[tuple[Database, Database]]:
    first, second = Database(database_url), Database(database_url)
    yield first, second
    await first.dispose()
    await second.dispose()


async def _add_run(db: Database, run_id: str, budget_usd: float | None) -> None:
    run = Run(
        id=run_id,
        repo_url="x",
        prompt="p",
        backend="process",
        status="running",
        timeout_seconds=60,
        created_at=utcnow(),
        budget_usd=budget_usd,
    )
    async with db.writer() as conn:
        await conn.execute(insert(repo.RUNS).values(run.model_dump()))


async def _spend_until_refused(budget: DatabaseBudget, costs: list[float], seed: int) -> None:
    rng = random.Random(seed)
    while True:
        reservation = await budget.reserve("r1", ESTIMATE)
        if reservation is None:
            return
        await asyncio.sleep(rng.uniform(0, 0.01))  # the upstream answering
        cost = rng.uniform(0.05, ESTIMATE)
        costs.append(cost)
        await budget.settle(reservation, cost)


async def test_two_replicas_never_pass_the_budget_by_more_than_one_request(
    replicas: tuple[Database, Database],
) -> None:
    first, second = replicas
    await _add_run(first, "r1", budget_usd=2.0)
    ledgers = [DatabaseBudget(first), DatabaseBudget(second)]
    costs: list[list[float]] = [[], []]
    workers = [
        _spend_until_refused(ledgers[replica], costs[replica], seed=replica * 10 + worker)
        for replica in (0, 1)
        for worker in range(4)
    ]
    await asyncio.gather(*workers)

    total = sum(costs[0]) + sum(costs[1])
    state = await ledgers[1].state("r1")
    assert costs[0] and costs[1], "both replicas forwarded requests"
    assert state.spent_usd == pytest.approx(total)
    assert state.in_flight == 0 and state.reserved_usd == 0.0
    assert total <= 2.0 + max(costs[0] + costs[1])
    # Refused only once the budget is (nearly) spent: within one estimate of it.
    assert total > 2.0 - ESTIMATE


async def test_past_the_estimate_exactly_one_request_is_in_flight(
    replicas: tuple[Database, Database],
) -> None:
    first, second = replicas
    await _add_run(first, "r1", budget_usd=1.0)
    a, b = DatabaseBudget(first), DatabaseBudget(second)

    held = await a.reserve("r1", 0.6)
    assert held is not None
    assert await b.reserve("r1", 0.6) is None  # 0.6 + 0.6 > 1.0, and one is in flight
    await a.settle(held, 0.5)
    last = await b.reserve("r1", 0.6)  # 0.5 + 0.6 > 1.0, but none in flight and money left
    assert last is not None
    assert await a.reserve("r1", 0.01) is None  # the one in flight past the estimate
    await b.settle(last, 0.7)
    assert await a.reserve("r1", 0.01) is None  # spent 1.2 >= 1.0
    state = await a.state("r1")
    assert state.spent_usd == pytest.approx(1.2)
    assert (state.reserved_usd, state.in_flight) == (0.0, 0)


async def test_no_budget_never_refuses_and_unknown_run_is_not_found(
    replicas: tuple[Database, Database],
) -> None:
    first, _ = replicas
    await _add_run(first, "r1", budget_usd=None)
    budget = DatabaseBudget(first)
    held = [await budget.reserve("r1", 100.0) for _ in range(3)]
    assert all(held)
    with pytest.raises(NotFound):
        await budget.reserve("missing", 0.1)
    with pytest.raises(ValueError):
        await budget.reserve("r1", -1.0)
