"""Relay benchmark: agent lines through the real server to SSE clients, beside a raw pipe.

    uv run python bench/relay.py [--variations 8] [--rate 250] [--clients 20] [--seconds 8]
                                 [--stores sqlite,postgresql] [--repeat 1] [--profile [DIR]]

Scenario A (latency): N variations each printing R lines/s for S seconds, M SSE clients;
lines start 3 s after the run is created, once every agent is up (relay, not start-up, latency).
Scenario B (throughput): one variation printing as fast as it can, one client; lines/s into
the durable log and to the client while it prints (from its first to its last printed line).
Baselines, in the same run: the same line generator read over a raw pipe, and a bare batched
insert into the store's events table (bench/insert_floor.py). Stores: `sqlite` and
`postgresql` (a throwaway cluster of Debian's PostgreSQL on loopback, as in the tests).
With --profile [DIR], py-spy samples the server during one extra round of each scenario (not
counted in the numbers) and the busiest functions are printed (flame graphs:
DIR/<store>-<scenario>.svg).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.events.wakeups import asyncpg_dsn  # noqa: E402
from bench import cpu_census, raw_sse  # noqa: E402
from bench.insert_floor import postgres_insert_rate, sqlite_insert_rate  # noqa: E402
from bench.profiling import Profile, summary  # noqa: E402
from tests.conftest import make_git_repo  # noqa: E402
from tests.postgres_server import PostgresServer, postgres_bin, wait_ready  # noqa: E402
from tests.server_process import ServerProcess  # noqa: E402

EMIT = str(ROOT / "bench" / "emit_lines.py")


def machine_busy_seconds() -> tuple[float, float]:
    """CPU-seconds every process on the machine has used so far, and wall seconds now."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy / os.sysconf("SC_CLK_TCK"), time.monotonic()


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] / 1e6


LINE = re.compile(rb'"variation_id":(\d+),"seq":\d+,"type":"log","text":"(\d+) (\d+)"')


async def client_reader(base: str, url: str, expect: int) -> dict[str, object]:
    """Read one stream to `complete`; latency per line, loss and duplicates.

    Reads raw HTTP (bench/raw_sse.py) and parses with one regex, so the measuring client
    costs little CPU.
    """
    lat: list[float] = []
    arrivals: list[tuple[int, int, int]] = []  # (variation, line number, arrival ns)
    seen: dict[tuple[int, int], int] = {}
    first = last = 0.0
    async with contextlib.aclosing(raw_sse.blocks(base, url)) as stream:
        async for now, block in stream:
            found = LINE.findall(block)
            for vid, stamp, n in found:
                lat.append(now - int(stamp))
                key = (int(vid), int(n))
                arrivals.append((*key, now))
                seen[key] = seen.get(key, 0) + 1
            if found:  # the rate over the printed lines, as for the durable log
                first = first or time.perf_counter()
                last = time.perf_counter()
            if b"event: complete" in block:
                break
    return {
        "lat": lat,
        "arrivals": arrivals,
        "lost": expect - len(seen),
        "dupes": sum(c - 1 for c in seen.values()),
        "rate": len(lat) / (last - first) if last > first else 0.0,
    }


