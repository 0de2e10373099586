"""Capacity: concurrent variations at agent-typical rates one replica (or two) sustains.

    uv run python bench/capacity.py [--steps 1,2,4,8,16,32,64] [--rate 20] [--seconds 8]
                                    [--per-run 4] [--stores sqlite,postgresql,postgresql-x2]

Each step starts N variations (runs of `--per-run` variations each), every variation
printing `--rate` lines/s for `--seconds` s, and one SSE client per variation reading its
run's stream. A step is sustained when no line is lost or duplicated and the relay p99 (line
printed -> line read by a client) stays under 100 ms. Stores: `sqlite` (one replica),
`postgresql` (one replica on a throwaway PostgreSQL cluster), `postgresql-x2` (two replicas
on one database: runs are created on alternate replicas and each client reads from the
replica that does not run its variations).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.relay import EMIT, client_reader, pct  # noqa: E402
from tests.conftest import make_git_repo  # noqa: E402
from tests.postgres_server import PostgresServer, wait_ready  # noqa: E402
from tests.server_process import ServerProcess  # noqa: E402

P99_LIMIT_MS = 100.0


def _server(data: Path, database_url: str | None, replica: str) -> ServerProcess:
    settings = {
        "max_variations": "16",
        "max_concurrent_variations": "256",
        "max_active_runs": "256",
        "max_streams_per_client": "2000",
        "replica_id": replica,
    }
    if database_url is not None:
        settings["database_url"] = database_url
    return ServerProcess(data, **settings).start(timeout=60)


async def _step(
    servers: list[ServerProcess], repo: Path, variations: int, args: argparse.Namespace
) -> dict[str, float]:
    per_run = min(args.per_run, variations)  # steps below --per-run are one run of N
    runs = max(1, variations // per_run)
    count = int(args.rate * args.seconds)
    # Lines start once every agent is up: the step measures the relay, not start-up.
    start_at = f"{time.time() + 3 + 0.05 * variations:.3f}"
    spec = {
        "agent": "command",
        "command": [sys.executable, EMIT, str(count), str(args.rate), start_at],
    }
    readers = []
    for i in range(runs):
        writer, reader = servers[i % len(servers)], servers[(i + 1) % len(servers)]
        async with httpx.AsyncClient(base_url=writer.url, timeout=60) as client:
            body = {"repo_url": str(repo), "prompt": "bench", "variations": [spec] * per_run}
            res = await client.post("/api/v1/runs", json=body)
            res.raise_for_status()
        url = res.json()["stream_url"]
        readers += [client_reader(reader.url, url, per_run * count) for _ in range(per_run)]
    results = await asyncio.gather(*readers)
    lat = [x for r in results for x in r["lat"]]  # type: ignore[attr-defined]
    return {
        "variations": runs * per_run,
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "lost": sum(int(r["lost"]) for r in results),  # type: ignore[call-overload]
        "dupes": sum(int(r["dupes"]) for r in results),  # type: ignore[call-overload]
    }


async def _store(store: str, steps: list[int], args: argparse.Namespace, tmp: Path) -> None:
    postgres = None
    url = None
    if store.startswith("postgresql"):
        postgres = PostgresServer().start()
        wait_ready(postgres)
        url = await postgres.new_database()
    replicas = 2 if store.endswith("x2") else 1
    servers = [_server(tmp / f"{store}-{i}", url, f"r{i}") for i in range(replicas)]
    repo = make_git_repo(tmp / f"repo-{store}", {"README.md": "bench\n"})
    best = 0
    try:
        for n in steps:
            step = await _step(servers, repo, n, args)
            ok = step["lost"] == 0 and step["dupes"] == 0 and step["p99_ms"] < P99_LIMIT_MS
            best = int(step["variations"]) if ok else best
            print(
                f"  {store:14} {int(step['variations']):4} variations: p50 {step['p50_ms']:7.1f} ms"
                f"  p99 {step['p99_ms']:8.1f} ms  lost {int(step['lost'])}  dupes "
                f"{int(step['dupes'])}  {'ok' if ok else 'over'}",
                flush=True,
            )
            if not ok:
                break
    finally:
        for server in servers:
            server.stop()
        if postgres is not None:
            postgres.stop()
    print(f"  {store}: sustained {best} concurrent variations (p99 < {P99_LIMIT_MS:g} ms)")


async def main() -> None:
    gc.disable()  # the measuring client's own pauses are not the server's latency
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", default="1,2,4,8,16,32,64")
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--per-run", type=int, default=4)
    parser.add_argument("--stores", default="sqlite,postgresql,postgresql-x2")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the start")
    print(
        f"{args.rate:g} lines/s per variation for {args.seconds:g} s, one SSE client per "
        f"variation, runs of {args.per_run}; sustained = no loss, p99 < {P99_LIMIT_MS:g} ms"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for store in args.stores.split(","):
            await _store(store, steps, args, Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
