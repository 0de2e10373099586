"""Decides, before anything goes upstream, whether a variation's request may go at all."""

from __future__ import annotations

from collections import Counter
from typing import Any

from app.gateway.identity import VariationKey
from app.gateway.rate import RateWindow
from app.gateway.rules import (
    COUNT_TOKENS,
    MESSAGES,
    PolicyRefusal,
    RequestRules,
    body_refusal,
    endpoint_refusal,
    rate_refusal,
    size_refusal,
)

# A hostile agent can send refused requests in a loop; only this many become events.
MAX_RECORDED_REFUSALS = 20


class Guard:
    """Applies the request rules per variation and remembers what each one used."""

    def __init__(self, rules: RequestRules) -> None:
        self.rules = rules
        self._rate = RateWindow(rules.requests_per_minute)
        self._pins: dict[VariationKey, tuple[str, ...]] = {}
        self._used: dict[VariationKey, Counter[str]] = {}
        self._refusals: dict[VariationKey, Counter[str]] = {}

    def pin(self, key: VariationKey, model: str | None) -> None:
        """The models a variation may use: its own plus the configured background ones."""
        own = (model,) if model else ()
        self._pins[key] = own + tuple(m for m in self.rules.background_models if m != model)

    def allowed_models(self, key: VariationKey) -> tuple[str, ...]:
        """What `pin` allowed (the background models for an unpinned variation)."""
        return self._pins.get(key, self.rules.background_models)

    def forget_run(self, run_id: str) -> None:
        """Drop everything kept about a run's variations."""
        for table in (self._pins, self._used, self._refusals):
            for key in [k for k in table if k.run_id == run_id]:
                del table[key]
                self._rate.forget(key)

    def before_body(self, key: VariationKey, method: str, path: str) -> PolicyRefusal | None:
        """Rate cap, then the endpoint allow-list."""
        retry_after = self._rate.admit(key)
        if retry_after is not None:
            return rate_refusal(self.rules, method, path, retry_after)
        return endpoint_refusal(self.rules, method, path)

    def too_large(self, method: str, path: str) -> PolicyRefusal:
        """The refusal of a body over the size ceiling."""
        return size_refusal(self.rules, method, path)

    @staticmethod
    def reads_body(method: str, path: str) -> bool:
        """True for the Messages endpoints, whose body names a model to check."""
        # An operator-added endpoint has no model in it to check.
        return (method, path.rstrip("/")) in (MESSAGES, COUNT_TOKENS)

    def after_body(
        self, key: VariationKey, method: str, path: str, data: Any
    ) -> PolicyRefusal | None:
        """Model pinning and the max_tokens ceiling on a parsed Messages body."""
        refusal, model = body_refusal(self.rules, method, path, data, self.allowed_models(key))
        if refusal is None and model is not None and (method, path) == MESSAGES:
            self._used.setdefault(key, Counter())[model] += 1
        return refusal

    def count_refusal(self, key: VariationKey, rule: str) -> int:
        """Count a refusal; returns how many the variation has had (this one included)."""
        counts = self._refusals.setdefault(key, Counter())
        counts[rule] += 1
        return counts.total()

    def models_used(self, key: VariationKey) -> dict[str, int]:
        """Messages requests forwarded upstream, by requested model."""
        return dict(self._used.get(key, {}))

    def refusals(self, key: VariationKey) -> dict[str, int]:
        """Requests refused by rule."""
        return dict(self._refusals.get(key, {}))
