"""The callbacks through which the gateway reports to its host."""

from __future__ import annotations

from typing import Any, Protocol

from app.gateway.usage import Usage


class UsageSink(Protocol):
    """Receives the usage and cost of every metered response (not cumulative)."""

    async def __call__(
        self, run_id: str, variation_id: int, usage: Usage, cost_usd: float, /
    ) -> None:
        """Record one response's usage."""
        ...


class BudgetSink(Protocol):
    """Told once per variation when the gateway first refuses it for budget."""

    async def __call__(self, run_id: str, variation_id: int, message: str, /) -> None:
        """Record that the variation hit the run budget."""
        ...


class RefusalSink(Protocol):
    """Told when the gateway's rules stop a request (the first few per variation)."""

    async def __call__(self, run_id: str, variation_id: int, payload: dict[str, Any], /) -> None:
        """Record the refusal (the `gateway_refusal` event payload)."""
        ...
