"""Relay benchmark: agent lines through the real server to SSE clients, beside a raw pipe.

    uv run python bench/relay.py [--variations 8] [--rate 250] [--clients 20] [--seconds 8]

Scenario A (latency): N variations each printing R lines/s for S seconds, M SSE clients;
lines start 3 s after the run is created, once every agent is up (relay, not start-up, latency).
Scenario B (throughput): one variation printing as fast as it can, one client.
Baseline: the same line generator read over a raw pipe in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import make_git_repo  # noqa: E402
from tests.server_process import ServerProcess  # noqa: E402

EMIT = str(ROOT / "bench" / "emit_lines.py")


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] / 1e6


LINE = re.compile(rb'"variation_id":(\d+),"seq":\d+,"type":"log","text":"(\d+) (\d+)"')


async def client_reader(base: str, url: str, expect: int) -> dict[str, object]:
    """Read one stream to `complete`; latency per line, loss and duplicates.

    Parses raw bytes with one regex so the measuring client costs little CPU.
    """
    lat: list[float] = []
    seen: dict[tuple[int, int], int] = {}
    first = last = 0.0
    buffer = b""
    async with httpx.AsyncClient(base_url=base, timeout=None) as client:
        async with client.stream("GET", url) as response:
            async for chunk in response.aiter_raw():
                now = time.time_ns()
                buffer += chunk
                cut = buffer.rfind(b"\n\n")
                if cut < 0:
                    continue
                block, buffer = buffer[: cut + 2], buffer[cut + 2 :]
                for vid, stamp, n in LINE.findall(block):
                    lat.append(now - int(stamp))
                    key = (int(vid), int(n))
                    seen[key] = seen.get(key, 0) + 1
                first = first or time.perf_counter()
                last = time.perf_counter()
                if b"event: complete" in block:
                    break
    return {
        "lat": lat,
        "lost": expect - len(seen),
        "dupes": sum(c - 1 for c in seen.values()),
        "rate": len(lat) / (last - first) if last > first else 0.0,
    }


async def through_server(
    server: ServerProcess, repo: Path, variations: int, count: int, rate: float, clients: int
) -> dict[str, object]:
    """Start one run and read it with `clients` SSE clients."""
    # Lines start 3 s from now, when every variation's agent is running (see emit_lines.py).
    start_at = f"{time.time() + 3:.3f}"
    spec = {
        "agent": "command",
        "command": [sys.executable, EMIT, str(count), str(rate), start_at],
    }
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        res = await client.post(
            "/api/v1/runs",
            json={"repo_url": str(repo), "prompt": "bench", "variations": [spec] * variations},
        )
        res.raise_for_status()
        url, run_id = res.json()["stream_url"], res.json()["run_id"]
    results = await asyncio.gather(
        *(client_reader(server.url, url, variations * count) for _ in range(clients))
    )
    lat = [x for r in results for x in r["lat"]]  # type: ignore[attr-defined]
    return {
        "lines": variations * count,
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "lost": sum(int(r["lost"]) for r in results),  # type: ignore[call-overload]
        "dupes": sum(int(r["dupes"]) for r in results),  # type: ignore[call-overload]
        "client_lines_per_s": statistics.median(float(r["rate"]) for r in results),  # type: ignore[arg-type]
        "durable_lines_per_s": durable_rate(server, run_id),
    }


def durable_rate(server: ServerProcess, run_id: str) -> float:
    """Agent lines committed per second, from the commit times stored with each row."""
    with sqlite3.connect(server.data_dir / "aideator.db") as conn:
        first, last, count = conn.execute(
            "SELECT min(created_at), max(created_at), count(*) FROM events "
            "WHERE run_id = ? AND type = 'agent_output'",
            (run_id,),
        ).fetchone()
    span = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
    return count / span if span > 0 else 0.0


async def raw_pipe(variations: int, count: int, rate: float) -> dict[str, object]:
    """The same generators read over plain pipes."""

    async def one() -> list[float]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, EMIT, str(count), str(rate), stdout=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        lat = []
        async for raw in proc.stdout:
            lat.append(time.time_ns() - int(raw.split()[0]))
        await proc.wait()
        return lat

    started = time.perf_counter()
    lat = [x for part in await asyncio.gather(*(one() for _ in range(variations))) for x in part]
    elapsed = time.perf_counter() - started
    return {
        "lines": len(lat),
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "lines_per_s": len(lat) / elapsed,
    }


def median_of(results: list[dict[str, object]]) -> dict[str, float]:
    """Per-key medians of numeric results (loss and duplicates: the worst round)."""
    keys = results[0].keys()
    out: dict[str, float] = {}
    for key in keys:
        values = [float(r[key]) for r in results]  # type: ignore[arg-type]
        out[key] = max(values) if key in ("lost", "dupes") else statistics.median(values)
    return out


async def main() -> None:
    # The measuring client's own collector pauses are not the server's latency.
    gc.disable()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variations", type=int, default=8)
    parser.add_argument("--rate", type=float, default=250.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--burst-lines", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="medians over this many rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_git_repo(Path(tmp) / "repo", {"README.md": "bench\n"})
        server = ServerProcess(
            Path(tmp) / "srv", max_variations="16", max_concurrent_variations="16"
        ).start()
        try:
            count = int(args.rate * args.seconds)
            rounds = []
            for _ in range(args.repeat):
                rounds.append(
                    (
                        await raw_pipe(args.variations, count, args.rate),
                        await through_server(
                            server, repo, args.variations, count, args.rate, args.clients
                        ),
                        await raw_pipe(1, args.burst_lines, 0),
                        await through_server(server, repo, 1, args.burst_lines, 0, 1),
                    )
                )
        finally:
            server.stop()
    pipe, live, burst_pipe, burst = (median_of([r[i] for r in rounds]) for i in range(4))
    print(f"median of {args.repeat} round(s)")
    print(
        f"A: {args.variations} variations x {args.rate:g} lines/s x {args.seconds:g} s, "
        f"{args.clients} SSE clients"
    )
    print(f"  raw pipe : p50 {pipe['p50_ms']:.2f} ms  p99 {pipe['p99_ms']:.2f} ms")
    print(
        f"  server   : p50 {live['p50_ms']:.2f} ms  p99 {live['p99_ms']:.2f} ms  "
        f"lost {live['lost']:.0f}  duplicates {live['dupes']:.0f}"
    )
    print(f"B: 1 variation, {args.burst_lines} lines as fast as possible, 1 SSE client")
    print(f"  raw pipe : {burst_pipe['lines_per_s']:.0f} lines/s")
    print(
        f"  server   : {burst['durable_lines_per_s']:.0f} lines/s into the durable log, "
        f"{burst['client_lines_per_s']:.0f} lines/s delivered to the client  "
        f"lost {burst['lost']:.0f}  duplicates {burst['dupes']:.0f}  p50 {burst['p50_ms']:.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
