"""One server per data directory: a lock file that also says which server holds it.

An embedded server marks runs it did not start as interrupted when it opens the database,
so two servers must never share one: a second CLI command uses the running `aideator serve`
it finds here, or stops with a hint.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import Any, TextIO

LOCK_NAME = "server.lock"


class ServerLock:
    """An exclusive, advisory lock on a data directory; released when the process ends."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._file: TextIO | None = None

    def acquire(self, *, kind: str, url: str, **facts: Any) -> bool:
        """Take the lock and record who holds it (and `facts` about it); False when taken."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"kind": kind, "url": url, "pid": os.getpid(), **facts}))
        handle.flush()
        self._file = handle
        return True

    def holder(self) -> dict[str, Any]:
        """What the holder wrote: kind (`serve`/`embedded`), url, pid, facts; {} if unreadable."""
        try:
            value = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def release(self) -> None:
        """Give the lock back."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.seek(0)
                self._file.truncate()
            self._file.close()
            self._file = None
