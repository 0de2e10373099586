"""Fixtures: a fake Anthropic upstream and the gateway, both on real uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.gateway import Gateway, Usage
from app.gateway.listener import Listener, bind_tcp

from .fake_anthropic import FakeAnthropic


@dataclass
class Sinks:
    """Records what the gateway reports to its host."""

    usage: list[tuple[str, int, Usage, float]] = field(default_factory=list)
    budget: list[tuple[str, int, str]] = field(default_factory=list)
    refusals: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    recorded: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_usage(self, run_id: str, variation_id: int, usage: Usage, cost: float) -> None:
        """UsageSink."""
        self.usage.append((run_id, variation_id, usage, cost))
        self.recorded.set()

    async def on_budget_exhausted(self, run_id: str, variation_id: int, message: str) -> None:
        """BudgetSink."""
        self.budget.append((run_id, variation_id, message))

    async def on_refusal(self, run_id: str, variation_id: int, payload: dict[str, Any]) -> None:
        """RefusalSink."""
        self.refusals.append((run_id, variation_id, payload))


@pytest.fixture
async def upstream() -> AsyncIterator[FakeAnthropic]:
    """The fake model API on a real uvicorn, any free port."""
    fake = FakeAnthropic()
    sock = bind_tcp("127.0.0.1", 0)
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    listener = Listener(fake.app, graceful_shutdown_seconds=1)
    await listener.start([sock])
    yield fake
    await listener.stop()


@pytest.fixture
def sinks() -> Sinks:
    """Fresh sinks per test."""
    return Sinks()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory path: Unix socket paths are limited to 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="gw-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def gateway(upstream: FakeAnthropic, sinks: Sinks, short_dir: Path) -> AsyncIterator[Gateway]:
    """A started gateway (TCP and Unix socket) in front of the fake upstream, no real key."""
    gw = Gateway(
        upstream_url=upstream.url,
        api_key=None,
        on_usage=sinks.on_usage,
        on_budget_exhausted=sinks.on_budget_exhausted,
        on_refusal=sinks.on_refusal,
        upstream_timeout=10,
    )
    await gw.start(unix_socket=short_dir / "gw.sock")
    yield gw
    await gw.stop()
