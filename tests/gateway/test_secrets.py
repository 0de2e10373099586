"""G9: the real key reaches only the upstream; agents' tokens never leave the gateway."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from structlog.testing import capture_logs

from app.gateway import Gateway

from .conftest import Sinks
from .fake_anthropic import FakeAnthropic

BODY = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}


@pytest.fixture
def canary() -> str:
    return "sk-ant-canary-" + secrets.token_hex(16)


@pytest.fixture
async def keyed_gateway(
    upstream: FakeAnthropic, sinks: Sinks, canary: str
) -> AsyncIterator[Gateway]:
    gw = Gateway(
        upstream_url=upstream.url,
        api_key=canary,
        on_usage=sinks.on_usage,
        on_budget_exhausted=sinks.on_budget_exhausted,
        upstream_timeout=5,
    )
    await gw.start()
    yield gw
    await gw.stop()


def transcript(response: httpx.Response) -> str:
    """Everything a client can see of a response."""
    return f"{response.status_code} {list(response.headers.items())} {response.text}"


async def exercise(gw: Gateway, upstream: FakeAnthropic, run_id: str) -> tuple[str, list[str]]:
    """Every kind of request and answer; returns what clients saw and the tokens used."""
    gw.open_run(run_id, budget_usd=0.02)
    token = gw.issue_token(run_id, 0, model="claude-sonnet-4-5")
    bearer = gw.issue_token(run_id, 1, model="claude-sonnet-4-5")
    seen: list[str] = []
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as http:
        auth = {"x-api-key": token}
        upstream.scenario.error_status = 429
        upstream.scenario.error_body = b'{"type":"error","error":{"type":"rate_limit_error"}}'
        seen.append(transcript(await http.post("/v1/messages", json=BODY, headers=auth)))
        upstream.scenario.error_status = None
        seen.append(transcript(await http.post("/v1/messages", json=BODY, headers=auth)))
        streamed = await http.post(
            "/v1/messages",
            json={**BODY, "stream": True},
            headers={"authorization": f"Bearer {bearer}"},
        )
        seen.append(transcript(streamed))
        seen.append(transcript(await http.get("/v1/models", headers=auth)))
        seen.append(transcript(await http.post("/v1/messages", json=BODY, headers=auth)))  # 402
        seen.append(transcript(await http.post("/v1/messages", json=BODY, headers={})))  # 401
        bad = {"x-api-key": token + "x"}
        seen.append(transcript(await http.post("/v1/messages", json=BODY, headers=bad)))
    statuses = [int(text.split(" ", 1)[0]) for text in seen]
    assert statuses == [429, 200, 200, 403, 402, 401, 401]
    return "\n".join(seen), [token, bearer]


async def test_canary_key_goes_upstream_and_nowhere_else(
    keyed_gateway: Gateway,
    upstream: FakeAnthropic,
    canary: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    with capture_logs() as captured:
        seen_by_clients, tokens = await exercise(keyed_gateway, upstream, "run-captured")
    # Again with structlog's own output (stdout) and stdlib logging live.
    printed_by_clients, more_tokens = await exercise(keyed_gateway, upstream, "run-printed")
    await asyncio.sleep(0)
    out, err = capfd.readouterr()

    assert captured, "the gateway logged nothing: this test would prove nothing"
    assert "gateway.response" in out + err
    for secret in (canary, *tokens, *more_tokens):
        assert secret not in seen_by_clients + printed_by_clients
        assert secret not in json.dumps(captured, default=str)
        assert secret not in caplog.text
        assert secret not in out + err

    assert len(upstream.seen) == 6  # 3 per exercise: 429, 200, streamed 200
    for request in upstream.seen:
        headers = dict(request.headers)
        assert headers["x-api-key"] == canary
        assert "authorization" not in headers
        raw = repr(request.headers) + request.body.decode() + request.query
        for token in (*tokens, *more_tokens):
            assert token not in raw


async def test_unreachable_upstream_error_does_not_leak_the_key(
    sinks: Sinks, canary: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gw = Gateway(
        upstream_url="http://127.0.0.1:9",
        api_key=canary,
        on_usage=sinks.on_usage,
        on_budget_exhausted=sinks.on_budget_exhausted,
    )
    await gw.start()
    try:
        gw.open_run("r", budget_usd=None)
        token = gw.issue_token("r", 0, model="claude-sonnet-4-5")
        with capture_logs() as captured:
            async with httpx.AsyncClient(base_url=gw.url) as http:
                response = await http.post("/v1/messages", json=BODY, headers={"x-api-key": token})
    finally:
        await gw.stop()
    assert response.status_code == 502
    assert any(entry["event"] == "gateway.upstream_unreachable" for entry in captured)
    for text in (transcript(response), json.dumps(captured, default=str), caplog.text):
        assert canary not in text
        assert token not in text


def test_the_key_is_not_in_the_gateways_repr(canary: str, sinks: Sinks) -> None:
    gw = Gateway(
        upstream_url="http://127.0.0.1:9",
        api_key=canary,
        on_usage=sinks.on_usage,
        on_budget_exhausted=sinks.on_budget_exhausted,
    )
    proxy = vars(gw)["_proxy"]
    assert canary not in repr(vars(gw)) + repr(vars(proxy))
