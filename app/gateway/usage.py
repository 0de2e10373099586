"""Token usage: the `Usage` record and meters that read it from Messages API responses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)

# An SSE event larger than this is not a usage event; drop it instead of buffering it.
MAX_SSE_EVENT_BYTES = 1 << 20


@dataclass(frozen=True)
class Usage:
    """Token counts of one response, or a sum of responses."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_creation_input_tokens=(
                self.cache_creation_input_tokens + other.cache_creation_input_tokens
            ),
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
        )

    @property
    def prompt_tokens(self) -> int:
        """All input-side tokens of a request: fresh, cache written and cache read."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    def as_dict(self) -> dict[str, int]:
        """The four counts as a dict (the shape of the protocol's `usage` data)."""
        return asdict(self)


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


class UsageMeter:
    """Collects the model name and usage of one Messages API response."""

    def __init__(self) -> None:
        self.model: str | None = None
        self.seen = False
        self.cache_write_1h_tokens = 0
        self.web_search_requests = 0
        self._counts: dict[str, int] = {}

    def observe_usage(self, usage: Any) -> None:
        """Take counts from a `usage` object; later values win (they are cumulative)."""
        if not isinstance(usage, Mapping):
            return
        for name in USAGE_FIELDS:
            count = _count(usage.get(name))
            if count is not None:
                self._counts[name] = count
                self.seen = True
        creation = usage.get("cache_creation")
        if isinstance(creation, Mapping):
            one_hour = _count(creation.get("ephemeral_1h_input_tokens"))
            if one_hour is not None:
                self.cache_write_1h_tokens = one_hour
        server_tools = usage.get("server_tool_use")
        if isinstance(server_tools, Mapping):
            searches = _count(server_tools.get("web_search_requests"))
            if searches is not None:
                self.web_search_requests = searches

    def observe_message(self, message: Any) -> None:
        """Take the model and usage of a `message` object (JSON body or `message_start`)."""
        if not isinstance(message, Mapping):
            return
        model = message.get("model")
        if isinstance(model, str) and model:
            self.model = model
        self.observe_usage(message.get("usage"))

    def observe_json_body(self, body: bytes) -> None:
        """Read a non-streaming response body; bodies that are not messages are ignored."""
        try:
            message = json.loads(body)
        except ValueError:
            return
        self.observe_message(message)

    def usage(self) -> Usage:
        """The usage seen so far."""
        return Usage(**{name: self._counts.get(name, 0) for name in USAGE_FIELDS})


class SseUsageMeter(UsageMeter):
    """A meter fed with raw SSE bytes as they stream past, in chunks of any size."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = b""
        self._carry = b""

    def feed(self, chunk: bytes) -> None:
        """Consume one chunk; complete events are parsed, partial ones wait for more."""
        data = self._carry + chunk
        # A CRLF may be split across chunks: hold a trailing CR until the next chunk.
        self._carry = b"\r" if data.endswith(b"\r") else b""
        if self._carry:
            data = data[:-1]
        self._buffer += data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        while True:
            event, sep, rest = self._buffer.partition(b"\n\n")
            if not sep:
                break
            self._buffer = rest
            self._parse_event(event)
        if len(self._buffer) > MAX_SSE_EVENT_BYTES:
            self._buffer = b""

    def _parse_event(self, raw: bytes) -> None:
        name = b""
        data: list[bytes] = []
        for line in raw.split(b"\n"):
            field, _, value = line.partition(b":")
            value = value[1:] if value.startswith(b" ") else value
            if field == b"event":
                name = value
            elif field == b"data":
                data.append(value)
        # Only two event types carry usage; skipping the rest keeps the side parse cheap.
        if name not in (b"message_start", b"message_delta", b"") or not data:
            return
        try:
            payload = json.loads(b"\n".join(data))
        except ValueError:
            return
        if not isinstance(payload, Mapping):
            return
        if payload.get("type") == "message_start":
            self.observe_message(payload.get("message"))
        elif payload.get("type") == "message_delta":
            self.observe_usage(payload.get("usage"))
