"""A pool of Dagger engines: least-loaded placement, a cap per engine, down-marking.

Each engine is a runner host (`tcp://…`, `kube-pod://…`, …) the dagger CLI reaches through
`_EXPERIMENTAL_DAGGER_RUNNER_HOST`, set per call. An engine that fails to connect is marked
down for a while; leases then go to the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from typing import Any

WAIT_RECHECK_SECONDS = 1.0  # a waiting lease re-checks this often (down periods end)


class NoEngineAvailable(Exception):
    """Every engine the call may use is marked down."""


@dataclass
class Engine:
    """One engine and what the pool knows about it."""

    host: str
    active: int = 0
    down_until: float = 0.0
    last_error: str | None = None


class EnginePool:
    """Hands out engines least-loaded first, at most `per_engine` calls on each at once."""

    def __init__(
        self,
        hosts: list[str],
        *,
        per_engine: int,
        down_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not hosts:
            raise ValueError("an engine pool needs at least one engine")
        self._engines = [Engine(host) for host in hosts]
        self._cap = per_engine
        self._down_seconds = down_seconds
        self._clock = clock
        self._changed = asyncio.Condition()

    @property
    def down_seconds(self) -> float:
        """How long an engine that failed to connect is left alone."""
        return self._down_seconds

    def _is_up(self, engine: Engine) -> bool:
        return engine.down_until <= self._clock()

    def _pick(self, exclude: Collection[str]) -> Engine | None:
        usable = [e for e in self._engines if e.host not in exclude and self._is_up(e)]
        if not usable:
            down = [e for e in self._engines if e.host not in exclude]
            reasons = "; ".join(f"{e.host}: {e.last_error or 'down'}" for e in down)
            raise NoEngineAvailable(f"no Dagger engine is available ({reasons or 'none left'})")
        free = [e for e in usable if e.active < self._cap]
        # min() keeps the first of equals: ties go to the engine listed first.
        return min(free, key=lambda e: e.active) if free else None

    @contextlib.asynccontextmanager
    async def lease(self, exclude: Collection[str] = ()) -> AsyncIterator[Engine]:
        """The least-loaded usable engine, waiting while every one is at its cap."""
        async with self._changed:
            while (engine := self._pick(exclude)) is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), WAIT_RECHECK_SECONDS)
            engine.active += 1
        try:
            yield engine
        finally:
            async with self._changed:
                engine.active -= 1
                self._changed.notify_all()

    async def mark_down(self, host: str, reason: str) -> None:
        """Leave the engine alone for `down_seconds` (it failed to connect)."""
        async with self._changed:
            for engine in self._engines:
                if engine.host == host:
                    engine.down_until = self._clock() + self._down_seconds
                    engine.last_error = reason
            self._changed.notify_all()

    def any_up(self) -> bool:
        """Whether at least one engine is not marked down."""
        return any(self._is_up(e) for e in self._engines)

    def states(self) -> list[dict[str, Any]]:
        """Each engine's state, for /ready."""
        now = self._clock()
        return [
            {
                "host": e.host,
                "state": "up" if self._is_up(e) else "down",
                "active": e.active,
                "max_active": self._cap,
                "down_for_seconds": max(0.0, round(e.down_until - now, 1)),
                "last_error": e.last_error,
            }
            for e in self._engines
        ]