async def through_server(
    server: ServerProcess,
    repo: Path,
    variations: int,
    count: int,
    rate: float,
    clients: int,
    profile: Path | None = None,
) -> dict[str, object]:
    """Start one run and read it with `clients` SSE clients (sampled into `profile`)."""
    # Several variations: lines start 3 s from now, when every variation's agent is running
    # (see emit_lines.py). One: at once (its rates count only the printed lines anyway).
    start_at = f"{time.time() + (3 if variations > 1 else 0):.3f}"
    spec = {
        "agent": "command",
        "command": [sys.executable, EMIT, str(count), str(rate), start_at],
    }
    assert server.proc is not None
    cpu_before = cpu_census.cpu_seconds(server.proc.pid)
    machine_before = machine_busy_seconds()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        res = await client.post(
            "/api/v1/runs",
            json={"repo_url": str(repo), "prompt": "bench", "variations": [spec] * variations},
        )
        res.raise_for_status()
        url, run_id = res.json()["stream_url"], res.json()["run_id"]
    sampler = None if profile is None else Profile(server.proc.pid, profile)
    census = None
    if rate and variations > 1:  # A: the CPU of each kind of process while lines flow
        steady = (float(start_at) + 0.5, float(start_at) + count / rate - 0.5)
        census = asyncio.create_task(cpu_while_printing(*steady))
    client_cpu = time.process_time()
    try:
        results = await asyncio.gather(
            *(client_reader(server.url, url, variations * count) for _ in range(clients))
        )
    finally:
        if sampler is not None:
            sampler.stop()
    client_cpu = time.process_time() - client_cpu
    steady_cpu = await census if census is not None else {}
    cpu = cpu_census.cpu_seconds(server.proc.pid) - cpu_before
    machine_after = machine_busy_seconds()
    busy = machine_after[0] - machine_before[0]
    wall = machine_after[1] - machine_before[1]
    lat = [x for r in results for x in r["lat"]]  # type: ignore[attr-defined]
    arrivals = [x for r in results for x in r["arrivals"]]  # type: ignore[attr-defined]
    stored = await stored_lines(server, run_id)
    to_commit, to_client = where_time_goes(stored, arrivals)
    return {
        "lines": variations * count,
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        # Where a line's time goes: printed -> its transaction begins (pipe, agent program,
        # the server's read, the group-commit wait), and from then to each client (the
        # commit itself, the hand-off to the streams, the sends, the client's read).
        "commit_p50_ms": pct(to_commit, 50),
        "commit_p99_ms": pct(to_commit, 99),
        "client_p50_ms": pct(to_client, 50),
        "client_p99_ms": pct(to_client, 99),
        "lost": sum(int(r["lost"]) for r in results),  # type: ignore[call-overload]
        "dupes": sum(int(r["dupes"]) for r in results),  # type: ignore[call-overload]
        "client_lines_per_s": statistics.median(float(r["rate"]) for r in results),  # type: ignore[arg-type]
        "durable_lines_per_s": durable_rate(stored),
        # Server CPU per line, whole run included (start-up, set-up, scoring): a cost that
        # other jobs on a shared machine slow down far less than they slow down wall time.
        "cpu_us_per_line": 1e6 * cpu / (variations * count),
        # Every process on the machine (agents, server, clients, anything else running).
        # The measuring clients (this process), per line and client read.
        "client_cpu_us_per_line": 1e6 * client_cpu / max(1, len(lat)),
        "machine_cpus_busy": busy / wall,
        **steady_cpu,
        "machine_us_per_line": 1e6 * busy / (variations * count),
    }


async def cpu_while_printing(start: float, end: float) -> dict[str, float]:
    """CPUs busy per kind of process between two wall-clock times (keys `cpus <kind>`)."""
    await asyncio.sleep(max(0.0, start - time.time()))
    before = await asyncio.to_thread(cpu_census.snapshot)
    await asyncio.sleep(max(0.0, end - time.time()))
    after = await asyncio.to_thread(cpu_census.snapshot)
    per_kind, wall = cpu_census.spent(before, after)
    return {f"cpus {kind}": seconds / wall for kind, seconds in per_kind.items()}


async def stored_lines(server: ServerProcess, run_id: str) -> list[tuple[int, str, datetime]]:
    """(variation, text, transaction time) of the generator's lines in the durable log."""
    query = (
        "SELECT variation_id, payload, created_at FROM events "
        "WHERE run_id = {} AND type = 'agent_output'"
    )
    url = server.env["AIDEATOR_DATABASE_URL"]
    if url.startswith("sqlite"):
        with sqlite3.connect(server.data_dir / "aideator.db") as conn:
            rows = conn.execute(query.format("?"), (run_id,)).fetchall()
        rows = [(v, p, datetime.fromisoformat(t).replace(tzinfo=UTC)) for v, p, t in rows]
    else:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            rows = [tuple(r) for r in await conn.fetch(query.format("$1"), run_id)]
        finally:
            await conn.close()
    out = []
    for variation, payload, at in rows:
        found = json.loads(payload)
        if found.get("type") == "log":
            out.append((variation, found["text"], at))
    return out


