"""Writes protocol lines to stdout (one JSON object per line) and to the relay.

Each line is flushed as it is written, except inside `deferred()`: lines that arrived
together (one read of a child's output) are written in one go and flushed once at the end.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, BinaryIO

from aideator_agent.protocol import encode_fields

# Secrets shorter than this are not redacted: replacing tiny strings would mangle output.
_MIN_SECRET_LEN = 8

LineSink = Callable[[int, str], None]


class LineEmitter:
    """Numbers lines from seq 0 and writes each one, flushed, to stdout and any sinks."""

    def __init__(
        self,
        out: BinaryIO | None = None,
        *,
        secrets: Iterable[str | None] = (),
    ) -> None:
        self._out = out if out is not None else _buffered_stdout()
        self._sinks: list[LineSink] = []
        self._secrets = sorted(
            {s for s in secrets if s and len(s) >= _MIN_SECRET_LEN}, key=len, reverse=True
        )
        self._seq = 0
        self._lock = threading.Lock()
        self._deferred = 0  # > 0: inside deferred(), flush at its end
        self._unflushed = False
        self.result_sent = False

    @property
    def seq(self) -> int:
        """The seq the next line will get (= number of lines written so far)."""
        return self._seq

    def add_sink(self, sink: LineSink) -> None:
        """Also hand every encoded line (with its seq) to `sink`, e.g. the relay."""
        self._sinks.append(sink)

    def emit(
        self, line_type: str, text: str | None = None, data: dict[str, Any] | None = None
    ) -> int:
        """Write one line; return its seq."""
        with self._lock:
            seq = self._seq
            self._seq += 1
            encoded = self._redact(encode_fields(seq, line_type, text, data))
            if line_type == "result":
                self.result_sent = True
            try:
                self._out.write(encoded.encode("utf-8", "replace") + b"\n")
                if self._deferred:
                    self._unflushed = True
                else:
                    self._out.flush()
            except (BrokenPipeError, ValueError):
                # The reader went away; keep working so the relay still gets the lines.
                pass
            for sink in self._sinks:
                sink(seq, encoded)
            return seq

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Lines emitted inside are flushed once, when the block ends."""
        with self._lock:
            self._deferred += 1
        try:
            yield
        finally:
            with self._lock:
                self._deferred -= 1
                if not self._deferred and self._unflushed:
                    self._unflushed = False
                    with suppress(BrokenPipeError, ValueError):  # the reader went away
                        self._out.flush()

    def _redact(self, encoded: str) -> str:
        # Secrets are tokens of JSON-safe characters, so a plain replace is exact.
        for secret in self._secrets:
            encoded = encoded.replace(secret, "***")
        return encoded


def _buffered_stdout() -> BinaryIO:
    """Standard output through a buffer of its own. With PYTHONUNBUFFERED (the host sets it
    for the agent's other output) `sys.stdout.buffer` writes every line with its own system
    call, which would undo `deferred()`; the emitter flushes when a line must go out."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return sys.stdout.buffer  # stdout replaced by something without a descriptor
    return io.BufferedWriter(io.FileIO(fd, "wb", closefd=False), buffer_size=1 << 16)
