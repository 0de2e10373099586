"""Model prices (from `prices.toml`) and the cost of a response's usage."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from app.gateway.usage import Usage

PER_MILLION = 1_000_000
DEFAULT_WEB_SEARCH_USD = 0.01

_RATE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
_DATE_SUFFIX = re.compile(r"[-@]\d{8}$")
_BEDROCK_VERSION = re.compile(r"-v\d+(:\d+)?$")


@dataclass(frozen=True)
class Rates:
    """USD per million tokens for each kind of token."""

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float

    def cost(self, usage: Usage, *, cache_write_1h_tokens: int = 0) -> float:
        """USD for these token counts; 1-hour cache writes are part of cache_creation."""
        one_hour = min(max(cache_write_1h_tokens, 0), usage.cache_creation_input_tokens)
        five_minute = usage.cache_creation_input_tokens - one_hour
        micro_usd = (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + five_minute * self.cache_write_5m
            + one_hour * self.cache_write_1h
            + usage.cache_read_input_tokens * self.cache_read
        )
        return micro_usd / PER_MILLION


@dataclass(frozen=True)
class ModelPrice:
    """One price tier: base rates, and optional dearer rates for long prompts."""

    tier: str
    rates: Rates
    web_search_usd: float = DEFAULT_WEB_SEARCH_USD
    long_prompt_above: int | None = None
    long_prompt_rates: Rates | None = None

    def rates_for(self, usage: Usage) -> Rates:
        """The rates that apply to a request of this size."""
        if (
            self.long_prompt_above is not None
            and self.long_prompt_rates is not None
            and usage.prompt_tokens > self.long_prompt_above
        ):
            return self.long_prompt_rates
        return self.rates


def canonical_model_id(model: str) -> str:
    """Reduce a provider-specific or dated model id to the catalog id it names."""
    name = model.strip().lower()
    start = name.find("claude-")
    if start > 0:  # cloud prefixes such as "us.anthropic." or "anthropic."
        name = name[start:]
    name = name.removesuffix("[1m]")
    name = _BEDROCK_VERSION.sub("", name)
    name = _DATE_SUFFIX.sub("", name)
    return name.removesuffix("-latest")


def _rates(table: Mapping[str, Any], where: str) -> Rates:
    missing = [name for name in _RATE_FIELDS if name not in table]
    if missing:
        raise ValueError(f"price tier {where} lacks {', '.join(missing)}")
    return Rates(**{name: float(table[name]) for name in _RATE_FIELDS})


def _tier(name: str, table: Mapping[str, Any]) -> ModelPrice:
    web_search = float(table.get("web_search", DEFAULT_WEB_SEARCH_USD))
    long_prompt = table.get("long_prompt")
    if long_prompt is None:
        return ModelPrice(name, _rates(table, name), web_search)
    return ModelPrice(
        name,
        _rates(table, name),
        web_search,
        long_prompt_above=int(long_prompt["above_prompt_tokens"]),
        long_prompt_rates=_rates(long_prompt, f"{name}.long_prompt"),
    )


class PriceTable:
    """Per-model prices, matched by catalog id, then by family word, then a default."""

    def __init__(
        self,
        *,
        tiers: Mapping[str, ModelPrice],
        models: Mapping[str, str],
        families: Mapping[str, str],
        default: str,
        as_of: str = "",
        source: str = "",
    ) -> None:
        unknown = {default, *models.values(), *families.values()} - set(tiers)
        if unknown:
            raise ValueError(f"prices name unknown tiers: {sorted(unknown)}")
        self.tiers = dict(tiers)
        self.models = {canonical_model_id(model): tier for model, tier in models.items()}
        self.families = dict(families)
        self.default = default
        self.as_of = as_of
        self.source = source

    @classmethod
    def from_toml(cls, text: str) -> PriceTable:
        """Parse a price file in the format of the bundled `prices.toml`."""
        data = tomllib.loads(text)
        return cls(
            tiers={name: _tier(name, table) for name, table in data["tiers"].items()},
            models=data.get("models", {}),
            families=data.get("families", {}),
            default=data["default"],
            as_of=str(data.get("as_of", "")),
            source=str(data.get("source", "")),
        )

    @classmethod
    def load(cls, path: Path) -> PriceTable:
        """Read a price file (startup only: this is a small blocking read)."""
        return cls.from_toml(path.read_text(encoding="utf-8"))

    def price_for(self, model: str | None) -> ModelPrice:
        """The price tier of a model id; unknown ids get the documented default."""
        if model:
            name = canonical_model_id(model)
            tier = self.models.get(name)
            if tier is None:
                tier = next((t for word, t in self.families.items() if word in name), None)
            if tier is not None:
                return self.tiers[tier]
        return self.tiers[self.default]

    def cost(
        self,
        model: str | None,
        usage: Usage,
        *,
        cache_write_1h_tokens: int = 0,
        web_search_requests: int = 0,
    ) -> float:
        """USD cost of one response's usage."""
        price = self.price_for(model)
        tokens = price.rates_for(usage).cost(usage, cache_write_1h_tokens=cache_write_1h_tokens)
        return tokens + web_search_requests * price.web_search_usd


@lru_cache(maxsize=1)
def default_prices() -> PriceTable:
    """The price table bundled with the package (read once)."""
    text = resources.files("app.gateway").joinpath("prices.toml").read_text(encoding="utf-8")
    return PriceTable.from_toml(text)
