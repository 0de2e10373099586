"""The official anthropic SDK and raw HTTP against the scripted model on a real uvicorn."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx
import pytest

SYSTEM = "You are a coding agent.\n - Primary working directory: /workspace\n"
TOOLS: list[Any] = [
    {"name": name, "description": name, "input_schema": {"type": "object"}}
    for name in ("Read", "Edit", "Write", "Bash")
]
FIRST: list[Any] = [{"role": "user", "content": "Fix the failing test"}]


@pytest.fixture
async def client(scripted_url: str) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        base_url=scripted_url, api_key="placeholder", max_retries=0
    ) as sdk:
        yield sdk


def answer_all(content: list[Any]) -> dict[str, Any]:
    """A user message holding one successful tool_result per tool_use block."""
    return {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": block.id, "content": "ok"}
            for block in content
            if block.type == "tool_use"
        ],
    }


class TestMessages:
    async def test_non_streaming_first_turn_has_tool_use(
        self, client: anthropic.AsyncAnthropic
    ) -> None:
        message = await client.messages.create(
            model="scripted/fix-correct",
            max_tokens=1024,
            system=SYSTEM,
            tools=TOOLS,
            messages=FIRST,
        )
        assert message.stop_reason == "tool_use"
        assert message.role == "assistant"
        assert message.model == "scripted/fix-correct"
        assert message.content[0].type == "text"
        calls = [block for block in message.content if block.type == "tool_use"]
        assert [(c.name, c.input) for c in calls] == [
            ("Read", {"file_path": "/workspace/tests/test_summary.py"}),
            ("Read", {"file_path": "/workspace/numstats/summary.py"}),
        ]
        assert message.usage.input_tokens > 10
        assert message.usage.output_tokens > 5

    async def test_streaming_matches_non_streaming(self, client: anthropic.AsyncAnthropic) -> None:
        kwargs: dict[str, Any] = {
            "model": "scripted/fix-alt",
            "max_tokens": 1024,
            "system": SYSTEM,
            "tools": TOOLS,
            "messages": FIRST,
        }
        whole = await client.messages.create(**kwargs)
        deltas: list[str] = []
        async with client.messages.stream(**kwargs) as stream:
            async for event in stream:
                if event.type == "content_block_delta":
                    deltas.append(event.delta.type)
            streamed = await stream.get_final_message()
        assert {"text_delta", "input_json_delta"} <= set(deltas)
        assert [b.model_dump() for b in streamed.content] == [b.model_dump() for b in whole.content]
        assert streamed.stop_reason == "tool_use"
        assert streamed.usage.input_tokens == whole.usage.input_tokens
        assert streamed.usage.output_tokens == whole.usage.output_tokens > 0

    async def test_a_whole_scenario_to_end_turn(self, client: anthropic.AsyncAnthropic) -> None:
        messages: list[Any] = list(FIRST)
        names: list[str] = []
        usage_in: list[int] = []
        for _ in range(10):
            async with client.messages.stream(
                model="scripted/fix-correct",
                max_tokens=1024,
                system=SYSTEM,
                tools=TOOLS,
                messages=messages,
            ) as stream:
                message = await stream.get_final_message()
            usage_in.append(message.usage.input_tokens)
            names += [block.name for block in message.content if block.type == "tool_use"]
            if message.stop_reason == "end_turn":
                break
            messages += [
                {"role": "assistant", "content": [b.model_dump() for b in message.content]},
                answer_all(message.content),
            ]
        assert message.stop_reason == "end_turn"
        assert [block.type for block in message.content] == ["text"]
        assert names == ["Read", "Read", "Edit", "Bash"]
        edit = messages[3]["content"][1]
        assert edit["input"]["file_path"] == "/workspace/numstats/summary.py"
        assert "middle - 1" in edit["input"]["new_string"]
        assert usage_in == sorted(usage_in) and usage_in[0] < usage_in[-1]

    async def test_count_tokens_grows_with_the_request(
        self, client: anthropic.AsyncAnthropic
    ) -> None:
        small = await client.messages.count_tokens(model="scripted/fix-correct", messages=FIRST)
        big = await client.messages.count_tokens(
            model="scripted/fix-correct",
            messages=[{"role": "user", "content": "word " * 2000}],
        )
        assert 0 < small.input_tokens < big.input_tokens
        assert 2000 <= big.input_tokens <= 5000

    async def test_unknown_scenario_is_not_found(self, client: anthropic.AsyncAnthropic) -> None:
        with pytest.raises(anthropic.NotFoundError) as caught:
            await client.messages.create(
                model="scripted/no-such-scenario", max_tokens=10, messages=FIRST
            )
        assert caught.value.status_code == 404
        assert "scripted/no-such-scenario" in str(caught.value)
        with pytest.raises(anthropic.NotFoundError):
            await client.messages.count_tokens(model="scripted/no-such-scenario", messages=FIRST)

    async def test_side_request_with_another_model_gets_short_text(
        self, client: anthropic.AsyncAnthropic
    ) -> None:
        message = await client.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=FIRST
        )
        assert message.stop_reason == "end_turn"
        assert message.content[0].type == "text"
        assert "not Claude" in message.content[0].text

    async def test_models_list_the_scenarios(self, client: anthropic.AsyncAnthropic) -> None:
        page = await client.models.list()
        ids = [model.id for model in page.data]
        assert "scripted/fix-correct" in ids and "scripted/no-change" in ids
        model = await client.models.retrieve("scripted/fix-bad")
        assert model.id == "scripted/fix-bad"


class TestRawHttp:
    async def test_sse_event_order(self, scripted_url: str) -> None:
        body = {"model": "scripted/no-change", "max_tokens": 100, "stream": True}
        body |= {"system": SYSTEM, "tools": TOOLS, "messages": FIRST}
        async with httpx.AsyncClient(base_url=scripted_url) as http:
            response = await http.post("/v1/messages", json=body)
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [
            line.removeprefix("event: ")
            for line in response.text.splitlines()
            if line.startswith("event: ")
        ]
        assert events[:2] == ["message_start", "ping"]
        assert events[-2:] == ["message_delta", "message_stop"]
        assert events.count("content_block_start") == events.count("content_block_stop") == 2
        datas = [
            json.loads(line[6:]) for line in response.text.splitlines() if line[:6] == "data: "
        ]
        delta = next(d for d in datas if d["type"] == "message_delta")
        assert delta["delta"]["stop_reason"] == "tool_use"
        assert delta["usage"]["output_tokens"] > 0

    async def test_chunk_delay_paces_the_stream(self, paced_url: str) -> None:
        body = {"model": "scripted/fix-correct", "max_tokens": 100, "stream": True}
        body |= {"system": SYSTEM, "tools": TOOLS, "messages": FIRST}
        arrivals: list[float] = []
        async with (
            httpx.AsyncClient(base_url=paced_url) as http,
            http.stream("POST", "/v1/messages", json=body) as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    arrivals.append(time.monotonic())
        assert len(arrivals) > 8
        # Events arrive spread out, not in one burst at the end.
        assert arrivals[-1] - arrivals[0] >= 0.02 * (len(arrivals) - 1) * 0.8

    @pytest.mark.parametrize(
        ("method", "path", "content", "status", "error_type"),
        [
            ("GET", "/v1/organizations/whatever", None, 404, "not_found_error"),
            ("POST", "/v1/messages", b"{not json", 400, "invalid_request_error"),
            ("POST", "/v1/messages", b"[]", 400, "invalid_request_error"),
            ("POST", "/v1/messages", b'{"model": "scripted/fix-correct"}', 400, None),
        ],
    )
    async def test_errors_are_anthropic_shaped(
        self,
        scripted_url: str,
        method: str,
        path: str,
        content: bytes | None,
        status: int,
        error_type: str | None,
    ) -> None:
        async with httpx.AsyncClient(base_url=scripted_url) as http:
            response = await http.request(method, path, content=content)
        assert response.status_code == status
        body = response.json()
        assert body["type"] == "error"
        assert body["error"]["type"] == (error_type or "invalid_request_error")
        assert body["error"]["message"]

    async def test_missing_working_directory_is_a_400(self, scripted_url: str) -> None:
        body = {"model": "scripted/fix-correct", "max_tokens": 10, "tools": TOOLS}
        body["messages"] = FIRST
        async with httpx.AsyncClient(base_url=scripted_url) as http:
            response = await http.post("/v1/messages", json=body)
        assert response.status_code == 400
        assert "working directory" in response.json()["error"]["message"]
