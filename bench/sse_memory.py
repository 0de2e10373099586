"""SSE memory per connection: server RSS with 10,000 idle streams open on one run.

    uv run python bench/sse_memory.py [--clients 10000]

The run's only variation sleeps, so the streams are idle (pings only). Reports the server's
resident memory before and with the streams open, and the cost per connection. Streams are
opened 50 at a time (one after another takes minutes on a busy machine); each has read its
response headers before the memory is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import make_git_repo  # noqa: E402
from tests.reliability.harness import rss_mb  # noqa: E402
from tests.server_process import ServerProcess  # noqa: E402


async def open_idle(port: int, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A stream connection that has read its headers and then idles."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: b\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    return reader, writer


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.clients)), hard))
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_git_repo(Path(tmp) / "repo", {"README.md": "idle\n"})
        server = ServerProcess(
            Path(tmp) / "srv",
            backend="process",
            max_streams_per_client=str(2 * args.clients),
            sse_ping_interval="15",  # the server's default (tests use 1 s)
        ).start()
        assert server.proc is not None
        try:
            spec = {"agent": "command", "command": ["sleep", "600"]}
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                res = await client.post(
                    "/api/v1/runs",
                    json={"repo_url": str(repo), "prompt": "idle", "variations": [spec]},
                )
                run_id, url = res.json()["run_id"], res.json()["stream_url"]
                await open_idle(server.port, url)  # first stream: tail and caches exist
                await asyncio.sleep(1)
                before = rss_mb(server.proc.pid)
                gate = asyncio.Semaphore(50)

                async def one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
                    async with gate:
                        return await open_idle(server.port, url)

                conns = await asyncio.gather(*(one() for _ in range(args.clients)))
                await asyncio.sleep(2)
                after = rss_mb(server.proc.pid)
                await client.post(f"/api/v1/runs/{run_id}/cancel")
            for _, writer in conns:
                writer.close()
        finally:
            server.stop()
    total = after - before
    print(f"{args.clients} idle SSE streams on one run")
    print(f"  server RSS before {before:7.1f} MB, with streams {after:7.1f} MB")
    print(
        f"  cost: {total:.1f} MB in all, {total * 1024 / args.clients:.1f} KB per connection "
        "(target: 10,000 under 300 MB)"
    )


if __name__ == "__main__":
    asyncio.run(main())
