"""Bounded reading of the dagger CLI's output: the result on stdout, a tail of stderr."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

STDOUT_LIMIT = 64 * 1024 * 1024  # the result carries the whole diff
STDERR_TAIL_BYTES = 16 * 1024
CHUNK = 64 * 1024


async def read_bounded(stream: asyncio.StreamReader, limit: int = STDOUT_LIMIT) -> str:
    """Read a stream to its end, keeping at most `limit` bytes (the rest is drained)."""
    kept = bytearray()
    while chunk := await stream.read(CHUNK):
        if len(kept) < limit:
            kept += chunk[: limit - len(kept)]
    return kept.decode("utf-8", "replace")


class BoundedTail:
    """The last `max_bytes` of a stream, for a debug log that cannot grow without bound."""

    def __init__(self, max_bytes: int = STDERR_TAIL_BYTES) -> None:
        self._max = max_bytes
        self._chunks: deque[bytes] = deque()
        self._size = 0

    def add(self, chunk: bytes) -> None:
        """Append a chunk, dropping the oldest bytes beyond the bound."""
        self._chunks.append(chunk)
        self._size += len(chunk)
        while self._size - len(self._chunks[0]) >= self._max:
            self._size -= len(self._chunks.popleft())

    async def consume(self, stream: asyncio.StreamReader) -> None:
        """Read a stream to its end into the tail."""
        while chunk := await stream.read(CHUNK):
            self.add(chunk)

    def text(self, redact: Iterable[str] = ()) -> str:
        """The tail as text, with any of the `redact` values masked."""
        data = b"".join(self._chunks)[-self._max :]
        text = data.decode("utf-8", "replace")
        for secret in redact:
            if secret:
                text = text.replace(secret, "***")
        return text
