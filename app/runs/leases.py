"""Ownership of running work across replicas: heartbeats, lease renewal, recovery.

Each replica renews, every lease/4 seconds, the lease on the runs it runs. A replica that
dies (SIGKILL, lost machine) stops renewing; once a lease ran out, whichever replica sweeps
first takes the run over (one conditional UPDATE, so only one does) and marks it and its
unfinished variations `interrupted`. At startup a replica recovers only its own leftovers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import structlog

from app.config import Settings
from app.db import Database
from app.events.log import EventLog
from app.models import utcnow
from app.runs import finalize
from app.runs import replica_repository as replicas

log = structlog.get_logger()


class LeaseKeeper:
    """Heartbeats for this replica; sweeps the runs of replicas that stopped."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        events: EventLog,
        active: Callable[[], set[str]] = set,
    ) -> None:
        self.replica_id = settings.replica_id
        self._lease = timedelta(seconds=settings.lease_seconds)
        self._db = db
        self._events = events
        # The runs this process is running right now (the supervisor's live tasks).
        self.active = active
        self._started = utcnow()

    @property
    def interval(self) -> float:
        """Seconds between heartbeats (and sweeps)."""
        return self._lease.total_seconds() / 4

    async def beat(self) -> int:
        """Heartbeat and renew this replica's leases; how many runs it holds."""
        now = utcnow()
        return await replicas.heartbeat(
            self._db,
            self.replica_id,
            started_at=self._started,
            now=now,
            lease_until=now + self._lease,
        )

    async def recover_own(self) -> list[str]:
        """At startup: this replica's unfinished runs (a previous life of it) are interrupted."""
        recovered = []
        for run_id in await replicas.leftover_runs(self._db, self.replica_id):
            if run_id in self.active():
                continue
            await finalize.interrupt_run(self._events, self._db, run_id, "server stopped")
            recovered.append(run_id)
        return recovered

    async def sweep(self) -> list[str]:
        """Interrupt the runs whose owner's lease ran out; the ids this replica took over."""
        now = utcnow()
        taken = []
        for run_id, owner in await replicas.expired_runs(self._db, now):
            if run_id in self.active():
                continue  # ours and alive: a slow renewal, not a dead replica
            guard = replicas.take_over(
                run_id, owner, replica_id=self.replica_id, now=now, lease_until=now + self._lease
            )
            if not await self._events.write(guard=guard):
                continue  # another replica took it first
            log.warning("lease.expired", run_id=run_id, owner=owner)
            error = f"replica {owner} stopped renewing its lease"
            await finalize.interrupt_run(self._events, self._db, run_id, error)
            taken.append(run_id)
        return taken

    async def run_forever(self) -> None:
        """Heartbeat and sweep every `interval` seconds until cancelled."""
        while True:
            try:
                await self.beat()
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be briefly unreachable: next time
                log.warning("lease.round_failed", error=str(exc))
            await asyncio.sleep(self.interval)
