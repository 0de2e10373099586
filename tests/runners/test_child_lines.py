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
