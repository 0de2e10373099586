"""Serving: TCP loopback and a Unix socket, clean start and stop inside a host's event loop."""

from __future__ import annotations

import asyncio
import signal
import socket
import stat
import time
from pathlib import Path

import httpx
import pytest

from app.errors import Conflict, NotFound
from app.gateway import Gateway

from .conftest import Sinks
from .fake_anthropic import FakeAnthropic

BODY = {
    "model": "claude-haiku-4-5",
    "max_tokens": 8,
    "messages": [{"role": "user", "content": "x"}],
}


def make_gateway(upstream: FakeAnthropic, sinks: Sinks, *, grace: int = 5) -> Gateway:
    return Gateway(
        upstream_url=upstream.url,
        api_key=None,
        on_usage=sinks.on_usage,
        on_budget_exhausted=sinks.on_budget_exhausted,
        shutdown_grace_seconds=grace,
    )


async def test_unix_socket_serves_streaming_and_plain_requests(
    gateway: Gateway, sinks: Sinks
) -> None:
    path = gateway.socket_path
    assert path is not None and stat.S_ISSOCK(path.stat().st_mode)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666
    gateway.open_run("run-1", budget_usd=None)
    token = gateway.issue_token("run-1", 3, model="claude-haiku-4-5")
    transport = httpx.AsyncHTTPTransport(uds=str(path))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        plain = await http.post("/v1/messages", json=BODY, headers={"x-api-key": token})
        streamed = await http.post(
            "/v1/messages", json={**BODY, "stream": True}, headers={"x-api-key": token}
        )
        refused = await http.post("/v1/messages", json=BODY, headers={"x-api-key": "nope"})
    assert plain.status_code == 200
    assert plain.json()["type"] == "message"
    assert b"event: message_stop" in streamed.content
    assert refused.status_code == 401
    assert [(run, variation) for run, variation, _, _ in sinks.usage] == [("run-1", 3)] * 2


async def test_stop_closes_port_and_removes_socket(
    upstream: FakeAnthropic, sinks: Sinks, short_dir: Path
) -> None:
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    gw = make_gateway(upstream, sinks)
    sock_path = short_dir / "g.sock"
    await gw.start(unix_socket=sock_path)
    url = gw.url
    assert url.startswith("http://127.0.0.1:")
    # The host server owns signal handling; an embedded gateway must not replace it.
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    with pytest.raises(Conflict):
        await gw.start()
    await gw.stop()
    assert not sock_path.exists()
    assert gw.socket_path is None
    with pytest.raises(Conflict):
        _ = gw.url
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(url + "/v1/models")
    await gw.stop()  # idempotent


async def test_stop_does_not_wait_forever_for_a_stuck_stream(
    upstream: FakeAnthropic, sinks: Sinks
) -> None:
    gw = make_gateway(upstream, sinks, grace=1)
    await gw.start()
    gw.open_run("run-1", budget_usd=None)
    token = gw.issue_token("run-1", 0, model="claude-haiku-4-5")
    upstream.scenario.hold = asyncio.Event()  # the upstream never finishes
    http = httpx.AsyncClient(base_url=gw.url, timeout=10)
    body, headers = {**BODY, "stream": True}, {"x-api-key": token}
    async with http, http.stream("POST", "/v1/messages", json=body, headers=headers) as response:
        chunks = response.aiter_raw()
        await anext(chunks)
        started = time.monotonic()
        await gw.stop()
        assert time.monotonic() - started < 5
        with pytest.raises(httpx.HTTPError):
            async for _ in chunks:
                pass


async def test_stale_socket_file_is_replaced_but_other_files_are_not(
    upstream: FakeAnthropic, sinks: Sinks, short_dir: Path
) -> None:
    stale = short_dir / "stale.sock"
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(stale))
    leftover.close()  # a crashed server leaves the file behind
    gw = make_gateway(upstream, sinks)
    await gw.start(unix_socket=stale)
    await gw.stop()

    regular = short_dir / "notes.txt"
    regular.write_text("keep me")
    gw = make_gateway(upstream, sinks)
    with pytest.raises(FileExistsError):
        await gw.start(unix_socket=regular)
    assert regular.read_text() == "keep me"
    with pytest.raises(ValueError, match="too long"):
        await gw.start(unix_socket=short_dir / ("x" * 120))


async def test_issue_token_requires_an_open_run(gateway: Gateway) -> None:
    with pytest.raises(NotFound):
        gateway.issue_token("never-opened", 0, model="claude-haiku-4-5")