def where_time_goes(
    stored: list[tuple[int, str, datetime]], arrivals: list[tuple[int, int, int]]
) -> tuple[list[float], list[float]]:
    """Per line: ns from printed to its transaction's start, and from there to each client."""
    begun: dict[tuple[int, int], int] = {}
    to_commit = []
    for variation, text, at in stored:
        emitted, n = (int(x) for x in text.split())
        stamp = int(at.timestamp() * 1e6) * 1000
        begun[(variation, n)] = stamp
        to_commit.append(stamp - emitted)
    to_client = [now - begun[(v, n)] for v, n, now in arrivals if (v, n) in begun]
    return to_commit, to_client


def durable_rate(stored: list[tuple[int, str, datetime]]) -> float:
    """Printed lines committed per second, from the commit times stored with each row.

    Over the generator's lines (`log` lines) only: the agent's own first lines come before
    the generator's start time (see through_server), which is not the relay's throughput.
    """
    if not stored:
        return 0.0
    times = [at for _variation, _text, at in stored]
    span = (max(times) - min(times)).total_seconds()
    return len(stored) / span if span > 0 else 0.0


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
        values = [float(r.get(key, 0.0)) for r in results]  # type: ignore[arg-type]
        out[key] = max(values) if key in ("lost", "dupes") else statistics.median(values)
    return out


