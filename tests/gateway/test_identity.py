"""Per-variation tokens: issue, resolve, revoke; where agents put them."""

from __future__ import annotations

from app.gateway.identity import TOKEN_PREFIX, TokenRegistry, VariationKey, token_from_headers


class TestTokenRegistry:
    def test_tokens_resolve_to_their_variation(self) -> None:
        registry = TokenRegistry()
        a = registry.issue(VariationKey("r", 0))
        b = registry.issue(VariationKey("r", 1))
        assert a != b
        assert a.startswith(TOKEN_PREFIX) and len(a) > len(TOKEN_PREFIX) + 40
        assert registry.resolve(a) == VariationKey("r", 0)
        assert registry.resolve(b) == VariationKey("r", 1)
        assert registry.resolve(a + "x") is None
        assert registry.resolve("") is None
        assert registry.resolve(None) is None

    def test_reissue_replaces_the_old_token(self) -> None:
        registry = TokenRegistry()
        old = registry.issue(VariationKey("r", 0))
        new = registry.issue(VariationKey("r", 0))
        assert registry.resolve(old) is None
        assert registry.resolve(new) == VariationKey("r", 0)

    def test_revoke_and_revoke_run(self) -> None:
        registry = TokenRegistry()
        a = registry.issue(VariationKey("r", 0))
        b = registry.issue(VariationKey("r", 1))
        c = registry.issue(VariationKey("other", 0))
        registry.revoke(VariationKey("r", 0))
        registry.revoke(VariationKey("r", 0))  # idempotent
        assert registry.resolve(a) is None
        assert registry.resolve(b) is not None
        registry.revoke_run("r")
        assert registry.resolve(b) is None
        assert registry.resolve(c) == VariationKey("other", 0)

    def test_the_registry_does_not_hold_token_text(self) -> None:
        registry = TokenRegistry()
        token = registry.issue(VariationKey("r", 0))
        assert token not in repr(vars(registry))


def test_token_from_headers() -> None:
    assert token_from_headers({"x-api-key": "k1"}) == "k1"
    assert token_from_headers({"authorization": "Bearer k2"}) == "k2"
    assert token_from_headers({"authorization": "bearer  k3 "}) == "k3"
    assert token_from_headers({"authorization": "Basic abc"}) is None
    assert token_from_headers({}) is None
