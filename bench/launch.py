"""Launch overhead: POST /runs to the first agent line and the command's first output.

    uv run python bench/launch.py [--repeat 5] [--backend local]

For N = 1, 4, 8 variations of a trivial `command` agent (`echo hi`) through the real server,
the time from sending POST /api/v1/runs (the SSE stream is opened right after the 202) to:
the first `agent_output` event (the agent program's `starting` line, which it prints before
loading the rest of itself), the command's first output (`hi`: the agent has started the
command), and every variation's `hi`; medians over --repeat runs. Baselines in the same run:
a bare subprocess `true`, and `bwrap` (the sandbox's own flags) running `true`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import make_git_repo  # noqa: E402
from tests.server_process import ServerProcess  # noqa: E402

BWRAP = [
    "bwrap",
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--ro-bind",
    "/usr",
    "/usr",
    "--symlink",
    "usr/bin",
    "/bin",
    "--symlink",
    "usr/lib",
    "/lib",
    "--symlink",
    "usr/lib64",
    "/lib64",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
    "--clearenv",
    "true",
]


def time_command(argv: list[str], repeat: int) -> float:
    """Median wall time of a command, in ms."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


class Launch(NamedTuple):
    """Milliseconds from POST /runs to: the first agent line (the agent program's
    `starting`), the command's first output, and every variation's command output."""

    first_line: float
    first_output: float
    every_output: float


async def launch_ms(base: str, repo: Path, n: int) -> Launch:
    """Time one run of N trivial command agents from POST /runs (stream opened after 202)."""
    spec = {"agent": "command", "command": ["echo", "hi"]}
    body = {"repo_url": str(repo), "prompt": "launch", "variations": [spec] * n}
    first_line = first_output = None
    printed: set[int] = set()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        start = time.perf_counter()
        res = await client.post("/api/v1/runs", json=body)
        res.raise_for_status()
        event = ""
        async with client.stream("GET", res.json()["stream_url"]) as response:
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                if event == "complete":
                    break
                if event != "agent_output" or not line.startswith("data: "):
                    continue
                now = (time.perf_counter() - start) * 1000
                first_line = first_line or now
                payload = json.loads(line[6:])
                if payload.get("type") == "log" and payload.get("text") == "hi":
                    first_output = first_output or now
                    printed.add(payload["variation_id"])
                    if len(printed) == n:
                        every_output = now
                        break
        if first_line is None or first_output is None or len(printed) < n:
            raise RuntimeError("the run ended before every variation printed its line")
        # Let the run finish before the next one starts.
        async with client.stream("GET", res.json()["stream_url"]) as response:
            async for line in response.aiter_lines():
                if line == "event: complete":
                    break
    return Launch(first_line, first_output, every_output)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", default="local", choices=["local", "process"])
    args = parser.parse_args()
    bare = time_command(["true"], 20)
    bwrap = time_command(BWRAP, 20) if shutil.which("bwrap") else float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_git_repo(Path(tmp) / "repo", {"README.md": "launch\n"})
        server = ServerProcess(
            Path(tmp) / "srv",
            backend=args.backend,
            max_variations="8",
            max_concurrent_variations="8",
        ).start()
        try:
            await launch_ms(server.url, repo, 1)  # warm the clone cache and imports
            results = {}
            for n in (1, 4, 8):
                samples = [await launch_ms(server.url, repo, n) for _ in range(args.repeat)]
                results[n] = Launch(*(statistics.median(s[i] for s in samples) for i in range(3)))
        finally:
            server.stop()
    print(f"backend {args.backend}; median of {args.repeat} runs (baselines: 20)")
    print(f"  bare subprocess `true`           {bare:8.1f} ms")
    print(f"  bwrap ... `true`                 {bwrap:8.1f} ms")
    print(
        "  POST /runs -> ...        first agent line   command's first output   every variation's"
    )
    for n, ms in results.items():
        print(
            f"  N={n}                   {ms.first_line:10.1f} ms  {ms.first_output:15.1f} ms"
            f"  {ms.every_output:13.1f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
