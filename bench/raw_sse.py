"""A measuring SSE client that costs little CPU: one socket, raw HTTP/1.1, no HTTP library.

The relay benchmarks read 20 streams from one process on the same 2 CPUs as the server
and the agents; an HTTP library's per-read work (httpx: httpcore and anyio layers) then
adds the client's own queueing to every latency measured. `blocks` reads the response
straight from the socket and yields each read's complete SSE text (whatever ends in a
blank line) with the time it was read; the chunked framing between whole events is left
in, which a search for event fields does not mind.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

READ = 256 * 1024


async def blocks(base: str, path: str) -> AsyncIterator[tuple[int, bytes]]:
    """(wall-clock ns when read, bytes up to the last blank line) of one GET stream,
    until the server closes it."""
    parts = urlsplit(base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port, limit=READ)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        if status != b"200":
            raise RuntimeError(f"stream answered {head.decode(errors='replace')!r}")
        buffer = b""
        while chunk := await reader.read(READ):
            now = time.time_ns()
            buffer += chunk
            cut = buffer.rfind(b"\n\n")
            if cut < 0:
                continue
            block, buffer = buffer[: cut + 2], buffer[cut + 2 :]
            yield now, block
    finally:
        writer.close()
