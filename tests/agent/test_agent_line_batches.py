"""The agent's fast path: lines encoded without a dict, written once per read of the child."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aideator_agent
from aideator_agent import child_process
from aideator_agent.emitter import LineEmitter
from aideator_agent.protocol import build_line, encode_fields, encode_line
from hypothesis import given, settings
from hypothesis import strategies as st

_text = st.one_of(st.none(), st.text())
_data = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=1),
    st.dictionaries(
        st.text(max_size=8),
        st.one_of(st.integers(), st.text(), st.booleans(), st.none(), st.lists(st.integers())),
        max_size=4,
    ),
)


@settings(max_examples=300, deadline=None)
@given(seq=st.integers(0, 2**62), line_type=st.text(), text=_text, data=_data)
def test_direct_encoding_is_the_dict_encoding(
    seq: int, line_type: str, text: str | None, data: dict[str, Any] | None
) -> None:
    # Twice: the second call of a one-tag line takes the cached tag.
    for _ in range(2):
        assert encode_fields(seq, line_type, text, data) == encode_line(
            build_line(seq, line_type, text, data)
        )


class CountingOut(io.BytesIO):
    """An output that counts its flushes."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


def pump(chunks: list[bytes], emitter: LineEmitter) -> None:
    """Feed fixed reads, then the end, to the pipe reader's line splitter."""
    reads = [*chunks, b""]
    child_process._pump(
        lambda: reads.pop(0),
        lambda text: emitter.emit("log", text, {"source": "stdout"}),
        emitter.deferred,
    )


def test_lines_of_one_read_are_flushed_once_and_split_lines_are_joined() -> None:
    out = CountingOut()
    emitter = LineEmitter(out)
    pump([b"one\ntwo\nthr", b"ee\r\nfour\n", b"five"], emitter)
    lines = [json.loads(raw) for raw in out.getvalue().splitlines()]
    assert [line["text"] for line in lines] == ["one", "two", "three", "four", "five"]
    assert [line["seq"] for line in lines] == [0, 1, 2, 3, 4]
    # One flush per read that completed lines (2), and one for the unterminated tail.
    assert out.flushes == 3


def test_an_overlong_partial_line_is_passed_on_in_its_batch(monkeypatch: Any) -> None:
    monkeypatch.setattr(child_process, "MAX_LINE_BYTES", 8)
    out = CountingOut()
    emitter = LineEmitter(out)
    pump([b"short\n0123456789", b"abc\n"], emitter)
    texts = [json.loads(raw)["text"] for raw in out.getvalue().splitlines()]
    assert texts == ["short", "0123456789", "abc"]


def test_outside_a_batch_every_line_is_flushed() -> None:
    out = CountingOut()
    emitter = LineEmitter(out)
    emitter.emit("log", "a")
    emitter.emit("log", "b")
    assert out.flushes == 2
    with emitter.deferred():
        emitter.emit("log", "c")
        with emitter.deferred():
            emitter.emit("log", "d")
        assert out.flushes == 2  # the inner block does not flush for the outer one
    assert out.flushes == 3


def test_a_batch_is_one_write_to_the_real_stdout_even_when_python_is_unbuffered() -> None:
    """The host starts the agent with PYTHONUNBUFFERED=1; each message of a SEQPACKET
    socket is one write(2), so the messages show how the lines reached standard output."""
    program = (
        "from aideator_agent.emitter import LineEmitter\n"
        "e = LineEmitter()\n"
        "with e.deferred():\n"
        "    for n in range(50): e.emit('log', str(n))\n"
        "e.emit('log', 'alone')\n"
    )
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(Path(aideator_agent.__file__).parents[1]),
    }
    with ours, theirs:
        child = subprocess.Popen([sys.executable, "-c", program], stdout=theirs, env=env)
        theirs.close()
        writes = []
        while message := ours.recv(1 << 20):
            writes.append(message)
        assert child.wait(timeout=60) == 0
    assert len(writes) == 2, [w[:60] for w in writes]
    assert [json.loads(raw)["text"] for raw in writes[0].splitlines()] == [
        str(n) for n in range(50)
    ]
    assert json.loads(writes[1])["text"] == "alone"