async def one_store(store: str, args: argparse.Namespace, tmp: Path) -> None:
    """Every round of both scenarios, and the store's insert floor, on one store."""
    postgres = None
    settings = {"max_variations": "16", "max_concurrent_variations": "16"}
    settings.update(dict(item.split("=", 1) for item in args.server_setting))
    if store == "postgresql":
        postgres = PostgresServer().start()
        wait_ready(postgres)
        settings["database_url"] = await postgres.new_database()
    try:
        repo = make_git_repo(tmp / f"repo-{store}", {"README.md": "bench\n"})
        server = ServerProcess(tmp / f"srv-{store}", **settings).start()
        count = int(args.rate * args.seconds)
        profile = (
            {"A": None, "B": None}
            if args.profile is None
            else {k: Path(args.profile) / f"{store}-{k}.txt" for k in "AB"}
        )
        rounds = []
        try:
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
            if args.profile is not None:
                # One more round under the sampler, kept out of the numbers above.
                await through_server(
                    server, repo, args.variations, count, args.rate, args.clients, profile["A"]
                )
                await through_server(server, repo, 1, args.burst_lines, 0, 1, profile["B"])
        finally:
            server.stop()
        inserted = 0.0  # PostgreSQL's INSERT rate, beside its COPY floor
        if postgres is None:
            floor, floor_cpu = await sqlite_insert_rate(tmp / "floor.db", args.burst_lines)
            floor_text = f"{store} batched insert"
        else:
            # The server copies each batch (app/events/pg_lines.py): COPY is its floor.
            floor, floor_cpu = await postgres_insert_rate(
                asyncpg_dsn(await postgres.new_database()), args.burst_lines, copy=True
            )
            inserted, _ = await postgres_insert_rate(
                asyncpg_dsn(await postgres.new_database()), args.burst_lines
            )
            floor_text = f"{store} batched COPY"
    finally:
        if postgres is not None:
            postgres.stop()
    pipe, live, burst_pipe, burst = (median_of([r[i] for r in rounds]) for i in range(4))
    load = os.getloadavg()[0]
    print(f"[{store}] median of {args.repeat} round(s); load average {load:.1f} at the end")
    print(
        f"A: {args.variations} variations x {args.rate:g} lines/s x {args.seconds:g} s, "
        f"{args.clients} SSE clients"
    )
    print(f"  raw pipe : p50 {pipe['p50_ms']:.2f} ms  p99 {pipe['p99_ms']:.2f} ms")
    print(
        f"  server   : p50 {live['p50_ms']:.2f} ms  p99 {live['p99_ms']:.2f} ms  "
        f"lost {live['lost']:.0f}  duplicates {live['dupes']:.0f}  "
        f"server CPU {live['cpu_us_per_line']:.0f} us/line"
    )
    print(
        f"    where the time goes: printed -> transaction begins p50 "
        f"{live['commit_p50_ms']:.2f} ms p99 {live['commit_p99_ms']:.2f} ms; "
        f"transaction begins -> client p50 {live['client_p50_ms']:.2f} ms "
        f"p99 {live['client_p99_ms']:.2f} ms"
    )
    steady = sorted(
        ((k.removeprefix("cpus "), v) for k, v in live.items() if k.startswith("cpus ")),
        key=lambda kv: -kv[1],
    )
    print(
        "    CPUs busy while the lines flow: "
        + ", ".join(f"{kind} {cpus:.2f}" for kind, cpus in steady)
        + f" (sum {sum(cpus for _, cpus in steady):.2f} of {os.cpu_count()})"
    )
    print(
        f"    whole machine during A: {live['machine_cpus_busy']:.2f} of {os.cpu_count()} CPUs "
        f"busy, {live['machine_us_per_line']:.0f} us of CPU per line in all processes; "
        f"measuring clients {live['client_cpu_us_per_line']:.1f} us per line read"
    )
    print(f"B: 1 variation, {args.burst_lines} lines as fast as possible, 1 SSE client")
    print(f"  raw pipe : {burst_pipe['lines_per_s']:.0f} lines/s")
    print(
        f"  {floor_text}, no server: {floor:.0f} rows/s, "
        f"{floor_cpu:.0f} rows per CPU-second of the inserting process"
        + ("" if postgres is None else f" (batched INSERT: {inserted:.0f} rows/s)")
    )
    print(
        f"  server   : {burst['durable_lines_per_s']:.0f} lines/s into the durable log "
        f"({burst['durable_lines_per_s'] / floor:.2f} of the insert floor), "
        f"{burst['client_lines_per_s']:.0f} lines/s delivered to the client  "
        f"lost {burst['lost']:.0f}  duplicates {burst['dupes']:.0f}  p50 {burst['p50_ms']:.1f} ms"
    )
    print(
        f"  server CPU {burst['cpu_us_per_line']:.1f} us/line: "
        f"{1e6 / burst['cpu_us_per_line']:.0f} lines per CPU-second of the server "
        f"({1e6 / burst['cpu_us_per_line'] / floor_cpu:.2f} of the insert floor's)"
    )
    print(
        f"  whole machine during B: {burst['machine_cpus_busy']:.2f} of {os.cpu_count()} CPUs "
        f"busy, {burst['machine_us_per_line']:.1f} us of CPU per line in all processes "
        "(line generator, agent program, server, client)"
    )
    for key, path in profile.items():
        if path is not None:
            print(f"profile of the server during {key} (an extra round, py-spy):")
            print(summary(path, args.profile_top))
    print(flush=True)


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
    default_stores = "sqlite,postgresql" if postgres_bin() is not None else "sqlite"
    parser.add_argument("--stores", default=default_stores)
    parser.add_argument(
        "--profile",
        nargs="?",
        const="",
        default=None,
        help="py-spy profiles into this folder (no folder: a temporary one)",
    )
    parser.add_argument(
        "--server-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting (AIDEATOR_<NAME>) for this benchmark's server; repeatable",
    )
    parser.add_argument("--profile-top", type=int, default=12, help="functions listed")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        if args.profile == "":
            args.profile = str(Path(tmp) / "profiles")
        for store in args.stores.split(","):
            await one_store(store, args, Path(tmp))


if __name__ == "__main__":
    # The measuring clients run on uvloop, as the server does (uvicorn's default when it is
    # installed): 20 streams read by one process cost it a quarter of a CPU on asyncio's
    # own loop, taken from the same 2 CPUs the server and the agents share.
    uvloop.run(main())
