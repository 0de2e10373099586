"""The sandbox reaches the LLM gateway only through its Unix socket, via the forwarder."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.runners.local import LocalRunner
from app.runners.local.inside_sandbox import sandbox_forwarder
from tests.runners.local.test_local_support import (
    command_job,
    needs_bwrap,
    run_job,
    sandbox_settings,
    stdout_texts,
    with_command,
    workspace,
)

pytestmark = needs_bwrap

TOKEN = "aideator-variation-token-123"

CLIENT = r"""
import json, os, urllib.request
base = os.environ["ANTHROPIC_BASE_URL"]
print("base", base, flush=True)
for size in (10, 3_000_000):
    body = b"x" * size
    req = urllib.request.Request(base + "/v1/messages", data=body, method="POST",
                                 headers={"x-api-key": os.environ["ANTHROPIC_API_KEY"]})
    with urllib.request.urlopen(req, timeout=20) as reply:
        print("reply", reply.read().decode(), flush=True)
"""


@dataclass
class FakeGateway:
    """An HTTP/1.1 server on a Unix socket that records what it was sent."""

    path: Path
    seen: list[dict[str, object]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer each request with the size of its body."""
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            request_line, *header_lines = head.decode().split("\r\n")
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (h.partition(":") for h in header_lines if h)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.seen.append(
                {"request": request_line, "key": headers.get("x-api-key"), "size": len(body)}
            )
            answer = json.dumps({"received": len(body)}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                + answer
            )
            await writer.drain()
        writer.close()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory: Unix socket paths are limited to 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="gw-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def fake_gateway(short_dir: Path) -> AsyncIterator[FakeGateway]:
    """The stand-in gateway, listening on a Unix socket on the host."""
    gateway = FakeGateway(short_dir / "gateway.sock")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await gateway.handle(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_unix_server(handle, path=str(gateway.path))
    gateway.path.chmod(0o666)  # like the real gateway: the token is the credential
    async with server:
        yield gateway


async def test_agent_reaches_the_gateway_socket_through_the_forwarder(
    tmp_path: Path, fake_gateway: FakeGateway
) -> None:
    tree, sha = workspace(tmp_path / "ws")
    job = with_command(
        command_job(tree, sha, "", gateway_socket=fake_gateway.path, gateway_token=TOKEN),
        ["python3", "-c", CLIENT],
    )

    lines, final = await run_job(LocalRunner(sandbox_settings(tmp_path).local_settings), job)

    out = stdout_texts(lines)
    assert final.exit_code == 0, final
    assert out[0].startswith("base http://127.0.0.1:"), out
    assert out[1:] == ['reply {"received": 10}', 'reply {"received": 3000000}'], out
    assert [seen["key"] for seen in fake_gateway.seen] == [TOKEN, TOKEN]
    assert [seen["size"] for seen in fake_gateway.seen] == [10, 3_000_000]
    assert all(str(seen["request"]).startswith("POST /v1/messages ") for seen in fake_gateway.seen)


async def test_without_a_gateway_there_is_no_base_url(tmp_path: Path) -> None:
    tree, sha = workspace(tmp_path / "ws")
    script = 'echo "url=${ANTHROPIC_BASE_URL:-none} key=${ANTHROPIC_API_KEY:-none}"'
    lines, final = await run_job(
        LocalRunner(sandbox_settings(tmp_path).local_settings), command_job(tree, sha, script)
    )
    assert final.exit_code == 0
    assert stdout_texts(lines) == ["url=none key=none"]


def test_forwarder_relays_both_ways_and_half_closes(short_dir: Path) -> None:
    upstream_path = str(short_dir / "up.sock")
    upstream = socket.socket(socket.AF_UNIX)
    upstream.bind(upstream_path)
    upstream.listen()

    def echo_upper() -> None:
        conn, _ = upstream.accept()
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
        conn.sendall(data.upper())
        conn.close()

    threading.Thread(target=echo_upper, daemon=True).start()
    listener = sandbox_forwarder.listen()
    threading.Thread(
        target=sandbox_forwarder.serve, args=(listener, upstream_path), daemon=True
    ).start()
    with socket.create_connection(listener.getsockname(), timeout=10) as client:
        client.sendall(b"hello " * 100_000)
        client.shutdown(socket.SHUT_WR)  # the upstream only answers after EOF
        received = b""
        while chunk := client.recv(65536):
            received += chunk
    assert received == b"HELLO " * 100_000
    listener.close()
    upstream.close()


async def test_a_sandbox_that_cannot_start_says_why(tmp_path: Path) -> None:
    tree, sha = workspace(tmp_path / "ws")
    job = command_job(
        tree, sha, "echo never", gateway_socket=tmp_path / "missing.sock", gateway_token=TOKEN
    )
    lines, final = await run_job(LocalRunner(sandbox_settings(tmp_path).local_settings), job)
    assert lines == []
    assert final.error is not None and final.error.startswith("sandbox failed to start: ")
    assert "missing.sock" in final.error
