"""A committed event in the form streams send it: its SSE bytes, encoded once for all clients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

# Most bytes in one write: a client that stops reading pins at most one chunk.
CHUNK_BYTES = 64 * 1024


class StoredEvent(NamedTuple):
    """A committed event as streams send it (only the wire form is kept: memory).

    A tuple of atoms: the garbage collector stops tracking it, so thousands held in a
    tail do not make every full collection (a latency spike for all streams) longer.
    """

    id: int
    type: str
    wire: bytes  # the SSE encoding, made once and shared by every client

    @property
    def payload(self) -> str:
        """The event's JSON data."""
        return self.wire.split(b"\ndata: ", 1)[1][:-2].decode()


def stored_event(event_id: int, type_: str, payload: str) -> StoredEvent:
    """A StoredEvent with its SSE wire form (payload is single-line JSON)."""
    wire = f"id: {event_id}\nevent: {type_}\ndata: {payload}\n\n".encode()
    return StoredEvent(event_id, type_, wire)


class Chunk(NamedTuple):
    """Consecutive events joined for one write."""

    wire: bytes
    last_id: int
    ends_complete: bool  # its last event is a `complete` (the stream may end after it)


def pack(events: Sequence[StoredEvent]) -> list[Chunk]:
    """Events joined into writes of at most about CHUNK_BYTES, each `complete` ending one."""
    chunks: list[Chunk] = []
    parts: list[bytes] = []
    size = 0
    for event in events:
        parts.append(event.wire)
        size += len(event.wire)
        complete = event.type == "complete"
        if complete or size >= CHUNK_BYTES:
            chunks.append(Chunk(b"".join(parts), event.id, complete))
            parts, size = [], 0
    if parts:
        chunks.append(Chunk(b"".join(parts), events[-1].id, False))
    return chunks
