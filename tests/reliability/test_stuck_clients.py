"""50 clients that never read next to 50 that do: bounded memory, stuck ones dropped."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from tests.conftest import command_spec
from tests.reliability.harness import Store, StreamLog, read_until, rss_mb
from tests.server_process import ServerProcess

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]
SEND_TIMEOUT = 2


async def _stuck_client(port: int, path: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills after a few KB
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    request = f"GET {path} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n"
    await asyncio.get_running_loop().sock_sendall(sock, request.encode())
    return sock


async def _drain(sock: socket.socket, idle: float) -> tuple[bytes, bool]:
    """Read what is buffered; True if the server closed the connection, False if nothing
    came for `idle` s without the close. (Megabytes sit in the socket buffers: a time limit
    on the whole read failed on a loaded machine while the data was still coming in.)"""
    loop = asyncio.get_running_loop()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # read it in large pieces
    chunks = []
    try:
        while True:
            async with asyncio.timeout(idle):
                chunk = await loop.sock_recv(sock, 1 << 20)
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
    except TimeoutError:
        return b"".join(chunks), False
    except ConnectionError:
        return b"".join(chunks), True


async def test_stuck_clients_are_dropped_and_memory_stays_bounded(
    tmp_path: Path, git_repo: Path, store: Store
) -> None:
    server = ServerProcess(
        tmp_path,
        sse_send_timeout=str(SEND_TIMEOUT),
        max_streams_per_client="500",
        max_variations="8",
        **store.settings,
    ).start()
    assert server.proc is not None
    line = "x" * 2000
    script = f"for i in $(seq 0 2399); do echo $i-{line}; [ $((i % 50)) = 0 ] && sleep 0.1; done"
    rss: list[float] = []
    try:
        base_rss = rss_mb(server.proc.pid)
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
            res = await client.post(
                "/api/v1/runs",
                json={
                    "repo_url": str(git_repo),
                    "prompt": "p",
                    "variations": [command_spec(script)] * 4,
                },
            )
            run_id, url = res.json()["run_id"], res.json()["stream_url"]
            stuck = [await _stuck_client(server.port, url) for _ in range(50)]
            logs = [StreamLog() for _ in range(50)]

            async def sample() -> None:
                while True:
                    rss.append(rss_mb(server.proc.pid))  # type: ignore[union-attr]
                    await asyncio.sleep(0.2)

            sampler = asyncio.create_task(sample())
            await asyncio.wait_for(
                asyncio.gather(*(read_until(client, url, log) for log in logs)), 120
            )
            sampler.cancel()
            drained = await asyncio.gather(*(_drain(s, SEND_TIMEOUT + 10) for s in stuck))
            for s in stuck:
                s.close()
    finally:
        server.stop()
    truth = await store.ids(run_id)
    for log in logs:
        assert log.complete and log.ids == truth, "readers get everything, in order"
    for data, closed in drained:
        assert closed, "the server closed the stuck connection"
        assert b"event: complete" not in data, "a stuck client was dropped, not served to the end"
    growth = max(rss) - base_rss
    assert growth < 150, f"server memory grew {growth:.0f} MB with 50 stuck clients"
