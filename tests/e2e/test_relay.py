"""The real agent program posting to the real server's relay ingest, through an outage."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest

from tests.conftest import start_command_run
from tests.server_process import ServerProcess, free_port
from tests.sse_client import SSE, read_sse

pytestmark = pytest.mark.e2e
LINES = 300


class SwitchableProxy:
    """A TCP forwarder on loopback that the test can take down and bring back."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target = target_port
        self.server: asyncio.Server | None = None
        self.conns: set[asyncio.StreamWriter] = set()
        self.accepted = 0

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def down(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.conns):
            writer.transport.abort()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.conns |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.conns -= {writer, up_writer}


async def _read_all(client: httpx.AsyncClient, url: str, on_event: object = None) -> list[SSE]:
    events: list[SSE] = []
    async with client.stream("GET", url) as response:
        async for event in read_sse(response):
            events.append(event)
            if callable(on_event):
                await on_event(events)
            if event.event == "complete":
                return events
    return events


def _texts(events: list[SSE]) -> list[str]:
    return [e.json["text"] for e in events if e.event == "agent_output" and e.json["type"] == "log"]


async def test_relay_live_and_through_outage(tmp_path: Path, git_repo: Path) -> None:
    port = free_port()
    proxy = SwitchableProxy(port)
    await proxy.up()
    server = ServerProcess(
        tmp_path, port=port, process_relay="true", public_url=f"http://127.0.0.1:{proxy.port}"
    ).start()
    script = f"for i in $(seq 0 {LINES - 1}); do echo $i; sleep 0.01; done"
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            url = (await start_command_run(client, git_repo, script))["stream_url"]
            outage = {"done": False}

            async def cut_once(events: list[SSE]) -> None:
                lines = _texts(events)
                if not outage["done"] and len(lines) >= 30:
                    outage["done"] = True
                    # Live: lines arrive while the agent still runs (it needs ~3 s in all).
                    assert not any(
                        e.event == "variation_status" and e.json["status"] != "running"
                        for e in events
                    )
                    await proxy.down()
                    await asyncio.sleep(1.5)
                    await proxy.up()

            events = await _read_all(client, url, cut_once)
            assert outage["done"]
            assert _texts(events) == [str(i) for i in range(LINES)], "nothing lost, no duplicate"
            run = (await client.get(url.removesuffix("/stream"))).json()
            assert run["variations"][0]["status"] == "succeeded"
            assert proxy.accepted >= 2, "the agent reconnected after the outage"
    finally:
        server.stop()
        await proxy.down()
