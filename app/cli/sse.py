"""Reads a run's Server-Sent Events stream, resuming with Last-Event-ID after a drop."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

MAX_RECONNECTS = 5
# The server pings every few seconds; a much longer silence means the connection is gone.
READ_TIMEOUT = 90.0


@dataclass(frozen=True)
class StreamEvent:
    """One SSE event: its id, name and decoded JSON data."""

    id: int | None
    event: str
    data: dict[str, Any] = field(default_factory=dict)


def _decode(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"raw": text}
    return value if isinstance(value, dict) else {"value": value}


def parse_events(lines: Iterable[str]) -> Iterator[StreamEvent]:
    """SSE lines to events; comments and `retry:` lines are skipped."""
    name, ident = "message", None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield StreamEvent(ident, name, _decode("\n".join(data)))
            name, ident, data = "message", None, []
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "data":
            data.append(value)
        elif key == "event":
            name = value
        elif key == "id" and value.isdigit():
            ident = int(value)


def follow_stream(
    http: httpx.Client,
    path: str,
    *,
    after: int = 0,
    error_of: Callable[[httpx.Response], Exception],
) -> Iterator[StreamEvent]:
    """Events after `after` until the server ends the stream after `complete`.

    A dropped connection is resumed from the last event seen, so nothing is lost or repeated.
    """
    last, failures, done = after, 0, False
    timeout = httpx.Timeout(30.0, read=READ_TIMEOUT)
    while True:
        headers = {"Last-Event-ID": str(last)} if last else {}
        try:
            with http.stream("GET", path, headers=headers, timeout=timeout) as res:
                if res.status_code >= 400:
                    res.read()
                    raise error_of(res)
                for event in parse_events(res.iter_lines()):
                    failures = 0
                    if event.id is not None:
                        last = event.id
                    done = done or event.event == "complete"
                    yield event
            if done:
                return
        except httpx.TransportError:
            if done:
                return
        failures += 1
        if failures > MAX_RECONNECTS:
            raise httpx.ReadError("the event stream kept dropping")
        time.sleep(min(0.25 * 2**failures, 5.0))
