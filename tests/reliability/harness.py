"""Light, CPU-cheap helpers for the reliability suite (many clients in one process)."""

from __future__ import annotations

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
    client: httpx.AsyncClient, url: str, log: StreamLog, *, max_events: int | None = None
) -> None:
    """Read one connection (resuming after log.last) until the server ends the stream (after
    the run's last `complete`) or max_events; a winner picked after the end is followed by a
    second `complete`, so a client must not stop at the first one."""
    headers = {} if log.last is None else {"Last-Event-ID": str(log.last)}
    got = 0
    buffer = b""
    async with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
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


def database_ids(db_file: Path, run_id: str) -> list[int]:
    """Event ids of a run straight from SQLite (the source of truth)."""
    import sqlite3

    with sqlite3.connect(db_file) as conn:
        rows = conn.execute(
            "SELECT run_seq FROM events WHERE run_id = ? ORDER BY run_seq", (run_id,)
        )
        return [r[0] for r in rows]


def event_payloads(db_file: Path, run_id: str) -> list[dict[str, object]]:
    """Payloads of a run's agent_output events."""
    import sqlite3

    with sqlite3.connect(db_file) as conn:
        rows = conn.execute(
            "SELECT payload FROM events WHERE run_id = ? AND type = 'agent_output' "
            "ORDER BY run_seq",
            (run_id,),
        )
        return [json.loads(r[0]) for r in rows]


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
