"""Time to the first agent line: no setup vs a cached setup (vs the first, uncached one).

    uv run python bench/setup_launch.py [--repeat 3] [--variations 3] [--files 2000]
        [--workspace-overlay auto|off]

A local repository and a setup command that makes a virtualenv (no pip) and writes
`--files` small files into it (a stand-in for installed dependencies). Through the real
server with the local sandbox, for N `command` agents (`echo hi`): the time from sending
POST /api/v1/runs to the first `agent_output` event, median over --repeat runs, for runs
without setup and for runs whose setup tree is cached (the first run with setup, which
fills the cache, is timed separately). Each run starts once the previous run's working
trees are removed. What a cached setup costs: as root (overlay workspaces, the default
`--workspace-overlay auto`) hardlinking the cached tree into the run's folder once and one
overlay mount per variation; with `off` (or not root) copying the set-up tree into each
variation's workspace (`cp -a`), which grows with the tree's file count and the disk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.repos.overlay import detach_under  # noqa: E402
from tests.conftest import make_git_repo  # noqa: E402
from tests.server_process import ServerProcess  # noqa: E402


def setup_command(files: int) -> str:
    """A virtualenv plus `files` small modules in it."""
    return (
        "python3 -m venv --without-pip .venv && mkdir -p .venv/lib/deps && "
        f'i=0; while [ $i -lt {files} ]; do echo "x = $i" > .venv/lib/deps/m$i.py; '
        "i=$((i+1)); done"
    )


async def first_line_ms(
    server: ServerProcess, body: dict[str, Any]
) -> tuple[float, dict[str, Any]]:
    """Time from POST /runs to the first agent_output event (ms), and the finished run.

    Returns once the run's working trees are removed, so the next run's start does not
    compete with this one's cleanup for the disk.
    """
    async with httpx.AsyncClient(base_url=server.url, timeout=300) as client:
        start = time.perf_counter()
        res = await client.post("/api/v1/runs", json=body)
        res.raise_for_status()
        elapsed = float("nan")
        async with client.stream("GET", res.json()["stream_url"]) as response:
            async for line in response.aiter_lines():
                if line == "event: agent_output" and elapsed != elapsed:
                    elapsed = (time.perf_counter() - start) * 1000
                if line == "event: complete":
                    break
        run: dict[str, Any] = (await client.get(f"/api/v1/runs/{res.json()['run_id']}")).json()
    if run["status"] != "succeeded":
        raise RuntimeError(f"run {run['id']} {run['status']}: {run.get('error')}")
    trees = server.data_dir / "data" / "repos" / "workspaces" / run["id"]
    for _ in range(6000):
        if not trees.exists():
            break
        await asyncio.sleep(0.1)
    return elapsed, run


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variations", type=int, default=3)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--workspace-overlay", choices=["auto", "off"], default="auto")
    args = parser.parse_args()
    agent = {"agent": "command", "command": ["echo", "hi"]}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        stack.callback(detach_under, tmp)  # a failed run must leave no mount behind
        repo = make_git_repo(Path(tmp) / "repo", {"README.md": "bench\n"})
        plain = {"repo_url": str(repo), "prompt": "p", "variations": [agent] * args.variations}
        with_setup = {**plain, "setup_command": setup_command(args.files)}
        server = ServerProcess(
            Path(tmp) / "srv",
            backend="local",
            allow_unsandboxed="false",
            workspace_overlay=args.workspace_overlay,
        ).start()
        try:
            await first_line_ms(server, plain)  # warm the clone cache and imports
            none = [(await first_line_ms(server, plain))[0] for _ in range(args.repeat)]
            first_ms, first_run = await first_line_ms(server, with_setup)
            cached = []
            for _ in range(args.repeat):
                ms, run = await first_line_ms(server, with_setup)
                if run["setup"].get("status") != "cached":
                    raise RuntimeError(f"setup was not cached: {run['setup']}")
                cached.append(ms)
        finally:
            server.stop()
    none_ms, cached_ms = statistics.median(none), statistics.median(cached)
    print(
        f"local sandbox, N={args.variations} command agents, setup tree +{args.files} files, "
        f"workspace overlay {args.workspace_overlay}; median of {args.repeat} runs"
    )
    print(f"  no setup                          {none_ms:8.1f} ms")
    print(f"  setup cached                      {cached_ms:8.1f} ms")
    print(f"  setup, first run (fills cache)    {first_ms:8.1f} ms")
    print(f"    of which setup itself           {first_run['setup']['seconds'] * 1000:8.1f} ms")
    print(f"  ratio cached / no setup           {cached_ms / none_ms:8.2f} x")


if __name__ == "__main__":
    asyncio.run(main())
