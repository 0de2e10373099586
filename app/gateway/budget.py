"""Spending per run and per variation, and the run budget check."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.errors import NotFound
from app.gateway.usage import Usage


@dataclass
class VariationSpend:
    """Running totals of one variation."""

    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    requests: int = 0
    refusal_reported: bool = False


@dataclass
class RunSpend:
    """A run's budget and what all its variations have spent."""

    budget_usd: float | None
    spent_usd: float = 0.0
    variations: dict[int, VariationSpend] = field(default_factory=dict)

    @property
    def exhausted(self) -> bool:
        """True once spending reached the budget (never without a budget)."""
        return self.budget_usd is not None and self.spent_usd >= self.budget_usd

    def variation(self, variation_id: int) -> VariationSpend:
        """The totals of one variation, created on first use."""
        return self.variations.setdefault(variation_id, VariationSpend())


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, and whether this variation hears it for the first time."""

    message: str
    first_for_variation: bool


def format_usd(amount: float) -> str:
    """USD with 2 to 4 decimals: 5.00, 0.50, 0.0193."""
    whole, _, fraction = f"{amount:.4f}".partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def budget_message(budget_usd: float, spent_usd: float) -> str:
    """The text an agent sees when its run has no budget left."""
    return (
        f"budget exhausted: run budget {format_usd(budget_usd)} USD spent "
        f"({format_usd(spent_usd)} USD)"
    )


class Ledger:
    """In-memory spending book of the open runs."""

    def __init__(self) -> None:
        self._runs: dict[str, RunSpend] = {}

    def open(self, run_id: str, *, budget_usd: float | None, spent_usd: float = 0.0) -> None:
        """Start (or resume, with what was already spent) accounting for a run."""
        if budget_usd is not None and budget_usd < 0:
            raise ValueError("budget_usd must be >= 0")
        self._runs[run_id] = RunSpend(budget_usd=budget_usd, spent_usd=spent_usd)

    def close(self, run_id: str) -> None:
        """Forget a run (idempotent)."""
        self._runs.pop(run_id, None)

    def run(self, run_id: str) -> RunSpend:
        """The spend record of an open run."""
        try:
            return self._runs[run_id]
        except KeyError:
            raise NotFound(f"gateway has no open run {run_id}") from None

    def is_open(self, run_id: str) -> bool:
        """True while the run is open."""
        return run_id in self._runs

    def check(self, run_id: str, variation_id: int) -> Refusal | None:
        """A refusal when the run's budget is spent, else None."""
        run = self._runs.get(run_id)
        if run is None or not run.exhausted or run.budget_usd is None:
            return None
        spend = run.variation(variation_id)
        first = not spend.refusal_reported
        spend.refusal_reported = True
        return Refusal(budget_message(run.budget_usd, run.spent_usd), first)

    def refusal(self, run_id: str, variation_id: int, message: str) -> Refusal:
        """A refusal decided elsewhere (the shared ledger), reported once per variation."""
        spend = self.run(run_id).variation(variation_id)
        first = not spend.refusal_reported
        spend.refusal_reported = True
        return Refusal(message, first)

    def record(self, run_id: str, variation_id: int, usage: Usage, cost_usd: float) -> None:
        """Add one response's usage and cost (ignored once the run is closed)."""
        run = self._runs.get(run_id)
        if run is None:
            return
        run.spent_usd += cost_usd
        spend = run.variation(variation_id)
        spend.usage = spend.usage + usage
        spend.cost_usd += cost_usd
        spend.requests += 1

    def usage_of(self, run_id: str, variation_id: int) -> Usage:
        """Tokens a variation used so far (zero if it made no request)."""
        run = self._runs.get(run_id)
        spend = run.variations.get(variation_id) if run else None
        return spend.usage if spend else Usage()

    def cost_of(self, run_id: str, variation_id: int) -> float:
        """USD a variation spent so far."""
        run = self._runs.get(run_id)
        spend = run.variations.get(variation_id) if run else None
        return spend.cost_usd if spend else 0.0

    def spent_of(self, run_id: str) -> float:
        """USD the whole run spent so far (including what it was opened with)."""
        run = self._runs.get(run_id)
        return run.spent_usd if run else 0.0
