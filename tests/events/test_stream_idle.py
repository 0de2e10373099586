"""An idle SSE stream: pings from its own wake-ups, and its end once the server stops."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from app.events.stream import run_event_stream


class _QuietTail:
    """A run with no new events: waits just sleep until their timeout."""

    version = 0

    def __init__(self) -> None:
        self.timeouts: list[float] = []

    def chunks_after(self, cursor: int) -> list[Any]:
        return []

    async def wait(self, seen: int, timeout: float) -> None:
        self.timeouts.append(timeout)
        await asyncio.sleep(timeout)


class _Hub:
    def __init__(self) -> None:
        self.tail = _QuietTail()
        self.detached = False

    async def attach(self, run_id: str) -> _QuietTail:
        return self.tail

    def detach(self, tail: _QuietTail) -> None:
        self.detached = True


async def test_an_idle_stream_pings_after_each_quiet_interval() -> None:
    hub = _Hub()
    stream = run_event_stream(
        db=None,  # type: ignore[arg-type]
        hub=hub,  # type: ignore[arg-type]
        run_id="r",
        after=0,
        retry_ms=2000,
        ping_interval=0.1,
    )
    started = time.monotonic()
    chunks = [await anext(stream) for _ in range(3)]
    assert chunks == [b"retry: 2000\n\n", b": ping\n\n", b": ping\n\n"]
    assert time.monotonic() - started >= 0.2
    # It sleeps until the next ping is due, not in short polls.
    assert all(t > 0.05 for t in hub.tail.timeouts[:2])
    await stream.aclose()
    assert hub.detached


async def test_a_stopping_server_interrupts_runs_once_and_ends_the_stream() -> None:
    hub = _Hub()
    stopping = asyncio.Event()
    calls: list[str] = []
    stream = run_event_stream(
        db=None,  # type: ignore[arg-type]
        hub=hub,  # type: ignore[arg-type]
        run_id="r",
        after=0,
        retry_ms=2000,
        shutdown=stopping,
        on_shutdown=lambda: calls.append("stop"),
        ping_interval=60,
        shutdown_grace=0.3,
    )
    assert await anext(stream) == b"retry: 2000\n\n"
    stopping.set()
    started = time.monotonic()
    rest = [chunk async for chunk in stream]
    assert rest == []
    assert calls == ["stop"]
    assert 0.25 <= time.monotonic() - started < 5
    assert hub.detached
