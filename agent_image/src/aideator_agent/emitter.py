"""Writes protocol lines to stdout (one flushed JSON object per line) and to the relay."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from aideator_agent.protocol import build_line, encode_line

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
        self._out = out if out is not None else sys.stdout.buffer
        self._sinks: list[LineSink] = []
        self._secrets = sorted(
            {s for s in secrets if s and len(s) >= _MIN_SECRET_LEN}, key=len, reverse=True
        )
        self._seq = 0
        self._lock = threading.Lock()
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
            encoded = self._redact(encode_line(build_line(seq, line_type, text, data)))
            if line_type == "result":
                self.result_sent = True
            try:
                self._out.write(encoded.encode("utf-8", "replace") + b"\n")
                self._out.flush()
            except (BrokenPipeError, ValueError):
                # The reader went away; keep working so the relay still gets the lines.
                pass
            for sink in self._sinks:
                sink(seq, encoded)
            return seq

    def _redact(self, encoded: str) -> str:
        # Secrets are tokens of JSON-safe characters, so a plain replace is exact.
        for secret in self._secrets:
            encoded = encoded.replace(secret, "***")
        return encoded
