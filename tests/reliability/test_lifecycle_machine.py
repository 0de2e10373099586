"""A hypothesis state machine over the run lifecycle through the real app and database.

Rules: create runs, let them finish, cancel, restart the server (runs in flight become
interrupted), select winners, and replay streams from random cursors. Invariants: statuses
only move along legal transitions, at most one winner and only on finished runs, and every
stream replay is exactly the database's sequence after its cursor, ending with `complete`.
It runs on SQLite and on PostgreSQL (a fresh database for every example).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from app.config import Settings
from app.runs.states import RUN_TERMINAL, run_can_move
from tests.conftest import command_spec, make_git_repo
from tests.postgres_server import PostgresServer
from tests.reliability.harness import Store

pytestmark = pytest.mark.reliability

# A fresh database URL for one example; the example's temporary directory is given.
NewDatabase = Callable[[Path], Awaitable[str]]


class RunLifecycle(RuleBasedStateMachine):
    """Drives one app at a time (restarts swap it) on one fresh database."""

    new_database: NewDatabase

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.TemporaryDirectory()
        root = Path(self.tmp.name)
        self.repo = make_git_repo(root / "repo", {"a.txt": "a\n"})
        self.store = Store("under test", self.run(self.new_database(root)))
        self.settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=self.store.url,
            data_dir=root / "data",
            backend="process",
            allow_unsandboxed=True,
            allow_local_repos=True,
            log_level="warning",
            log_json=True,
        )
        self.seen_status: dict[str, str] = {}
        self.app: Any = None
        self.lifespan: Any = None
        self.client: httpx.AsyncClient | None = None

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _start(self) -> None:
        from app.main import create_app

        self.app = create_app(self.settings)
        self.lifespan = self.app.router.lifespan_context(self.app)
        await self.lifespan.__aenter__()
        transport = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30)

    async def _stop(self) -> None:
        assert self.client is not None
        await self.client.aclose()
        await self.lifespan.__aexit__(None, None, None)

    @initialize()
    def boot(self) -> None:
        self.run(self._start())

    @rule(slow=st.booleans(), n=st.integers(1, 3))
    def create(self, slow: bool, n: int) -> None:
        assert self.client is not None
        script = "echo start; sleep 5; echo end" if slow else "echo quick > out.txt; echo done"
        body = {"repo_url": str(self.repo), "prompt": "p", "variations": [command_spec(script)] * n}
        res = self.run(self.client.post("/api/v1/runs", json=body))
        assert res.status_code == 202, res.text
        self.seen_status[res.json()["run_id"]] = "queued"

    @precondition(lambda self: bool(self.seen_status))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        assert self.client is not None
        run_id = data.draw(st.sampled_from(sorted(self.seen_status)))
        res = self.run(self.client.post(f"/api/v1/runs/{run_id}/cancel"))
        assert res.status_code in (202, 409)
        if res.status_code == 202:
            assert res.json()["status"] == "cancelled"

    @precondition(lambda self: bool(self.seen_status))
    @rule(data=st.data(), winner=st.integers(0, 3))
    def select(self, data: st.DataObject, winner: int) -> None:
        assert self.client is not None
        run_id = data.draw(st.sampled_from(sorted(self.seen_status)))
        before = self.run(self.client.get(f"/api/v1/runs/{run_id}")).json()
        res = self.run(
            self.client.post(f"/api/v1/runs/{run_id}/select", json={"winning_variation_id": winner})
        )
        if before["status"] not in RUN_TERMINAL:
            # 409; or what a finished run answers, if it finished meanwhile
            assert res.status_code in (409, 200 if winner < len(before["variations"]) else 422)
        elif winner >= len(before["variations"]):
            assert res.status_code == 422
        else:
            assert res.status_code == 200 and res.json()["winning_variation_id"] == winner

    @rule()
    def wait_a_little(self) -> None:
        self.run(asyncio.sleep(0.3))

    @rule()
    def restart(self) -> None:
        self.run(self._stop())
        self.run(self._start())

    @precondition(lambda self: bool(self.seen_status))
    @rule(data=st.data())
    def replay_from_cursor(self, data: st.DataObject) -> None:
        assert self.client is not None
        run_id = data.draw(st.sampled_from(sorted(self.seen_status)))
        run = self.run(self.client.get(f"/api/v1/runs/{run_id}")).json()
        if run["status"] not in RUN_TERMINAL:
            return  # in-process transport buffers whole responses: only finished streams
        truth = self.run(self.store.ids(run_id))
        cursor = data.draw(st.sampled_from([0, *truth]))
        if cursor == truth[-1]:
            return  # nothing after the last event: the stream would wait for more
        res = self.run(
            self.client.get(f"/api/v1/runs/{run_id}/stream", params={"last_event_id": cursor})
        )
        ids = [int(line[4:]) for line in res.text.splitlines() if line.startswith("id: ")]
        assert ids == [i for i in truth if i > cursor]
        assert "event: complete" in res.text.rsplit("id: ", 1)[-1]

    @invariant()
    def statuses_move_legally_and_one_winner(self) -> None:
        if self.client is None:
            return
        listing = self.run(self.client.get("/api/v1/runs", params={"limit": 200})).json()
        for run in listing["items"]:
            old, new = self.seen_status.get(run["id"], "queued"), run["status"]
            assert (
                old == new or run_can_move(old, new) or (old == "queued" and new in RUN_TERMINAL)
            ), f"{old} -> {new}"
            self.seen_status[run["id"]] = new
            if run["winning_variation_id"] is not None:
                assert new in RUN_TERMINAL
                assert run["winning_variation_id"] < run["variation_count"]

    def teardown(self) -> None:
        if self.client is not None:
            self.run(self._stop())
        self.loop.close()
        self.tmp.cleanup()


async def _sqlite(root: Path) -> str:
    return f"sqlite+aiosqlite:///{root / 'db.sqlite'}"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_run_lifecycle(kind: str, request: pytest.FixtureRequest) -> None:
    if kind == "sqlite":
        new_database: NewDatabase = _sqlite
    else:
        server: PostgresServer = request.getfixturevalue("postgres")

        async def new_database(root: Path) -> str:
            return await server.new_database()

    machine = type(
        f"RunLifecycle_{kind}", (RunLifecycle,), {"new_database": staticmethod(new_database)}
    )
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=6,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
