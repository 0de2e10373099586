"""What a gateway needs from a run budget shared by several replicas (one ledger in the database).

Before forwarding a metered request a gateway reserves an upper estimate of its cost; after the
response it settles the actual cost. The store grants a reservation only while the settled spend
plus every reservation plus this one stays within the budget, or, when that fails, to exactly one
request at a time while the settled spend is still below the budget. So with estimates that bound
each request's cost, all replicas together never pass a run's budget by more than one request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from app.gateway.pricing import PriceTable
from app.gateway.usage import Usage


@dataclass(frozen=True)
class Reservation:
    """A granted reservation, to be settled exactly once."""

    run_id: str
    estimate_usd: float


@dataclass(frozen=True)
class BudgetState:
    """A run's budget and its ledger as the store sees it."""

    budget_usd: float | None
    spent_usd: float
    reserved_usd: float
    in_flight: int


class SharedBudget(Protocol):
    """A run budget ledger that every replica's gateway reserves from and settles into."""

    async def reserve(self, run_id: str, estimate_usd: float) -> Reservation | None:
        """A reservation, or None when the run's budget does not allow another request."""
        ...

    async def settle(self, reservation: Reservation, cost_usd: float) -> None:
        """Replace the reservation with the request's actual cost."""
        ...

    async def state(self, run_id: str) -> BudgetState:
        """The run's budget and ledger."""
        ...


def upper_cost_usd(prices: PriceTable, data: Mapping[str, Any], body_bytes: int) -> float:
    """An upper bound of a Messages request's cost: every body byte an input token written to
    the 1-hour cache (the dearest input rate), plus `max_tokens` output tokens."""
    model = data.get("model")
    price = prices.price_for(model if isinstance(model, str) else None)
    rates = price.rates_for(Usage(input_tokens=body_bytes))
    max_tokens = data.get("max_tokens")
    output = max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else 0
    dearest_input = max(rates.input, rates.cache_write_1h, rates.cache_write_5m)
    return body_bytes * dearest_input + output * rates.output
