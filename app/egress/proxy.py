"""The egress proxy: HTTP CONNECT tunnels and plain-HTTP forwarding, served on a Unix socket.

One proxy serves one sandbox phase (setup, or one variation with network `egress`): the
sandbox reaches it only through its socket (bound in, with an in-sandbox TCP forwarder), so
the socket is the identity and every connection is recorded for that phase. Names are
resolved here, checked against the allow-list and address rules, and the proxy connects to
the address it checked (a second lookup could answer differently).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import structlog

from app.egress.allowlist import EgressAllowList, IPAddress, split_host_port

log = structlog.get_logger()

HEAD_LIMIT = 64 * 1024
HEAD_TIMEOUT = 30.0
CONNECT_TIMEOUT = 30.0
CHUNK = 64 * 1024
_HOP_HEADERS = (b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive")


@dataclass(frozen=True)
class ConnectionRecord:
    """One connection through the proxy, as recorded in the run's events."""

    host: str
    port: int
    allowed: bool
    reason: str | None = None
    bytes_sent: int = 0  # sandbox -> destination
    bytes_received: int = 0  # destination -> sandbox

    def to_payload(self) -> dict[str, object]:
        """The `egress` event payload."""
        return {
            "host": self.host,
            "port": self.port,
            "allowed": self.allowed,
            "reason": self.reason,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
        }


class _Refused(Exception):
    def __init__(self, host: str, port: int, reason: str, status: bytes = b"403 Forbidden"):
        super().__init__(reason)
        self.host, self.port, self.reason, self.status = host, port, reason, status


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: list[int]
) -> None:
    try:
        while data := await reader.read(CHUNK):
            count[0] += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()


class EgressProxy:
    """Serves one Unix socket; reports each connection to `record`."""

    def __init__(
        self, allow: EgressAllowList, record: Callable[[ConnectionRecord], Awaitable[None]]
    ) -> None:
        self._allow = allow
        self._record = record
        self._server: asyncio.base_events.Server | None = None
        self._path: Path | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, path: Path) -> None:
        """Listen on `path` (mode 0666: the sandbox may run as another uid)."""
        self._server = await asyncio.start_unix_server(self._serve, path=os.fspath(path))
        os.chmod(path, 0o666)
        self._path = path

    async def stop(self) -> None:
        """Stop listening, end open tunnels and remove the socket file."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        if self._path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._path)
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except _Refused as refused:
            await self._emit(ConnectionRecord(refused.host, refused.port, False, refused.reason))
            with contextlib.suppress(OSError, RuntimeError):
                body = f"egress refused: {refused.reason}\n".encode()
                writer.write(
                    b"HTTP/1.1 " + refused.status + b"\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n"
                    b"Connection: close\r\n\r\n" + body
                )
                await writer.drain()
        except (ConnectionError, OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _emit(self, record: ConnectionRecord) -> None:
        log.info("egress.connection", **record.to_payload())
        try:
            await self._record(record)
        except Exception as exc:  # recording must never break the connection handling
            log.warning("egress.record_failed", error=str(exc))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(HEAD_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > HEAD_LIMIT:
            raise ValueError("request head too large")
        request_line, _, rest = head.partition(b"\r\n")
        parts = request_line.split(b" ")
        if len(parts) != 3:
            raise _Refused("?", 0, "not an HTTP proxy request", b"400 Bad Request")
        method, target, version = parts
        if method == b"CONNECT":
            host, port = split_host_port(target.decode("ascii", "replace"))
            if port is None:
                raise _Refused(host, 0, "CONNECT needs host:port", b"400 Bad Request")
            upstream = await self._open(host, port)
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await self._tunnel(host, port, reader, writer, upstream, b"")
            return
        url = urlsplit(target.decode("ascii", "replace"))
        if url.scheme != "http" or not url.hostname:
            raise _Refused(
                url.hostname or "?", 0, "only http:// URLs or CONNECT", b"400 Bad Request"
            )
        host, port = url.hostname, url.port or 80
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        upstream = await self._open(host, port)
        first = b" ".join([method, path.encode(), version]) + b"\r\n" + _forward_headers(rest)
        await self._tunnel(host, port, reader, writer, upstream, first)

    async def _open(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        addresses = await _resolve(host, port)
        reason = self._allow.refusal(host, port, addresses)
        if reason is not None:
            raise _Refused(host, port, reason)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                return await asyncio.open_connection(str(addresses[0]), port)
        except (OSError, TimeoutError) as exc:
            raise _Refused(host, port, f"cannot connect: {exc}", b"502 Bad Gateway") from None

    async def _tunnel(
        self,
        host: str,
        port: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        first: bytes,
    ) -> None:
        up_reader, up_writer = upstream
        sent, received = [len(first)], [0]
        try:
            if first:
                up_writer.write(first)
            await asyncio.gather(_pump(reader, up_writer, sent), _pump(up_reader, writer, received))
        finally:
            up_writer.close()
            await self._emit(ConnectionRecord(host, port, True, None, sent[0], received[0]))


def _forward_headers(rest: bytes) -> bytes:
    """The request's headers without hop-by-hop ones, plus `Connection: close`.

    One request per connection: a kept-alive connection could carry a second request for
    another host past the check.
    """
    lines = [line for line in rest.split(b"\r\n") if line]
    kept = [line for line in lines if line.split(b":", 1)[0].strip().lower() not in _HOP_HEADERS]
    return b"".join(line + b"\r\n" for line in kept) + b"Connection: close\r\n\r\n"
