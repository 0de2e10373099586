"""Anthropic Messages API shapes: the message object, its SSE events, errors, token counts."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator
from typing import Any

from app.scripted_model.conversation import Reply

# Roughly four characters per token: close enough for plausible usage numbers.
_CHARS_PER_TOKEN = 4
_TEXT_CHUNK_WORDS = 3
_JSON_CHUNK_CHARS = 48
_WORDS = re.compile(r"\S+\s*|\s+")


def estimate_tokens(*parts: Any) -> int:
    """A token estimate for JSON-able parts (at least 1)."""
    size = sum(len(part if isinstance(part, str) else _dumps(part)) for part in parts)
    return max(1, math.ceil(size / _CHARS_PER_TOKEN))


def input_tokens(request: dict[str, Any]) -> int:
    """Estimated input tokens of a Messages request (system, messages and tools)."""
    return estimate_tokens(
        request.get("system") or "", request.get("messages") or [], request.get("tools") or []
    )


def new_message_id() -> str:
    """A fresh message id in Anthropic's `msg_...` style."""
    return f"msg_scripted_{uuid.uuid4().hex[:24]}"


def usage(input_count: int, output_count: int) -> dict[str, Any]:
    """A usage object as the API reports it (no caching on the scripted model)."""
    return {
        "input_tokens": input_count,
        "output_tokens": output_count,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "service_tier": "standard",
    }


def message_body(reply: Reply, *, message_id: str, model: str, input_count: int) -> dict[str, Any]:
    """The complete (non-streaming) message object."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": reply.content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": usage(input_count, estimate_tokens(reply.content)),
    }


def error_body(error_type: str, message: str) -> dict[str, Any]:
    """An Anthropic-style error body, e.g. `not_found_error`."""
    return {"type": "error", "error": {"type": error_type, "message": message}}


def stream_events(reply: Reply, *, message_id: str, model: str, input_count: int) -> Iterator[str]:
    """The SSE event sequence of one message, each event a complete `event:/data:` frame."""
    start = message_body(reply, message_id=message_id, model=model, input_count=input_count)
    start["content"] = []
    start["stop_reason"] = None
    start["usage"] = usage(input_count, 1)
    yield _event("message_start", {"type": "message_start", "message": start})
    yield _event("ping", {"type": "ping"})
    for index, block in enumerate(reply.content):
        yield from _block_events(index, block)
    yield _event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": estimate_tokens(reply.content)},
        },
    )
    yield _event("message_stop", {"type": "message_stop"})


def _block_events(index: int, block: dict[str, Any]) -> Iterator[str]:
    if block["type"] == "text":
        opening: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in _text_pieces(block["text"])]
    else:
        opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        deltas = [
            {"type": "input_json_delta", "partial_json": piece}
            # A string input is sent as it is: the scripted judge's broken-JSON answer.
            for piece in _json_pieces(
                block["input"] if isinstance(block["input"], str) else _dumps(block["input"])
            )
        ]
    yield _event(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": opening},
    )
    for delta in deltas:
        yield _event(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        )
    yield _event("content_block_stop", {"type": "content_block_stop", "index": index})


def _text_pieces(text: str) -> list[str]:
    words = _WORDS.findall(text)
    return [
        "".join(words[start : start + _TEXT_CHUNK_WORDS])
        for start in range(0, len(words), _TEXT_CHUNK_WORDS)
    ] or [""]


def _json_pieces(encoded: str) -> list[str]:
    return [
        encoded[start : start + _JSON_CHUNK_CHARS]
        for start in range(0, len(encoded), _JSON_CHUNK_CHARS)
    ]


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {_dumps(data)}\n\n"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
