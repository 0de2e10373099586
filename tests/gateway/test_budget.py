"""The spending ledger: per-run budget, per-variation totals, one report per variation."""

from __future__ import annotations

import pytest

from app.errors import NotFound
from app.gateway.budget import Ledger, budget_message
from app.gateway.usage import Usage


class TestLedger:
    def test_budget_is_reached_at_equality_and_reported_once_per_variation(self) -> None:
        ledger = Ledger()
        ledger.open("r", budget_usd=1.0)
        assert ledger.check("r", 0) is None
        ledger.record("r", 0, Usage(output_tokens=10), 0.4)
        assert ledger.check("r", 1) is None
        ledger.record("r", 1, Usage(output_tokens=5), 0.6)

        first = ledger.check("r", 1)
        again = ledger.check("r", 1)
        other = ledger.check("r", 0)
        assert first is not None and first.first_for_variation
        assert again is not None and not again.first_for_variation
        assert other is not None and other.first_for_variation
        assert first.message == "budget exhausted: run budget 1.00 USD spent (1.00 USD)"

    def test_totals_per_variation(self) -> None:
        ledger = Ledger()
        ledger.open("r", budget_usd=None)
        ledger.record("r", 0, Usage(1, 2, 3, 4), 0.25)
        ledger.record("r", 0, Usage(10, 20, 30, 40), 0.5)
        ledger.record("r", 2, Usage(input_tokens=7), 0.125)
        assert ledger.usage_of("r", 0) == Usage(11, 22, 33, 44)
        assert ledger.cost_of("r", 0) == pytest.approx(0.75)
        assert ledger.usage_of("r", 2) == Usage(input_tokens=7)
        assert ledger.usage_of("r", 1) == Usage()
        assert ledger.spent_of("r") == pytest.approx(0.875)
        assert ledger.check("r", 0) is None  # no budget: never exhausted

    def test_resumed_run_starts_from_what_it_spent(self) -> None:
        ledger = Ledger()
        ledger.open("r", budget_usd=2.0, spent_usd=2.5)
        refusal = ledger.check("r", 3)
        assert refusal is not None
        assert "spent (2.50 USD)" in refusal.message

    def test_closed_runs_are_forgotten(self) -> None:
        ledger = Ledger()
        ledger.open("r", budget_usd=1.0)
        ledger.close("r")
        ledger.record("r", 0, Usage(input_tokens=1), 5.0)  # a late response: ignored
        assert ledger.cost_of("r", 0) == 0.0
        with pytest.raises(NotFound):
            ledger.run("r")

    def test_negative_budget_is_refused(self) -> None:
        with pytest.raises(ValueError):
            Ledger().open("r", budget_usd=-1)


@pytest.mark.parametrize(
    ("budget", "spent", "text"),
    [
        (5, 5.123456, "run budget 5.00 USD spent (5.1235 USD)"),
        (0.001, 0.0193, "run budget 0.001 USD spent (0.0193 USD)"),
        (0.5, 0.51, "run budget 0.50 USD spent (0.51 USD)"),
    ],
)
def test_budget_message(budget: float, spent: float, text: str) -> None:
    assert budget_message(budget, spent) == f"budget exhausted: {text}"
