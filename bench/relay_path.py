"""The server's relay path in one process: CPU per agent line, without HTTP or other processes.

    uv run python bench/relay_path.py [--lines 100000] [--repeat 3]

A child process (`cat` of a file of protocol lines) stands in for the agent; the server's
own code reads its stdout (`stream_child`), parses and encodes each line (`pump_agent`),
commits them in batches to a fresh SQLite event log and SSE-encodes them for the hub. CPU
time of this process (every thread) per line is the figure: other jobs on a shared machine
slow it far less than they slow wall time. Printed beside it: the wall rate, the batches,
and the transactions' wall and CPU time per row.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import schema  # noqa: E402
from app.db import Database  # noqa: E402
from app.events import sqlite_lines  # noqa: E402
from app.events.log import EventLog  # noqa: E402
from app.models import Run, utcnow  # noqa: E402
from app.runners.child import stream_child  # noqa: E402
from app.runs import repository as repo  # noqa: E402
from app.runs.variation import pump_agent  # noqa: E402


class CatRunner:
    """A runner whose agent is `cat FILE`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, _job: object) -> object:
        return stream_child(["cat", str(self.path)], cwd=None, env={})


class Job:
    """The job fields pump_agent reads."""

    run_id = "bench"
    variation_id = 0
    turn = 1
    seq_base = 0


class Outcome:
    """The outcome fields pump_agent fills."""

    def __init__(self) -> None:
        self.result: dict[str, object] = {}
        self.error: str | None = None
        self.status: object = None
        self.exit_code: int | None = None


async def one_round(tmp: Path, lines: Path, count: int) -> dict[str, float]:
    """Relay `count` lines once into a fresh database."""
    db = Database(f"sqlite+aiosqlite:///{tmp / 'aideator.db'}")
    await schema.upgrade(db)
    delivered = [0]

    def on_commit(committed: dict[str, list[object]]) -> None:
        delivered[0] += sum(len(events) for events in committed.values())

    log = EventLog(db, on_commit=on_commit)
    await log.start()
    run = Run(id="bench", repo_url="x", prompt="p", backend="local", status="running",
              timeout_seconds=60, created_at=utcnow())  # fmt: skip
    await log.write(statements=[insert(repo.RUNS).values(run.model_dump())])
    transactions: list[tuple[float, float, int]] = []
    original = sqlite_lines._transaction

    def timed(conn: object, rows: list[object], stamp: str) -> tuple[list[int], int]:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(conn, rows, stamp)  # type: ignore[arg-type]
        finally:
            transactions.append((time.perf_counter() - wall, time.thread_time() - cpu, len(rows)))

    sqlite_lines._transaction = timed  # type: ignore[assignment]
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        await pump_agent(log, CatRunner(lines), Job(), Outcome())  # type: ignore[arg-type]
        await log.close()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        sqlite_lines._transaction = original
        await db.dispose()
        (tmp / "aideator.db").unlink()
    if delivered[0] != count:
        raise SystemExit(f"{delivered[0]} of {count} lines were committed")
    return {
        "cpu_us": 1e6 * cpu / count,
        "rate": count / wall,
        "batches": len(transactions),
        "tx_wall_us": 1e6 * sum(t[0] for t in transactions) / count,
        "tx_cpu_us": 1e6 * sum(t[1] for t in transactions) / count,
    }


async def main() -> None:
    """Run the rounds and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        lines = tmp / "lines.txt"
        with lines.open("w") as out:
            for n in range(args.lines):
                out.write(
                    f'{{"v":1,"seq":{n},"type":"log","text":"{time.time_ns()} {n}",'
                    '"data":{"source":"stdout"}}\n'
                )
        rounds = [await one_round(tmp, lines, args.lines) for _ in range(args.repeat)]
    med = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(f"{args.lines} protocol lines through the server's relay path (SQLite), "
          f"median of {args.repeat}")  # fmt: skip
    print(f"  CPU per line, whole process     {med['cpu_us']:6.1f} us")
    print(f"  of which in transactions        {med['tx_cpu_us']:6.1f} us "
          f"({med['tx_wall_us']:.1f} us of wall time, {med['batches']:.0f} batches)")  # fmt: skip
    print(f"  wall rate                       {med['rate']:8.0f} lines/s")


if __name__ == "__main__":
    asyncio.run(main())
