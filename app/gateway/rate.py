"""The per-variation request-rate cap: at most N requests in any 60-second window."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable

WINDOW_SECONDS = 60.0


class RateWindow:
    """Counts each key's requests over a sliding minute."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = per_minute
        self._clock = clock
        self._seen: dict[Hashable, deque[float]] = {}

    def admit(self, key: Hashable) -> int | None:
        """Count one request; None when admitted, else seconds until one would be."""
        now = self._clock()
        times = self._seen.setdefault(key, deque())
        while times and now - times[0] >= WINDOW_SECONDS:
            times.popleft()
        if len(times) >= self._limit:
            return max(1, math.ceil(WINDOW_SECONDS - (now - times[0])))
        times.append(now)
        return None

    def forget(self, key: Hashable) -> None:
        """Drop a key's history (its variation ended)."""
        self._seen.pop(key, None)
