"""Relay: POSTs protocol lines as NDJSON batches to the host from a background thread.

The agent's work never waits on the relay: `submit` only appends to a bounded queue.
Failed batches are retried with capped exponential backoff, in order; the host
de-duplicates by seq, so resending is safe.
"""

from __future__ import annotations

import http.client
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque

BATCH_INTERVAL = 0.1
BACKOFF_START = 0.1
BACKOFF_CAP = 2.0
REQUEST_TIMEOUT = 5.0
MAX_BATCH_LINES = 1000
MAX_BATCH_BYTES = 1_000_000
# Answers that mean "this variation may not post (any more)": stop relaying.
_STOP_STATUSES = frozenset({401, 403, 404, 409, 410})
# Answers that mean "this batch itself is refused": drop it and go on.
_DROP_STATUSES = frozenset({400, 413, 422})
_BAD_URL = -1


def _warn(message: str) -> None:
    print(f"aideator-agent relay: {message}", file=sys.stderr, flush=True)


class RelayClient:
    """Sends submitted lines to `url` in order, ~every 100 ms, until closed."""

    def __init__(self, url: str, token: str | None, *, max_pending: int = 100_000) -> None:
        self._url = url
        self._token = token
        self._max_pending = max_pending
        self._pending: deque[tuple[int, str]] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._stopped = False
        self._deadline = float("inf")
        self._dropped = 0
        # Proxies from the environment must not capture a loopback/service relay URL.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._thread = threading.Thread(target=self._run, name="aideator-relay", daemon=True)

    def start(self) -> None:
        """Start the background sender thread."""
        self._thread.start()

    def submit(self, seq: int, line: str) -> None:
        """Queue one encoded line; never blocks on the network."""
        with self._cond:
            if self._stopped:
                return
            self._pending.append((seq, line))
            if len(self._pending) > self._max_pending:
                self._pending.popleft()
                self._dropped += 1
                if self._dropped == 1 or self._dropped % 10_000 == 0:
                    _warn(f"queue full, dropped {self._dropped} oldest line(s)")
            self._cond.notify()

    def close(self, timeout: float) -> bool:
        """Try to send what is left for up to `timeout` seconds; True if all was sent."""
        with self._cond:
            self._closing = True
            self._deadline = time.monotonic() + timeout
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout + 0.5)
        with self._cond:
            left = len(self._pending)
            self._stopped = True
        if left:
            _warn(f"gave up with {left} unsent line(s)")
        return left == 0

    @property
    def pending(self) -> int:
        """Number of lines not yet acknowledged by the host."""
        with self._cond:
            return len(self._pending)

    def _run(self) -> None:
        try:
            self._send_loop()
        except Exception as exc:  # a relay bug must never take the agent down
            _warn(f"stopped after an unexpected error: {exc!r}")
            with self._cond:
                self._stopped = True

    def _send_loop(self) -> None:
        backoff = BACKOFF_START
        max_lines = MAX_BATCH_LINES
        while True:
            batch = self._next_batch(max_lines)
            if batch is None:
                return
            status = self._post(batch)
            if status is not None and 200 <= status < 300:
                self._ack(batch[-1][0])
                backoff, max_lines = BACKOFF_START, MAX_BATCH_LINES
            elif status in _STOP_STATUSES or status == _BAD_URL:
                _warn(
                    f"host answered {status}; relaying stopped"
                    if status != _BAD_URL
                    else "invalid RELAY_URL; relaying stopped"
                )
                with self._cond:
                    self._stopped = True
                    self._pending.clear()
                return
            elif status == 413 and len(batch) > 1:
                max_lines = max(1, len(batch) // 2)
            elif status in _DROP_STATUSES:
                _warn(f"host refused a batch of {len(batch)} line(s) with {status}; dropped")
                self._ack(batch[-1][0])
            else:
                if not self._sleep(backoff):
                    return
                backoff = min(backoff * 2, BACKOFF_CAP)

    def _next_batch(self, max_lines: int) -> list[tuple[int, str]] | None:
        """Wait for lines (batching ~100 ms); None once closing and empty or past deadline."""
        with self._cond:
            while not self._pending:
                if self._closing or self._stopped:
                    return None
                self._cond.wait()
            if not self._closing:
                # Let a burst accumulate into one request.
                self._cond.wait(BATCH_INTERVAL)
            if self._stopped or time.monotonic() >= self._deadline:
                return None
            batch: list[tuple[int, str]] = []
            size = 0
            for item in self._pending:
                if batch and (len(batch) >= max_lines or size + len(item[1]) > MAX_BATCH_BYTES):
                    break
                batch.append(item)
                size += len(item[1]) + 1
            return batch

    def _ack(self, last_seq: int) -> None:
        with self._cond:
            # Drop by seq, not by count: the queue may have shed old lines meanwhile.
            while self._pending and self._pending[0][0] <= last_seq:
                self._pending.popleft()

    def _sleep(self, seconds: float) -> bool:
        """Back off; False when the close deadline passes first."""
        until = time.monotonic() + seconds
        with self._cond:
            # New lines notify the condition too; they must not cut the backoff short.
            while (now := time.monotonic()) < min(until, self._deadline):
                self._cond.wait(min(until, self._deadline) - now)
            return not self._stopped and time.monotonic() < self._deadline

    def _post(self, batch: list[tuple[int, str]]) -> int | None:
        body = "".join(line + "\n" for _, line in batch).encode("utf-8", "replace")
        headers = {"Content-Type": "application/x-ndjson"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        timeout = max(0.1, min(REQUEST_TIMEOUT, self._deadline - time.monotonic()))
        parts = urllib.parse.urlsplit(self._url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return _BAD_URL
        request = urllib.request.Request(self._url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=timeout) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return int(exc.code)
        except (OSError, ValueError, http.client.HTTPException):
            return None
