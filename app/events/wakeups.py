"""Wake-ups across replicas: PostgreSQL LISTEN/NOTIFY on the run ids a commit touched.

The event log sends `pg_notify` inside each write transaction, so every replica hears of a
commit right after it; each replica's hub then reads the new rows (the writing replica's
hub was handed them by its event log, and the payload's last event id tells it so). On
SQLite there is one server process, whose event log hands its hub the new events directly.
The hub's slow poll stays as the safety net while the listening connection is being
re-established.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog
from sqlalchemy.engine import make_url

WAKEUP_CHANNEL = "aideator_events"
_RECONNECT_SECONDS = 1.0
log = structlog.get_logger()


def asyncpg_dsn(database_url: str) -> str:
    """The plain `postgresql://` DSN asyncpg takes, from a SQLAlchemy URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PostgresWakeups:
    """Listens on WAKEUP_CHANNEL and hands each notified run id to `notify`."""

    def __init__(
        self,
        database_url: str,
        notify: Callable[[set[str]], None],
        *,
        knows: Callable[[str, int], bool] | None = None,
    ) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._notify = notify
        self._knows = knows
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        """Start listening (returns once the first LISTEN is in place, or failed)."""
        self._task = asyncio.create_task(self._listen_forever(), name="pg-wakeups")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.listening.wait(), 10)

    async def close(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _on_notification(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        # `<run id>` or `<run id> <last event id>`; a replica already holding that event
        # (its own commit, handed over by its event log) skips reading it back.
        run_id, _, last = payload.partition(" ")
        if last.isdigit() and self._knows is not None and self._knows(run_id, int(last)):
            return
        self._notify({run_id})

    async def _listen_forever(self) -> None:
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(WAKEUP_CHANNEL, self._on_notification)
                self.listening.set()
                await lost.wait()
                log.warning("wakeups.connection_lost")
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("wakeups.listen_failed", error=str(exc))
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=2))
            await asyncio.sleep(_RECONNECT_SECONDS)
