"""The gateway in front of a real (fake) upstream, both on uvicorn: relay, meter, budget."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.gateway import Gateway, Usage, default_prices
from app.gateway.budget import Ledger, budget_message
from app.gateway.guard import Guard
from app.gateway.identity import TokenRegistry, VariationKey
from app.gateway.policy import is_api_path
from app.gateway.proxy import Proxy
from app.gateway.rules import RequestRules

from .conftest import Sinks
from .fake_anthropic import FakeAnthropic

BODY: dict[str, Any] = {
    "model": "claude-sonnet-4-5-20250929",
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "hello"}],
}
SCENARIO_USAGE = Usage(
    input_tokens=1200,
    output_tokens=345,
    cache_creation_input_tokens=2000,
    cache_read_input_tokens=10000,
)


def expected_cost(model: str, usage: Usage) -> float:
    rates = default_prices().price_for(model).rates
    return (
        usage.input_tokens * rates.input
        + usage.output_tokens * rates.output
        + usage.cache_creation_input_tokens * rates.cache_write_5m
        + usage.cache_read_input_tokens * rates.cache_read
    ) / 1_000_000


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    return [
        json.loads(line[len(b"data: ") :])
        for line in raw.split(b"\n")
        if line.startswith(b"data: ")
    ]


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        yield http


class TestStreaming:
    async def test_chunks_reach_the_client_before_the_upstream_finishes(
        self, gateway: Gateway, upstream: FakeAnthropic, sinks: Sinks, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        token = gateway.issue_token("run-1", 0, model="claude-sonnet-4-5")
        upstream.scenario.hold = asyncio.Event()
        received = b""
        async with client.stream(
            "POST", "/v1/messages", json={**BODY, "stream": True}, headers={"x-api-key": token}
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            chunks = response.aiter_raw()
            async with asyncio.timeout(5):  # a buffering proxy would hang here
                while b"message_start" not in received:
                    received += await anext(chunks)
            assert not upstream.stream_finished.is_set()
            upstream.scenario.hold.set()
            async for chunk in chunks:
                received += chunk
        assert upstream.stream_finished.is_set()
        events = sse_events(received)
        assert events[0]["type"] == "message_start"
        assert events[-1]["type"] == "message_stop"
        cost = expected_cost(BODY["model"], SCENARIO_USAGE)
        assert [entry[:3] for entry in sinks.usage] == [("run-1", 0, SCENARIO_USAGE)]
        assert sinks.usage[0][3] == pytest.approx(cost)
        assert gateway.usage_of("run-1", 0) == SCENARIO_USAGE
        assert gateway.cost_of("run-1", 0) == pytest.approx(cost)

    async def test_client_disconnect_stops_the_upstream_and_keeps_partial_usage(
        self, gateway: Gateway, upstream: FakeAnthropic, sinks: Sinks, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        token = gateway.issue_token("run-1", 0, model="claude-sonnet-4-5")
        upstream.scenario.hold = asyncio.Event()  # never set: the upstream waits forever
        async with client.stream(
            "POST", "/v1/messages", json={**BODY, "stream": True}, headers={"x-api-key": token}
        ) as response:
            async with asyncio.timeout(5):
                await anext(response.aiter_raw())
        async with asyncio.timeout(5):
            await upstream.stream_cancelled.wait()
            await sinks.recorded.wait()
        partial = Usage(1200, 1, 2000, 10000)  # what message_start said
        assert sinks.usage[0][:3] == ("run-1", 0, partial)

    async def test_upstream_failure_mid_stream_ends_with_an_error_event(
        self, gateway: Gateway, upstream: FakeAnthropic, sinks: Sinks, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        token = gateway.issue_token("run-1", 0, model="claude-sonnet-4-5")
        upstream.scenario.fail_mid_stream = True
        response = await client.post(
            "/v1/messages", json={**BODY, "stream": True}, headers={"x-api-key": token}
        )
        events = sse_events(response.content)
        assert events[0]["type"] == "message_start"
        assert events[-1] == {
            "type": "error",
            "error": {"type": "api_error", "message": "upstream connection lost mid-stream"},
        }
        assert sinks.usage[0][2] == Usage(1200, 1, 2000, 10000)


class TestNonStreaming:
    async def test_usage_and_cost_per_variation(
        self, gateway: Gateway, upstream: FakeAnthropic, sinks: Sinks, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        first = gateway.issue_token("run-1", 0, model="claude-sonnet-4-5")
        second = gateway.issue_token("run-1", 1, model="claude-sonnet-4-5")
        upstream.scenario.model = "claude-opus-4-5-20251101"
        small = {"input_tokens": 10, "output_tokens": 20}
        for token in (first, first):
            response = await client.post("/v1/messages", json=BODY, headers={"x-api-key": token})
            assert response.status_code == 200
            assert response.json()["usage"] == SCENARIO_USAGE.as_dict()
        upstream.scenario.usage = small
        response = await client.post(
            "/v1/messages", json=BODY, headers={"authorization": f"Bearer {second}"}
        )
        assert response.status_code == 200

        big_cost = expected_cost("claude-opus-4-5", SCENARIO_USAGE)
        small_usage = Usage(input_tokens=10, output_tokens=20)
        small_cost = expected_cost("claude-opus-4-5", small_usage)
        assert small_cost == pytest.approx((10 * 5 + 20 * 25) / 1_000_000)
        assert [entry[:3] for entry in sinks.usage] == [
            ("run-1", 0, SCENARIO_USAGE),
            ("run-1", 0, SCENARIO_USAGE),
            ("run-1", 1, small_usage),
        ]
        assert [entry[3] for entry in sinks.usage] == pytest.approx(
            [big_cost, big_cost, small_cost]
        )
        assert gateway.usage_of("run-1", 0) == SCENARIO_USAGE + SCENARIO_USAGE
        assert gateway.cost_of("run-1", 1) == pytest.approx(small_cost)
        assert gateway.spent_of("run-1") == pytest.approx(2 * big_cost + small_cost)

    @pytest.mark.parametrize(
        ("status", "error_type", "retry_after"),
        [
            (429, "rate_limit_error", "7"),
            (500, "api_error", None),
            (529, "overloaded_error", "1"),
            (400, "invalid_request_error", None),
        ],
    )
    async def test_upstream_errors_reach_the_client_unchanged(
        self,
        gateway: Gateway,
        upstream: FakeAnthropic,
        sinks: Sinks,
        client: httpx.AsyncClient,
        status: int,
        error_type: str,
        retry_after: str | None,
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        token = gateway.issue_token("run-1", 0, model="claude-sonnet-4-5")
        body = json.dumps(
            {"type": "error", "error": {"type": error_type, "message": f"upstream says {status}"}}
        ).encode()
        upstream.scenario.error_status = status
        upstream.scenario.error_body = body
        upstream.scenario.retry_after = retry_after
        for stream in (False, True):
            response = await client.post(
                "/v1/messages", json={**BODY, "stream": stream}, headers={"x-api-key": token}
            )
            assert response.status_code == status
            assert response.content == body
            assert response.headers.get("retry-after") == retry_after
        assert sinks.usage == []

    async def test_count_tokens_passes_through_unmetered_and_models_is_refused(
        self, gateway: Gateway, upstream: FakeAnthropic, sinks: Sinks, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        headers = {"x-api-key": gateway.issue_token("run-1", 0, model="claude-sonnet-4-5")}
        counted = await client.post("/v1/messages/count_tokens", json=BODY, headers=headers)
        models = await client.get("/v1/models", headers=headers)
        assert counted.json() == {"input_tokens": 42}
        assert models.status_code == 403
        assert [seen.path for seen in upstream.seen] == ["/v1/messages/count_tokens"]
        assert sinks.usage == []


class TestIdentity:
    async def test_unknown_revoked_and_missing_tokens_get_401(
        self, gateway: Gateway, upstream: FakeAnthropic, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        revoked = gateway.issue_token("run-1", 0, model="claude-sonnet-4-5")
        gateway.revoke("run-1", 0)
        closed_run = gateway.issue_token("run-1", 1, model="claude-sonnet-4-5")
        gateway.close_run("run-1")
        for headers in (
            {"x-api-key": "sk-ant-wrong"},
            {"x-api-key": revoked},
            {"authorization": f"Bearer {closed_run}"},
            {},
        ):
            response = await client.post("/v1/messages", json=BODY, headers=headers)
            assert response.status_code == 401
            assert response.json() == {
                "type": "error",
                "error": {"type": "authentication_error", "message": "invalid x-api-key"},
            }
        assert upstream.seen == []

    async def test_only_allow_listed_headers_travel_upstream(
        self, gateway: Gateway, upstream: FakeAnthropic, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        token = gateway.issue_token("run-1", 0, model="claude-sonnet-4-5")
        response = await client.post(
            "/v1/messages?beta=true",
            json=BODY,
            headers={
                "x-api-key": token,
                "anthropic-version": "2023-06-01",
                "anthropic-beta": "prompt-caching-2024-07-31",
                "cookie": "session=1",
                "x-forwarded-for": "10.0.0.1",
                "x-custom": "nope",
            },
        )
        assert response.status_code == 200
        seen = upstream.seen[0]
        names = {name for name, _ in seen.headers}
        assert names <= {
            "host",
            "accept",
            "accept-encoding",
            "connection",
            "user-agent",
            "content-type",
            "content-length",
            "anthropic-version",
            "anthropic-beta",
        }
        assert dict(seen.headers)["anthropic-beta"] == "prompt-caching-2024-07-31"
        assert seen.query == "beta=true"
        assert json.loads(seen.body) == BODY


class TestBudget:
    async def test_budget_stops_the_second_variation(
        self, gateway: Gateway, upstream: FakeAnthropic, sinks: Sinks, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=0.01)
        gateway.open_run("run-2", budget_usd=0.01)
        first = {"x-api-key": gateway.issue_token("run-1", 0, model="claude-sonnet-4-5")}
        second = {"x-api-key": gateway.issue_token("run-1", 1, model="claude-sonnet-4-5")}
        other_run = {"x-api-key": gateway.issue_token("run-2", 0, model="claude-sonnet-4-5")}

        ok = await client.post("/v1/messages", json={**BODY, "stream": True}, headers=first)
        assert ok.status_code == 200
        spent = gateway.spent_of("run-1")
        assert spent == pytest.approx(expected_cost(BODY["model"], SCENARIO_USAGE))
        assert spent > 0.01

        message = budget_message(0.01, spent)
        for _ in range(2):
            refused = await client.post("/v1/messages", json=BODY, headers=second)
            assert refused.status_code == 402
            assert refused.headers["x-should-retry"] == "false"
            assert refused.json() == {
                "type": "error",
                "error": {"type": "billing_error", "message": message},
            }
        assert sinks.budget == [("run-1", 1, message)]
        refused = await client.post("/v1/messages", json=BODY, headers=first)
        assert refused.status_code == 402
        assert sinks.budget == [("run-1", 1, message), ("run-1", 0, message)]
        assert len([s for s in upstream.seen if s.path == "/v1/messages"]) == 1

        # Free endpoints still work, and another run's budget is its own.
        counted = await client.post("/v1/messages/count_tokens", json=BODY, headers=second)
        assert counted.status_code == 200
        assert (await client.post("/v1/messages", json=BODY, headers=other_run)).status_code == 200

    async def test_resumed_run_with_spent_budget_is_refused(
        self, gateway: Gateway, upstream: FakeAnthropic, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=1.0, spent_usd=1.0)
        token = gateway.issue_token("run-1", 0, model="claude-sonnet-4-5")
        response = await client.post("/v1/messages", json=BODY, headers={"x-api-key": token})
        assert response.status_code == 402
        assert upstream.seen == []


class TestRouting:
    async def test_unmeterable_and_unknown_paths_are_refused(
        self, gateway: Gateway, upstream: FakeAnthropic, client: httpx.AsyncClient
    ) -> None:
        gateway.open_run("run-1", budget_usd=None)
        headers = {"x-api-key": gateway.issue_token("run-1", 0, model="claude-sonnet-4-5")}
        batches = await client.post("/v1/messages/batches", json={}, headers=headers)
        assert batches.status_code == 403
        assert batches.json()["error"]["type"] == "permission_error"
        assert (await client.get("/admin", headers=headers)).status_code == 403
        assert (await client.get("/", headers=headers)).status_code == 403
        assert upstream.seen == []

    @pytest.mark.parametrize(
        ("path", "ok"),
        [
            ("/v1/messages", True),
            ("/v1/models/claude-sonnet-4-5", True),
            ("/v1/../admin", False),
            ("/v1/./messages", False),
            ("/v1", False),
            ("/v1/", False),
            ("/v2/messages", False),
            ("/v1/messages%2f..", False),
        ],
    )
    def test_api_paths(self, path: str, ok: bool) -> None:
        assert is_api_path(path) is ok

    async def test_upstream_unreachable_is_a_502(self, sinks: Sinks) -> None:
        gw = Gateway(
            upstream_url="http://127.0.0.1:9",  # discard port: nothing listens
            api_key=None,
            on_usage=sinks.on_usage,
            on_budget_exhausted=sinks.on_budget_exhausted,
            upstream_timeout=5,
        )
        await gw.start()
        try:
            gw.open_run("run-1", budget_usd=None)
            token = gw.issue_token("run-1", 0, model="claude-sonnet-4-5")
            async with httpx.AsyncClient(base_url=gw.url) as http:
                response = await http.post("/v1/messages", json=BODY, headers={"x-api-key": token})
        finally:
            await gw.stop()
        assert response.status_code == 502
        assert response.json()["error"]["type"] == "api_error"

    async def test_oversized_requests_get_413(self, upstream: FakeAnthropic, sinks: Sinks) -> None:
        tokens, ledger = TokenRegistry(), Ledger()
        ledger.open("run-1", budget_usd=None)
        proxy = Proxy(
            upstream_url=upstream.url,
            api_key=None,
            tokens=tokens,
            ledger=ledger,
            prices=default_prices(),
            on_usage=sinks.on_usage,
            on_budget_exhausted=sinks.on_budget_exhausted,
            upstream_timeout=5,
            guard=(guard := Guard(RequestRules(max_request_bytes=1000))),
        )
        guard.pin(VariationKey("run-1", 0), "claude-sonnet-4-5")
        token = tokens.issue(VariationKey("run-1", 0))
        transport = httpx.ASGITransport(app=proxy.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            big = {**BODY, "messages": [{"role": "user", "content": "x" * 2000}]}
            response = await http.post("/v1/messages", json=big, headers={"x-api-key": token})
            fine = await http.post("/v1/messages", json=BODY, headers={"x-api-key": token})
        await proxy.aclose()
        assert response.status_code == 413
        assert response.json()["error"]["type"] == "request_too_large"
        assert fine.status_code == 200
        assert len(upstream.seen) == 1
