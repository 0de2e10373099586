"""All SQL of the shared run budget ledger: reserve and settle, each one conditional UPDATE.

The ledger lives on the run's row (`spent_usd`, `reserved_usd`, `in_flight`), so every
replica's gateway enforcing the same run's budget reads and writes the same numbers. The
database serialises the UPDATEs on one row (PostgreSQL's row lock, SQLite's write lock), and
each UPDATE re-checks the budget in its WHERE clause, so no two replicas both take the last
of the budget.
"""

from __future__ import annotations

from sqlalchemy import and_, case, or_, select, update

from app.db import Database
from app.errors import NotFound
from app.gateway.shared_budget import BudgetState, Reservation
from app.runs.repository import RUNS


class DatabaseBudget:
    """The `SharedBudget` of the gateway, kept in the runs table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def reserve(self, run_id: str, estimate_usd: float) -> Reservation | None:
        """Reserve `estimate_usd` unless the run's budget does not allow another request."""
        if estimate_usd < 0:
            raise ValueError("estimate_usd must be >= 0")
        budget, spent, reserved = RUNS.c.budget_usd, RUNS.c.spent_usd, RUNS.c.reserved_usd
        allowed = or_(
            budget.is_(None),
            spent + reserved + estimate_usd <= budget,
            # Past the estimate: exactly one request in flight while money is left.
            and_(RUNS.c.in_flight == 0, spent < budget),
        )
        statement = (
            update(RUNS)
            .where(RUNS.c.id == run_id, allowed)
            .values(reserved_usd=reserved + estimate_usd, in_flight=RUNS.c.in_flight + 1)
        )
        async with self._db.writer() as conn:
            result = await conn.execute(statement)
            if result.rowcount == 1:
                return Reservation(run_id=run_id, estimate_usd=estimate_usd)
            found = await conn.execute(select(RUNS.c.id).where(RUNS.c.id == run_id))
            if found.first() is None:
                raise NotFound(f"run {run_id} not found")
            return None

    async def settle(self, reservation: Reservation, cost_usd: float) -> None:
        """Add the actual cost and release the reservation (the last one out resets to 0)."""
        statement = (
            update(RUNS)
            .where(RUNS.c.id == reservation.run_id)
            .values(
                spent_usd=RUNS.c.spent_usd + cost_usd,
                reserved_usd=case(
                    (RUNS.c.in_flight <= 1, 0.0),
                    else_=RUNS.c.reserved_usd - reservation.estimate_usd,
                ),
                in_flight=case((RUNS.c.in_flight <= 1, 0), else_=RUNS.c.in_flight - 1),
            )
        )
        async with self._db.writer() as conn:
            await conn.execute(statement)

    async def state(self, run_id: str) -> BudgetState:
        """The run's budget and ledger."""
        query = select(
            RUNS.c.budget_usd, RUNS.c.spent_usd, RUNS.c.reserved_usd, RUNS.c.in_flight
        ).where(RUNS.c.id == run_id)
        async with self._db.reader() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"run {run_id} not found")
        return BudgetState(
            budget_usd=row.budget_usd,
            spent_usd=float(row.spent_usd),
            reserved_usd=float(row.reserved_usd),
            in_flight=int(row.in_flight),
        )
