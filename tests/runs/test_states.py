"""Status transitions: a hypothesis state machine over the real guarded UPDATEs in SQLite."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from app.db import Database
from app.events.log import EventLog
from app.models import Run, Variation, utcnow
from app.runs import repository as repo
from app.runs.states import (
    RUN_TERMINAL,
    VARIATION_TERMINAL,
    run_can_move,
    variation_can_move,
)

RUN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
VAR_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "timed_out", "interrupted"]


def test_terminal_states_have_no_exits() -> None:
    for status in RUN_TERMINAL:
        assert not any(run_can_move(status, t) for t in RUN_STATUSES)
    for status in VARIATION_TERMINAL:
        assert not any(variation_can_move(status, t) for t in VAR_STATUSES)
    assert run_can_move("queued", "running") and not run_can_move("running", "queued")


class Lifecycle(RuleBasedStateMachine):
    """Random transition attempts; the database must only ever follow legal ones."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = tempfile.TemporaryDirectory()
        self.db = Database(f"sqlite+aiosqlite:///{Path(self.dir.name) / 's.db'}")
        self.log = EventLog(self.db, on_commit=lambda _ids: None)
        self.run_status = "queued"
        self.var_status = "queued"
        self.winner: int | None = None
        self.loop.run_until_complete(self._setup())

    async def _setup(self) -> None:
        await self.db.create_all()
        await self.log.start()
        run = Run(
            id="r",
            repo_url="x",
            prompt="p",
            backend="process",
            status="queued",
            timeout_seconds=1,
            created_at=utcnow(),
        )
        var = Variation(run_id="r", variation_id=0, spec={}, status="queued")
        from sqlalchemy import insert

        await self.log.write(
            statements=[
                insert(repo.RUNS).values(run.model_dump()),
                insert(repo.VARIATIONS).values(var.model_dump()),
            ]
        )

    @rule(status=st.sampled_from(RUN_STATUSES))
    def move_run(self, status: str) -> None:
        applied = self.loop.run_until_complete(self.log.write(guard=repo.set_run("r", status)))
        assert applied == run_can_move(self.run_status, status)
        if applied:
            self.run_status = status

    @rule(status=st.sampled_from(VAR_STATUSES))
    def move_variation(self, status: str) -> None:
        applied = self.loop.run_until_complete(
            self.log.write(guard=repo.set_variation("r", 0, status))
        )
        assert applied == variation_can_move(self.var_status, status)
        if applied:
            self.var_status = status

    @rule(variation=st.integers(0, 1))
    def select_winner(self, variation: int) -> None:
        guard = repo.set_run("r", winning_variation_id=variation, winner_selected_by="user").where(
            repo.RUNS.c.status.in_(sorted(RUN_TERMINAL))
        )
        applied = self.loop.run_until_complete(self.log.write(guard=guard))
        assert applied == (self.run_status in RUN_TERMINAL)
        if applied:
            self.winner = variation

    @invariant()
    def database_agrees(self) -> None:
        run = self.loop.run_until_complete(repo.get_run(self.db, "r"))
        var = self.loop.run_until_complete(repo.get_variation(self.db, "r", 0))
        assert run is not None and var is not None
        assert run.status == self.run_status and var.status == self.var_status
        # One column holds the winner: at most one, and only the latest choice.
        assert run.winning_variation_id == self.winner

    def teardown(self) -> None:
        self.loop.run_until_complete(self.log.close())
        self.loop.run_until_complete(self.db.dispose())
        self.loop.close()
        self.dir.cleanup()


Lifecycle.TestCase.settings = settings(max_examples=25, stateful_step_count=15, deadline=None)
TestLifecycle = Lifecycle.TestCase
