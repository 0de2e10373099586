"""A child's stdout split into lines from large reads: joins, endings, overlong lines."""

from __future__ import annotations

import asyncio
import sys

import pytest

from app.runners import child
from app.runners.base import AgentExit


class Chunks:
    """A StreamReader stand-in handing out fixed chunks, then EOF."""

    def __init__(self, *chunks: bytes) -> None:
        self._chunks = list(chunks)

    async def read(self, _n: int) -> bytes:
        return self._chunks.pop(0) if self._chunks else b""


def lines_of(*chunks: bytes) -> list[str]:
    async def collect() -> list[str]:
        return [line async for line in child._stdout_lines(Chunks(*chunks))]  # type: ignore[arg-type]

    return asyncio.run(collect())


def test_lines_across_reads_are_joined_and_kept_whole() -> None:
    assert lines_of(b"a\nb", b"c", b"d\ne\r\n", b"\n", b"tail") == ["a", "bcd", "e\r", "", "tail"]


def test_a_large_read_gives_the_loop_turns_between_its_lines() -> None:
    lines = 10 * child.LINES_PER_TURN

    async def turns_while_reading() -> tuple[int, int]:
        turns = 0

        async def other_work() -> None:
            nonlocal turns
            while True:
                await asyncio.sleep(0)
                turns += 1

        other = asyncio.create_task(other_work())
        await asyncio.sleep(0)
        before = turns
        read = [x async for x in child._stdout_lines(Chunks(b"x\n" * lines))]  # type: ignore[arg-type]
        other.cancel()
        return len(read), turns - before

    read, turns = asyncio.run(turns_while_reading())
    assert read == lines
    assert turns >= 9  # one turn per LINES_PER_TURN lines, not one for the whole read


def test_utf8_split_between_reads_is_decoded_whole() -> None:
    text = "é€".encode()
    assert lines_of(text[:1], text[1:] + b"\n") == ["é€"]


def test_an_overlong_line_is_dropped_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(child, "LINE_LIMIT", 8)
    assert lines_of(b"ok\n0123", b"45678", b"9abc", b"def\nnext\n") == [
        "ok",
        child.TOO_LONG,
        "next",
    ]
    assert lines_of(b"0123456789") == [child.TOO_LONG]


def test_a_real_child_streams_every_line_in_order() -> None:
    script = "import sys\nfor n in range(50000): sys.stdout.write(f'line {n}\\n')\n"

    async def run() -> list[str | AgentExit]:
        stream = child.stream_child([sys.executable, "-c", script], cwd=None, env={})
        return [item async for item in stream]

    items = asyncio.run(run())
    assert items[:-1] == [f"line {n}" for n in range(50000)]
    assert isinstance(items[-1], AgentExit) and items[-1].exit_code == 0
