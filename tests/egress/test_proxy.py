"""The egress proxy over its Unix socket: allowed hosts work, everything else is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.egress import ConnectionRecord, EgressAllowList, EgressProxy
from app.errors import InvalidInput


async def _origin() -> tuple[asyncio.base_events.Server, int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        body = b"origin saw " + head.split(b"\r\n", 1)[0]
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
async def origin_port() -> AsyncIterator[int]:
    server, port = await _origin()
    async with server:
        yield port


async def _through(
    allow: str, request: bytes, tmp_path: Path
) -> tuple[bytes, list[ConnectionRecord]]:
    records: list[ConnectionRecord] = []

    async def record(item: ConnectionRecord) -> None:
        records.append(item)

    proxy = EgressProxy(EgressAllowList.from_setting(allow), record)
    path = tmp_path / "egress.sock"
    await proxy.start(path)
    try:
        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(-1), 10)
        writer.close()
        for _ in range(100):
            if records:
                break
            await asyncio.sleep(0.01)
    finally:
        await proxy.stop()
    return answer, records


class TestEgressProxy:
    async def test_listed_loopback_port_is_forwarded_and_recorded(
        self, origin_port: int, tmp_path: Path
    ) -> None:
        get = f"GET http://127.0.0.1:{origin_port}/simple/x/?a=1 HTTP/1.1\r\nHost: h\r\n\r\n"
        answer, records = await _through(f"127.0.0.1:{origin_port}", get.encode(), tmp_path)
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert b"origin saw GET /simple/x/?a=1 HTTP/1.1" in answer
        assert records[0].allowed and records[0].port == origin_port
        assert records[0].bytes_received == len(answer)

    async def test_connect_tunnel(self, origin_port: int, tmp_path: Path) -> None:
        request = (
            f"CONNECT 127.0.0.1:{origin_port} HTTP/1.1\r\n\r\n"
            "GET /inside HTTP/1.1\r\nHost: h\r\n\r\n"
        ).encode()
        answer, records = await _through(f"127.0.0.1:{origin_port}", request, tmp_path)
        assert answer.startswith(b"HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.1 200 OK")
        assert b"origin saw GET /inside" in answer
        assert records[0].allowed and records[0].bytes_sent > 0

    @pytest.mark.parametrize(
        ("allow", "target", "reason"),
        [
            ("", "127.0.0.1:{port}", "not in AIDEATOR_EGRESS_ALLOW"),
            ("other.example:443", "127.0.0.1:{port}", "not in AIDEATOR_EGRESS_ALLOW"),
            # Loopback needs its exact host:port listed; the host alone is not enough.
            ("127.0.0.1", "127.0.0.1:{port}", "non-public address"),
            ("127.0.0.1:1", "127.0.0.1:{port}", "not in AIDEATOR_EGRESS_ALLOW"),
            ("10.1.2.3", "10.1.2.3:443", "non-public address"),
            ("169.254.169.254", "169.254.169.254:80", "non-public address"),
            # A name that resolves to loopback is refused like the address itself.
            ("localhost", "localhost:{port}", "non-public address"),
        ],
    )
    async def test_refused_and_recorded(
        self, origin_port: int, tmp_path: Path, allow: str, target: str, reason: str
    ) -> None:
        target = target.format(port=origin_port)
        request = f"CONNECT {target} HTTP/1.1\r\n\r\n".encode()
        answer, records = await _through(allow, request, tmp_path)
        assert answer.startswith(b"HTTP/1.1 403 Forbidden")
        assert reason.encode() in answer
        assert len(records) == 1
        assert not records[0].allowed and reason in (records[0].reason or "")
        assert f"{records[0].host}:{records[0].port}" == target

    async def test_plain_http_to_unlisted_host_refused(self, tmp_path: Path) -> None:
        get = b"GET http://unlisted.invalid/ HTTP/1.1\r\n\r\n"
        answer, records = await _through("*.example", get, tmp_path)
        assert answer.startswith(b"HTTP/1.1 403")
        assert records[0].host == "unlisted.invalid" and not records[0].allowed


class TestAllowList:
    def test_wildcard_matches_subdomains_only(self) -> None:
        allow = EgressAllowList.from_setting("*.pkgs.example, files.example:8443")
        assert allow.listed("a.pkgs.example", 443)
        assert not allow.listed("pkgs.example", 443)
        assert allow.listed("files.example", 8443)
        assert not allow.listed("files.example", 443)

    def test_public_address_of_listed_host_is_allowed(self) -> None:
        import ipaddress

        allow = EgressAllowList.from_setting("files.example")
        assert allow.refusal("files.example", 443, [ipaddress.ip_address("93.184.216.34")]) is None

    @pytest.mark.parametrize("bad", ["host:port", "a/b", "*", "x:99999"])
    def test_bad_entries_are_named(self, bad: str) -> None:
        with pytest.raises(InvalidInput, match="AIDEATOR_EGRESS_ALLOW"):
            EgressAllowList.from_setting(bad)
