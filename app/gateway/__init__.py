"""LLM gateway: the only path from agents to the model; holds the key, meters, budgets."""

from app.gateway.gateway import Gateway
from app.gateway.pricing import ModelPrice, PriceTable, Rates, default_prices
from app.gateway.rules import RequestRules
from app.gateway.sinks import BudgetSink, RefusalSink, UsageSink
from app.gateway.usage import Usage

__all__ = [
    "BudgetSink",
    "Gateway",
    "ModelPrice",
    "PriceTable",
    "Rates",
    "RefusalSink",
    "RequestRules",
    "Usage",
    "UsageSink",
    "default_prices",
]
