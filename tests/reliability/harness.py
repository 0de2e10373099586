"""Light, CPU-cheap helpers for the reliability suite (many clients in one process)."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import httpx

_ID = re.compile(rb"^id: (\d+)$", re.M)


@dataclass
class StreamLog:
    """What one client received: event ids in order, and whether it saw `complete`."""

    ids: list[int] = field(default_factory=list)
    complete: bool = False
    reconnects: int = 0

    @property
    def last(self) -> int | None:
        return self.ids[-1] if self.ids else None


async def read_until(
    client: httpx.AsyncClient,
    url: str,
    log: StreamLog,
    *,
    max_events: int | None = None,
    drop_after: float | None = None,
) -> None:
    """Read one connection (resuming after log.last) until the server ends the stream (after
    the run's last `complete`) or max_events; a winner picked after the end is followed by a
    second `complete`, so a client must not stop at the first one.

    `drop_after` s after the server answered, the client hangs up (TimeoutError). The clock
    starts at the answer, not the request: on a loaded machine a request can wait seconds
    for its answer, and a drop timed from the request would cut connections that never got
    to read anything.
    """
    headers = {} if log.last is None else {"Last-Event-ID": str(log.last)}
    async with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        if drop_after is None:
            await _read(response, log, max_events)
        else:
            async with asyncio.timeout(drop_after):
                await _read(response, log, max_events)


async def _read(response: httpx.Response, log: StreamLog, max_events: int | None) -> None:
    got = 0
    buffer = b""
    async for chunk in response.aiter_raw():
        buffer += chunk
        cut = buffer.rfind(b"\n\n")
        if cut < 0:
            continue
        block, buffer = buffer[: cut + 2], buffer[cut + 2 :]
        for raw in block.split(b"\n\n"):
            match = _ID.search(raw)
            if match is None:
                continue
            log.ids.append(int(match.group(1)))
            log.complete = b"event: complete" in raw
            got += 1
            if max_events is not None and got >= max_events:
                return


@dataclass(frozen=True)
class Store:
    """The database a reliability test's servers share: SQLite or PostgreSQL."""

    name: str
    url: str

    @property
    def settings(self) -> dict[str, str]:
        """ServerProcess settings that put a server on this database."""
        return {"database_url": self.url}

    async def events(self, run_id: str) -> list[tuple[int, str, str]]:
        """(id, type, payload) of a run's committed events, straight from the database."""
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine
        from sqlalchemy.pool import NullPool

        engine = create_async_engine(self.url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text(
                        "SELECT run_seq, type, payload FROM events WHERE run_id = :run_id "
                        "ORDER BY run_seq"
                    ),
                    {"run_id": run_id},
                )
                return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]
        finally:
            await engine.dispose()

    async def ids(self, run_id: str) -> list[int]:
        """Event ids of a run (the source of truth)."""
        return [event_id for event_id, _, _ in await self.events(run_id)]

    async def payloads(self, run_id: str) -> list[dict[str, object]]:
        """Payloads of a run's agent_output events."""
        return [
            json.loads(payload)
            for _, type_, payload in await self.events(run_id)
            if type_ == "agent_output"
        ]


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def processes_with_env(marker: str) -> list[int]:
    """Pids whose environment holds `marker` (to find leftover agents)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker.encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found
