"""A committed event in the form streams send it: its SSE bytes, encoded once for all clients."""

from __future__ import annotations

from typing import NamedTuple


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
