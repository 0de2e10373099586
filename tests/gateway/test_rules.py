"""Least privilege: allow-listed endpoints, pinned models, bounded requests, a rate cap."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.gateway import Gateway, RequestRules
from app.gateway.guard import MAX_RECORDED_REFUSALS
from app.gateway.rate import RateWindow
from app.gateway.rules import (
    DEFAULT_ENDPOINTS,
    RuleError,
    model_allowed,
    parse_endpoints,
)
from app.model_plane import request_rules

from .conftest import Sinks
from .fake_anthropic import FakeAnthropic

OWN_MODEL = "claude-sonnet-4-5"


def body(model: str = OWN_MODEL, max_tokens: int = 1024, **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": "hi"}],
        **extra,
    }


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        yield http


async def start(upstream: FakeAnthropic, sinks: Sinks, rules: RequestRules) -> Gateway:
    gw = Gateway(
        upstream_url=upstream.url,
        api_key="sk-ant-canary",
        on_usage=sinks.on_usage,
        on_budget_exhausted=sinks.on_budget_exhausted,
        on_refusal=sinks.on_refusal,
        rules=rules,
        upstream_timeout=10,
    )
    await gw.start()
    gw.open_run("run-1", budget_usd=None)
    return gw


class TestHostileRequests:
    async def test_everything_but_the_own_model_messages_is_refused_before_the_upstream(
        self, gateway: Gateway, upstream: FakeAnthropic, sinks: Sinks, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        auth = {"x-api-key": gateway.issue_token("run-1", 0, model=OWN_MODEL)}
        attempts = [
            ("GET", "/v1/files", None, "endpoint"),
            ("DELETE", "/v1/files/file_123", None, "endpoint"),
            ("GET", "/v1/models", None, "endpoint"),
            ("POST", "/v1/complete", {"prompt": "x"}, "endpoint"),
            ("POST", "/v1/messages/batches", {"requests": []}, "endpoint"),
            ("PUT", "/v1/messages", body(), "endpoint"),
            ("POST", "/v1/messages", body(model="claude-opus-4-5"), "model"),
            ("POST", "/v1/messages/count_tokens", body(model="claude-opus-4-5"), "model"),
            ("POST", "/v1/messages", body(max_tokens=128_001), "max_tokens"),
            ("GET", "/admin", None, "endpoint"),
        ]
        for method, path, payload, _ in attempts:
            response = await client.request(method, path, json=payload, headers=auth)
            assert response.status_code == 403, (method, path, response.text)
            error = response.json()["error"]
            assert error["type"] == "permission_error"
            assert "rule:" in error["message"]
            assert response.headers["x-should-retry"] == "false"
        assert upstream.seen == [], "a refused request reached the upstream"
        assert [(p["method"], p["path"], p["rule"]) for _, _, p in sinks.refusals] == [
            (method, path, rule) for method, path, _, rule in attempts
        ]
        assert [p["count"] for _, _, p in sinks.refusals] == list(range(1, len(attempts) + 1))
        assert {(run, vid) for run, vid, _ in sinks.refusals} == {("run-1", 0)}

        allowed = await client.post("/v1/messages", json=body(), headers=auth)
        assert allowed.status_code == 200
        assert [seen.path for seen in upstream.seen] == ["/v1/messages"]
        assert gateway.models_used("run-1", 0) == {OWN_MODEL: 1}
        assert gateway.refusals_of("run-1", 0) == {"endpoint": 7, "model": 2, "max_tokens": 1}

    async def test_dated_ids_and_the_background_model_pass(
        self, gateway: Gateway, upstream: FakeAnthropic, sinks: Sinks, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        auth = {"x-api-key": gateway.issue_token("run-1", 2, model=OWN_MODEL)}
        for model in ("claude-sonnet-4-5-20250929", "claude-haiku-5-5", OWN_MODEL):
            response = await client.post("/v1/messages", json=body(model=model), headers=auth)
            assert response.status_code == 200, response.text
        counted = await client.post("/v1/messages/count_tokens", json=body(), headers=auth)
        assert counted.status_code == 200
        assert len(upstream.seen) == 4 and sinks.refusals == []
        assert gateway.models_used("run-1", 2) == {
            "claude-sonnet-4-5-20250929": 1,
            "claude-haiku-5-5": 1,
            OWN_MODEL: 1,
        }

    async def test_another_variations_model_is_not_this_ones(
        self, gateway: Gateway, upstream: FakeAnthropic, sinks: Sinks, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        gateway.issue_token("run-1", 0, model="claude-opus-4-5")
        small = {"x-api-key": gateway.issue_token("run-1", 1, model=OWN_MODEL)}
        response = await client.post("/v1/messages", json=body("claude-opus-4-5"), headers=small)
        assert response.status_code == 403
        assert "claude-opus-4-5 is not allowed" in response.json()["error"]["message"]
        assert upstream.seen == []

    async def test_big_bodies_are_checked_too(
        self, gateway: Gateway, upstream: FakeAnthropic, sinks: Sinks, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        auth = {"x-api-key": gateway.issue_token("run-1", 0, model=OWN_MODEL)}
        text = [{"role": "user", "content": "x" * 600_000}]  # parsed off the event loop
        bigger = await client.post(
            "/v1/messages", json=body("claude-opus-4-5", messages=text), headers=auth
        )
        own = await client.post("/v1/messages", json=body(messages=text), headers=auth)
        assert (bigger.status_code, own.status_code) == (403, 200)
        assert [p["rule"] for _, _, p in sinks.refusals] == ["model"]
        assert len(upstream.seen) == 1 and len(upstream.seen[0].body) > 600_000

    @pytest.mark.parametrize(
        "raw",
        [b"not json", b"[1]", b'{"max_tokens": 5}', b'{"model": "claude-sonnet-4-5"}'],
    )
    async def test_requests_the_rules_cannot_read_are_refused(
        self,
        gateway: Gateway,
        upstream: FakeAnthropic,
        sinks: Sinks,
        client: httpx.AsyncClient,
        raw: bytes,
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        auth = {"x-api-key": gateway.issue_token("run-1", 0, model=OWN_MODEL)}
        response = await client.post("/v1/messages", content=raw, headers=auth)
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"
        assert upstream.seen == []
        assert [p["rule"] for _, _, p in sinks.refusals] == ["malformed"]

    async def test_a_hammering_agent_becomes_at_most_twenty_events(
        self, gateway: Gateway, upstream: FakeAnthropic, sinks: Sinks, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        auth = {"x-api-key": gateway.issue_token("run-1", 0, model=OWN_MODEL)}
        for _ in range(MAX_RECORDED_REFUSALS + 5):
            assert (await client.get("/v1/files", headers=auth)).status_code == 403
        assert len(sinks.refusals) == MAX_RECORDED_REFUSALS
        assert [p["last_recorded"] for _, _, p in sinks.refusals][-2:] == [False, True]
        assert gateway.refusals_of("run-1", 0) == {"endpoint": MAX_RECORDED_REFUSALS + 5}


class TestOperatorBounds:
    async def test_extra_endpoints_are_forwarded_only_when_configured(
        self, upstream: FakeAnthropic, sinks: Sinks
    ) -> None:
        rules = RequestRules(endpoints=DEFAULT_ENDPOINTS | parse_endpoints("GET /v1/models"))
        gw = await start(upstream, sinks, rules)
        try:
            auth = {"x-api-key": gw.issue_token("run-1", 0, model=OWN_MODEL)}
            async with httpx.AsyncClient(base_url=gw.url) as http:
                models = await http.get("/v1/models", headers=auth)
                files = await http.get("/v1/files", headers=auth)
        finally:
            await gw.stop()
        assert models.status_code == 200 and files.status_code == 403
        assert [(s.method, s.path) for s in upstream.seen] == [("GET", "/v1/models")]
        assert dict(upstream.seen[0].headers)["x-api-key"] == "sk-ant-canary"

    async def test_body_size_and_max_tokens_ceilings(
        self, upstream: FakeAnthropic, sinks: Sinks
    ) -> None:
        gw = await start(upstream, sinks, RequestRules(max_tokens=4096, max_request_bytes=4096))
        try:
            auth = {"x-api-key": gw.issue_token("run-1", 0, model=OWN_MODEL)}
            async with httpx.AsyncClient(base_url=gw.url) as http:
                big = body(messages=[{"role": "user", "content": "x" * 5000}])
                too_big = await http.post("/v1/messages", json=big, headers=auth)
                too_many = await http.post("/v1/messages", json=body(max_tokens=4097), headers=auth)
                fine = await http.post("/v1/messages", json=body(max_tokens=4096), headers=auth)
        finally:
            await gw.stop()
        assert too_big.status_code == 413
        assert too_big.json()["error"]["type"] == "request_too_large"
        assert too_many.status_code == 403 and "4096" in too_many.json()["error"]["message"]
        assert fine.status_code == 200
        assert len(upstream.seen) == 1
        assert [p["rule"] for _, _, p in sinks.refusals] == ["body_size", "max_tokens"]

    async def test_rate_cap_answers_429_with_retry_after(
        self, upstream: FakeAnthropic, sinks: Sinks
    ) -> None:
        gw = await start(upstream, sinks, RequestRules(requests_per_minute=3))
        try:
            first = {"x-api-key": gw.issue_token("run-1", 0, model=OWN_MODEL)}
            other = {"x-api-key": gw.issue_token("run-1", 1, model=OWN_MODEL)}
            async with httpx.AsyncClient(base_url=gw.url) as http:
                statuses = [
                    (await http.post("/v1/messages", json=body(), headers=first)).status_code
                    for _ in range(3)
                ]
                capped = await http.post("/v1/messages", json=body(), headers=first)
                neighbour = await http.post("/v1/messages", json=body(), headers=other)
        finally:
            await gw.stop()
        assert statuses == [200, 200, 200]
        assert capped.status_code == 429
        assert capped.json()["error"]["type"] == "rate_limit_error"
        assert 1 <= int(capped.headers["retry-after"]) <= 60
        assert capped.headers["x-should-retry"] == "true"
        assert neighbour.status_code == 200, "the cap is per variation"
        assert len(upstream.seen) == 4
        assert [p["rule"] for _, _, p in sinks.refusals] == ["rate"]


class TestRuleParts:
    @pytest.mark.parametrize(
        ("requested", "allowed", "ok"),
        [
            ("claude-sonnet-4-5", ["claude-sonnet-4-5"], True),
            ("claude-sonnet-4-5-20250929", ["claude-sonnet-4-5"], True),
            ("claude-sonnet-4-5[1m]", ["claude-sonnet-4-5"], True),
            ("claude-opus-4-5", ["claude-sonnet-4-5"], False),
            ("claude-sonnet-4-6", ["claude-sonnet-4-5"], False),
            ("claude-sonnet-5-5", ["sonnet"], True),
            ("claude-opus-5-5", ["sonnet"], False),
            ("claude-opus-5-5", ["opusplan"], True),
            ("my-sonnet-proxy", ["sonnet"], False),
            ("scripted/fix-correct", ["scripted/fix-correct"], True),
            ("scripted/fix-bad", ["scripted/fix-correct"], False),
            ("claude-haiku-5-5", [], False),
        ],
    )
    def test_model_pinning(self, requested: str, allowed: list[str], ok: bool) -> None:
        assert model_allowed(requested, allowed) is ok

    def test_endpoint_settings(self) -> None:
        assert parse_endpoints(" get /v1/models , POST /v1/x/ ") == {
            ("GET", "/v1/models"),
            ("POST", "/v1/x"),
        }
        assert parse_endpoints("") == frozenset()
        for bad in ("/v1/models", "FETCH /v1/models", "GET /admin", "POST /v1/messages/batches"):
            with pytest.raises(RuleError):
                parse_endpoints(bad)

    def test_settings_build_the_rules_and_name_bad_values(self) -> None:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            gateway_extra_endpoints="GET /v1/models",
            gateway_background_models="",
            gateway_max_tokens=64_000,
        )
        rules = request_rules(settings)
        assert rules.endpoints == DEFAULT_ENDPOINTS | {("GET", "/v1/models")}
        assert rules.background_models == () and rules.max_tokens == 64_000
        default = request_rules(Settings(_env_file=None))  # type: ignore[call-arg]
        assert default.endpoints == DEFAULT_ENDPOINTS
        assert default.background_models == ("claude-haiku-5-5",)
        with pytest.raises(ValueError, match="never forwarded"):
            Settings(_env_file=None, gateway_extra_endpoints="POST /v1/complete")  # type: ignore[call-arg]

    def test_rate_window_slides(self) -> None:
        now = [0.0]
        window = RateWindow(2, clock=lambda: now[0])
        assert window.admit("a") is None and window.admit("a") is None
        assert window.admit("a") == 60
        assert window.admit("b") is None
        now[0] = 59.5
        assert window.admit("a") == 1
        now[0] = 60.0
        assert window.admit("a") is None
