"""A tiny Anthropic Messages API stand-in for gateway tests: streams slowly, returns usage."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Seen:
    """One request as the upstream received it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Scenario:
    """What the next responses look like."""

    model: str = "claude-sonnet-4-5-20250929"
    usage: dict[str, int] = field(
        default_factory=lambda: {
            "input_tokens": 1200,
            "output_tokens": 345,
            "cache_creation_input_tokens": 2000,
            "cache_read_input_tokens": 10000,
        }
    )
    tool_use: bool = False
    error_status: int | None = None
    error_body: bytes = b""
    retry_after: str | None = None
    # When set, a stream pauses after message_start until the test sets it.
    hold: asyncio.Event | None = None
    # Drop the connection after message_start, as a crashed upstream would.
    fail_mid_stream: bool = False


ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class FakeAnthropic:
    """The upstream: records every request, answers per the current scenario."""

    def __init__(self) -> None:
        self.scenario = Scenario()
        self.seen: list[Seen] = []
        self.url = ""
        self.stream_started = asyncio.Event()
        self.stream_finished = asyncio.Event()
        self.stream_cancelled = asyncio.Event()
        self.app = Starlette(
            routes=[
                Route("/v1/messages", self.messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self.count_tokens, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
                # Any other request is recorded and answered 200, as the real API would
                # for the endpoints a key can reach (files, models, ...).
                Route("/{path:path}", self.anything, methods=ALL_METHODS),
            ]
        )

    async def _record(self, request: Request) -> bytes:
        body = await request.body()
        self.seen.append(
            Seen(
                request.method,
                request.url.path,
                request.url.query,
                list(request.headers.items()),
                body,
            )
        )
        return body

    def _content(self) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = [{"type": "text", "text": "Checking the weather."}]
        if self.scenario.tool_use:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                }
            )
        return blocks

    async def messages(self, request: Request) -> Response:
        body = json.loads(await self._record(request))
        scenario = self.scenario
        if scenario.error_status is not None:
            headers = {"retry-after": scenario.retry_after} if scenario.retry_after else {}
            return Response(
                scenario.error_body,
                status_code=scenario.error_status,
                media_type="application/json",
                headers=headers,
            )
        stop_reason = "tool_use" if scenario.tool_use else "end_turn"
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "msg_01",
                    "type": "message",
                    "role": "assistant",
                    "model": scenario.model,
                    "content": self._content(),
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": scenario.usage,
                }
            )
        return StreamingResponse(self._stream(stop_reason), media_type="text/event-stream")

    async def _stream(self, stop_reason: str) -> AsyncIterator[bytes]:
        scenario = self.scenario
        start_usage = {**scenario.usage, "output_tokens": 1}
        self.stream_started.set()
        try:
            yield _sse(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_01",
                        "type": "message",
                        "role": "assistant",
                        "model": scenario.model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": start_usage,
                    },
                },
            )
            if scenario.hold is not None:
                await scenario.hold.wait()
            if scenario.fail_mid_stream:
                raise RuntimeError("upstream crashed mid-stream")
            for index, block in enumerate(self._content()):
                for chunk in self._block_events(index, block):
                    await asyncio.sleep(0.005)
                    yield chunk
            yield _sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": scenario.usage["output_tokens"]},
                },
            )
            yield _sse("message_stop", {"type": "message_stop"})
            self.stream_finished.set()
        except asyncio.CancelledError:
            self.stream_cancelled.set()
            raise

    def _block_events(self, index: int, block: dict[str, Any]) -> list[bytes]:
        start: dict[str, Any]
        if block["type"] == "text":
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        return [
            _sse(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start},
            ),
            _sse("ping", {"type": "ping"}),
            _sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            ),
            _sse("content_block_stop", {"type": "content_block_stop", "index": index}),
        ]

    async def count_tokens(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"input_tokens": 42})

    async def anything(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"data": [], "path": request.url.path})

    async def models(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"data": [{"id": self.scenario.model, "type": "model"}]})
