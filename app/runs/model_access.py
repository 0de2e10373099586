"""Connects the LLM gateway to runs: identities for variations, usage and budget to the log."""

from __future__ import annotations

from typing import Any

from app.events import payloads as events_out
from app.events.log import EventLog
from app.gateway import Gateway, Usage
from app.judge.record import JUDGE_IDENTITY
from app.runs import repository as repo
from app.runs.ports import ModelAccess
from app.runs.turns import turns_of


class GatewayAccess:
    """The supervisor's view of the gateway (the Gatekeeper port)."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def open_run(self, run_id: str, *, budget_usd: float | None, spent_usd: float = 0.0) -> None:
        """Start metering a run against its budget."""
        self._gateway.open_run(run_id, budget_usd=budget_usd, spent_usd=spent_usd)

    def access_for(self, run_id: str, variation_id: int, *, model: str | None) -> ModelAccess:
        """A fresh token for the variation, pinned to its model, and where the gateway is."""
        token = self._gateway.issue_token(run_id, variation_id, model=model)
        return ModelAccess(token=token, url=self._gateway.url, socket=self._gateway.socket_path)

    def record_of(self, run_id: str, variation_id: int) -> dict[str, Any]:
        """Models the variation had forwarded and requests refused, both by name."""
        return {
            "models_used": self._gateway.models_used(run_id, variation_id),
            "gateway_refusals": self._gateway.refusals_of(run_id, variation_id),
        }

    def revoke(self, run_id: str, variation_id: int) -> None:
        """Refuse further requests from the variation."""
        self._gateway.revoke(run_id, variation_id)

    def close_run(self, run_id: str) -> None:
        """Forget the run."""
        self._gateway.close_run(run_id)

    def cost_of(self, run_id: str, variation_id: int) -> float:
        """USD this identity spent so far, as metered."""
        return self._gateway.cost_of(run_id, variation_id)


class UsageRecorder:
    """Gateway sinks: metered usage into the variation row, budget refusals as error lines."""

    def __init__(self, events: EventLog) -> None:
        self._events = events

    async def on_usage(
        self, run_id: str, variation_id: int, usage: Usage, cost_usd: float, /
    ) -> None:
        """Add one response's usage and cost to the variation (the judge records its own)."""
        if variation_id == JUDGE_IDENTITY:
            return
        await self._events.write(
            statements=[repo.add_usage(run_id, variation_id, usage.as_dict(), cost_usd)]
        )

    async def on_budget_exhausted(self, run_id: str, variation_id: int, message: str, /) -> None:
        """Tell the stream the variation was refused for budget, in which turn (the judge
        records its own)."""
        if variation_id == JUDGE_IDENTITY:
            return
        variation = await repo.get_variation(self._events.db, run_id, variation_id)
        turn = None if variation is None else len(turns_of(variation))
        payload = {
            "variation_id": variation_id,
            "seq": None,
            "type": "error",
            "text": message,
            "data": {"code": "budget_exhausted", "source": "gateway"},
        }
        await self._events.write(
            [events_out.agent_output(run_id, variation_id, payload, turn=turn)]
        )

    async def on_refusal(self, run_id: str, variation_id: int, payload: dict[str, Any], /) -> None:
        """A request the gateway's rules stopped, as a `gateway_refusal` event.

        The judge's own refusals end its call, and the judge records that error itself.
        """
        if variation_id == JUDGE_IDENTITY:
            return
        await self._events.write([events_out.gateway_refusal(run_id, variation_id, payload)])
