"""The official anthropic SDK, pointed at the gateway with a variation token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import pytest
from structlog.testing import capture_logs

from app.gateway import Gateway, Usage

from .conftest import Sinks
from .fake_anthropic import FakeAnthropic

TOOLS: list[Any] = [
    {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]
MESSAGES: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
EXPECTED = Usage(1200, 345, 2000, 10000)


@pytest.fixture
async def sdk(gateway: Gateway, upstream: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    upstream.scenario.tool_use = True
    gateway.open_run("run-sdk", budget_usd=None)
    client = anthropic.AsyncAnthropic(
        base_url=gateway.url,
        api_key=gateway.issue_token("run-sdk", 2, model="claude-sonnet-5-5"),
        max_retries=0,
    )
    yield client
    await client.close()


def assert_tool_use(content: list[Any]) -> None:
    assert [block.type for block in content] == ["text", "tool_use"]
    tool = content[1]
    assert (tool.name, tool.input, tool.id) == ("get_weather", {"city": "Paris"}, "toolu_01")


async def test_sdk_non_streaming_with_tool_use(
    sdk: anthropic.AsyncAnthropic, sinks: Sinks, upstream: FakeAnthropic
) -> None:
    message = await sdk.messages.create(
        model="claude-sonnet-5-5", max_tokens=256, messages=MESSAGES, tools=TOOLS
    )
    assert message.stop_reason == "tool_use"
    assert_tool_use(message.content)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (1200, 345)
    assert message.usage.cache_read_input_tokens == 10000
    assert sinks.usage[0][:3] == ("run-sdk", 2, EXPECTED)
    assert dict(upstream.seen[0].headers)["anthropic-version"]  # the SDK's own, passed on


async def test_sdk_streaming_with_tool_use(sdk: anthropic.AsyncAnthropic, sinks: Sinks) -> None:
    texts: list[str] = []
    async with sdk.messages.stream(
        model="claude-sonnet-5-5", max_tokens=256, messages=MESSAGES, tools=TOOLS
    ) as stream:
        async for text in stream.text_stream:
            texts.append(text)
        final = await stream.get_final_message()
    assert "".join(texts) == "Checking the weather."
    assert final.stop_reason == "tool_use"
    assert_tool_use(final.content)
    assert (final.usage.input_tokens, final.usage.output_tokens) == (1200, 345)
    assert sinks.usage[0][:3] == ("run-sdk", 2, EXPECTED)


async def test_sdk_sees_budget_refusal_as_an_error_and_does_not_retry(
    gateway: Gateway, sdk: anthropic.AsyncAnthropic
) -> None:
    gateway.open_run("run-sdk", budget_usd=0)  # reopen with nothing to spend
    retrying = sdk.with_options(
        api_key=gateway.issue_token("run-sdk", 2, model="claude-sonnet-5-5"), max_retries=3
    )
    with capture_logs() as logs, pytest.raises(anthropic.APIStatusError) as refused:
        await retrying.messages.create(model="claude-sonnet-5-5", max_tokens=8, messages=MESSAGES)
    assert refused.value.status_code == 402
    assert "budget exhausted" in str(refused.value)
    assert [entry["event"] for entry in logs] == ["gateway.budget_exhausted"]


async def test_sdk_with_a_wrong_key_gets_authentication_error(gateway: Gateway) -> None:
    client = anthropic.AsyncAnthropic(base_url=gateway.url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        await client.messages.create(model="claude-sonnet-5-5", max_tokens=8, messages=MESSAGES)
    await client.close()
