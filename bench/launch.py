"""Launch overhead: POST /runs to the first agent line, beside `bwrap true` and `true`.

    uv run python bench/launch.py [--repeat 5] [--backend local]

For N = 1, 4, 8 variations of a trivial `command` agent (`echo hi`) through the real server:
the time from sending POST /api/v1/runs to the first `agent_output` event on the run's SSE
stream (the stream is opened right after the 202), median over --repeat runs. Baselines in
the same run: a bare subprocess `true`, and `bwrap` (the sandbox's own flags) running `true`.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


async def first_line_ms(base: str, repo: Path, n: int) -> float:
    """Time from POST /runs to the first agent_output event, in ms."""
    spec = {"agent": "command", "command": ["echo", "hi"]}
    body = {"repo_url": str(repo), "prompt": "launch", "variations": [spec] * n}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        start = time.perf_counter()
        res = await client.post("/api/v1/runs", json=body)
        res.raise_for_status()
        async with client.stream("GET", res.json()["stream_url"]) as response:
            async for line in response.aiter_lines():
                if line == "event: agent_output":
                    elapsed = (time.perf_counter() - start) * 1000
                    break
            else:
                raise RuntimeError("stream ended without an agent line")
        # Let the run finish before the next one starts.
        async with client.stream("GET", res.json()["stream_url"]) as response:
            async for line in response.aiter_lines():
                if line == "event: complete":
                    break
    return elapsed


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
            await first_line_ms(server.url, repo, 1)  # warm the clone cache and imports
            results = {}
            for n in (1, 4, 8):
                samples = [await first_line_ms(server.url, repo, n) for _ in range(args.repeat)]
                results[n] = statistics.median(samples)
        finally:
            server.stop()
    print(f"backend {args.backend}; median of {args.repeat} runs (baselines: 20)")
    print(f"  bare subprocess `true`           {bare:8.1f} ms")
    print(f"  bwrap ... `true`                 {bwrap:8.1f} ms")
    for n, ms in results.items():
        print(f"  POST /runs -> first line, N={n}   {ms:8.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
