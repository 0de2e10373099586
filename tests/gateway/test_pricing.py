"""The bundled price table: model matching and cost arithmetic."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from app.gateway.pricing import PriceTable, canonical_model_id, default_prices
from app.gateway.usage import Usage

MILLION = 1_000_000


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return default_prices()


class TestModelMatching:
    @pytest.mark.parametrize(
        ("model", "canonical"),
        [
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("claude-opus-4-20250514", "claude-opus-4"),
            ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
            ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
            ("claude-sonnet-4-6[1m]", "claude-sonnet-4-6"),
            ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
            ("Claude-Opus-4-5", "claude-opus-4-5"),
            ("scripted/fix-correct", "scripted/fix-correct"),
        ],
    )
    def test_canonical_ids(self, model: str, canonical: str) -> None:
        assert canonical_model_id(model) == canonical

    @pytest.mark.parametrize(
        ("model", "input_rate", "output_rate"),
        [
            ("claude-opus-4-1-20250805", 15.0, 75.0),
            ("claude-opus-4-20250514", 15.0, 75.0),
            ("claude-opus-4-5-20251101", 5.0, 25.0),
            ("claude-opus-4-8", 5.0, 25.0),
            ("claude-opus-5-5", 4.0, 20.0),
            ("claude-sonnet-4-5-20250929", 3.0, 15.0),
            ("claude-sonnet-4-6", 3.0, 15.0),
            ("claude-sonnet-5", 2.0, 10.0),
            ("claude-sonnet-5-5", 2.0, 10.0),
            ("claude-haiku-4-5-20251001", 1.0, 5.0),
            ("claude-3-5-haiku-20241022", 0.8, 4.0),
            ("claude-haiku-5-5", 0.1, 0.5),
            ("claude-fable-5-1", 10.0, 50.0),
        ],
    )
    def test_known_models(
        self, prices: PriceTable, model: str, input_rate: float, output_rate: float
    ) -> None:
        rates = prices.price_for(model).rates
        assert (rates.input, rates.output) == (input_rate, output_rate)
        # Anthropic's published multipliers: 5m write 1.25x, 1h write 2x, read <= 0.1x.
        assert rates.cache_write_5m == pytest.approx(input_rate * 1.25)
        assert rates.cache_write_1h == pytest.approx(input_rate * 2)
        assert rates.cache_read <= input_rate * 0.1 + 1e-9

    def test_unknown_family_member_gets_its_family_price(self, prices: PriceTable) -> None:
        assert prices.price_for("claude-opus-9").tier == "opus_5_25"
        assert prices.price_for("claude-haiku-9-1-20300101").tier == "haiku_4_5"

    @pytest.mark.parametrize("model", ["scripted/fix-correct", "", None, "gpt-something"])
    def test_unknown_models_are_priced_as_sonnet(
        self, prices: PriceTable, model: str | None
    ) -> None:
        rates = prices.price_for(model).rates
        assert (rates.input, rates.output, rates.cache_read) == (3.0, 15.0, 0.30)


class TestCost:
    def test_sonnet_cost_by_hand(self, prices: PriceTable) -> None:
        usage = Usage(
            input_tokens=1200,
            output_tokens=345,
            cache_creation_input_tokens=2000,
            cache_read_input_tokens=10000,
        )
        expected = (1200 * 3 + 345 * 15 + 2000 * 3.75 + 10000 * 0.30) / MILLION
        assert prices.cost("claude-sonnet-4-5-20250929", usage) == pytest.approx(expected)

    def test_one_hour_cache_writes_cost_more(self, prices: PriceTable) -> None:
        usage = Usage(cache_creation_input_tokens=1000)
        cost = prices.cost("claude-opus-4-5", usage, cache_write_1h_tokens=400)
        assert cost == pytest.approx((600 * 6.25 + 400 * 10) / MILLION)

    def test_web_searches_are_charged_per_request(self, prices: PriceTable) -> None:
        assert prices.cost("claude-sonnet-4-5", Usage(), web_search_requests=3) == pytest.approx(
            0.03
        )

    def test_haiku_5_5_long_prompts_use_the_dearer_rates(self, prices: PriceTable) -> None:
        short = Usage(input_tokens=50_000, cache_read_input_tokens=50_000, output_tokens=1000)
        long = Usage(input_tokens=50_001, cache_read_input_tokens=50_000, output_tokens=1000)
        assert prices.cost("claude-haiku-5-5", short) == pytest.approx(
            (50_000 * 0.10 + 50_000 * 0.01 + 1000 * 0.50) / MILLION
        )
        assert prices.cost("claude-haiku-5-5", long) == pytest.approx(
            (50_001 * 0.50 + 50_000 * 0.05 + 1000 * 2.50) / MILLION
        )


class TestPriceFile:
    def test_states_source_and_date(self, prices: PriceTable) -> None:
        assert prices.source.startswith("https://platform.claude.com/")
        assert prices.as_of == "2026-11-22"

    def test_every_tier_is_used(self) -> None:
        text = resources.files("app.gateway").joinpath("prices.toml").read_text()
        data = tomllib.loads(text)
        used = {data["default"], *data["models"].values(), *data["families"].values()}
        assert used == set(data["tiers"])

    def test_unknown_tier_names_are_rejected(self) -> None:
        text = 'default = "nope"\n[tiers.a]\ninput=1\noutput=1\ncache_write_5m=1\n'
        with pytest.raises(ValueError):
            PriceTable.from_toml(text + "cache_write_1h=1\ncache_read=1\n")

    def test_missing_rates_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="cache_read"):
            PriceTable.from_toml('default = "a"\n[tiers.a]\ninput=1\noutput=1\n')
