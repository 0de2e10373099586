"""Egress proxies for a run's phases: one Unix socket each, every connection an event."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from app.egress.allowlist import EgressAllowList
from app.egress.proxy import ConnectionRecord, EgressProxy
from app.events import payloads as events_out
from app.events.log import EventLog


class EgressGate:
    """Opens a proxy for the setup phase or one variation; records to the run's events."""

    def __init__(self, allow: EgressAllowList, events: EventLog) -> None:
        self._allow = allow
        self._events = events
        self._dir: Path | None = None

    def _socket_dir(self) -> Path:
        if self._dir is None:
            # A short private path: Unix socket paths are limited to 107 bytes.
            self._dir = Path(tempfile.mkdtemp(prefix="aideator-egress-"))
            os.chmod(self._dir, 0o755)
        return self._dir

    @contextlib.asynccontextmanager
    async def proxy(self, run_id: str, variation_id: int | None) -> AsyncIterator[Path]:
        """A proxy serving one phase while the context lasts; yields its socket path."""

        async def record(item: ConnectionRecord) -> None:
            await self._events.write([events_out.egress(run_id, variation_id, item.to_payload())])

        path = await asyncio.to_thread(self._socket_dir)
        socket_path = path / f"{uuid.uuid4().hex[:16]}.sock"
        proxy = EgressProxy(self._allow, record)
        await proxy.start(socket_path)
        try:
            yield socket_path
        finally:
            await proxy.stop()

    def close(self) -> None:
        """Remove the socket directory (the server is stopping)."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
