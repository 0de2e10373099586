"""A small SSE reader for tests (real HTTP against a real server)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class SSE:
    id: int | None
    event: str
    data: str

    @property
    def json(self) -> Any:
        return json.loads(self.data)


async def read_sse(response: httpx.Response) -> AsyncIterator[SSE]:
    """Parse an event-stream response into events (comments and retry lines skipped)."""
    event, data, ident = "message", [], None
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield SSE(ident, event, "\n".join(data))
            event, data, ident = "message", [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id":
            ident = int(value)


async def collect(
    client: httpx.AsyncClient,
    url: str,
    *,
    last_event_id: int | None = None,
    limit: int | None = None,
) -> list[SSE]:
    """Read a stream until the server ends it (or `limit` events) and return the events.

    The server closes a run's stream after its last `complete`; a winner picked after the
    end comes with a second one, so stopping at the first would miss it.
    """
    headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
    out: list[SSE] = []
    async with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        async for item in read_sse(response):
            out.append(item)
            if limit is not None and len(out) >= limit:
                break
    return out
