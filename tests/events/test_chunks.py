"""Events packed into writes: bounded chunks, `complete` ends one, one packing per commit."""

from __future__ import annotations

from app.events.hub import RunTail
from app.events.wire import CHUNK_BYTES, pack, stored_event


def _events(first: int, count: int, size: int = 10, complete_at: int | None = None) -> list:
    return [
        stored_event(n, "complete" if n == complete_at else "agent_output", '"' + "x" * size + '"')
        for n in range(first, first + count)
    ]


def test_pack_keeps_every_byte_in_order_and_bounds_each_write() -> None:
    events = _events(1, 40, size=5000)
    chunks = pack(events)
    assert b"".join(c.wire for c in chunks) == b"".join(e.wire for e in events)
    assert len(chunks) > 1
    assert all(len(c.wire) < CHUNK_BYTES + 6000 for c in chunks)
    assert [c.last_id for c in chunks][-1] == 40
    assert not any(c.ends_complete for c in chunks)
    assert pack([]) == []


def test_a_complete_event_ends_its_chunk() -> None:
    chunks = pack(_events(1, 5, complete_at=3))
    assert [(c.last_id, c.ends_complete) for c in chunks] == [(3, True), (5, False)]


def test_streams_at_one_cursor_share_one_packing_until_the_next_commit() -> None:
    tail = RunTail(None, "r", window_bytes=1 << 20)  # type: ignore[arg-type]
    tail.last_id = 0
    tail.push(_events(1, 3))
    first = tail.chunks_after(0)
    assert first is not None and first[0].last_id == 3
    assert tail.chunks_after(0) is first  # a second client: no new join
    assert tail.chunks_after(2) == pack(_events(3, 1))  # another cursor packs its own
    tail.push(_events(4, 2))
    fresh = tail.chunks_after(0)
    assert fresh is not first and fresh is not None and fresh[-1].last_id == 5
    assert tail.chunks_after(5) == []
