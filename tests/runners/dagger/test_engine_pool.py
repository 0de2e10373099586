"""A pool of Dagger engines: placement by load and cap, an engine that refuses, /ready.

No engine runs here: every call goes to the clearly named STAND-IN CLI
(tests/runners/dagger/fake_dagger_cli.py), which reports the runner host it was given and
fails like the real CLI for the hosts listed in FAKE_DAGGER_REFUSE.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings, parse_engines
from app.runners.base import AgentExit
from app.runners.dagger import DaggerRunner
from app.runners.dagger.engine_pool import EnginePool, NoEngineAvailable
from app.runners.dagger.runner import connect_failure
from tests.conftest import start_command_run, wait_finished
from tests.runners.dagger.test_dagger_runner import collect, make_job, write_stand_in
from tests.server_process import free_port, serving
from tests.sse_client import collect as collect_events

ENGINE_A = "tcp://engine-a:1234"
ENGINE_B = "tcp://engine-b:1234"


def calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def most_at_once(entries: list[dict[str, Any]]) -> int:
    """The largest number of calls whose run times overlap."""
    edges = sorted([(e["start"], 1) for e in entries] + [(e["end"], -1) for e in entries])
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


class TestPool:
    async def test_least_loaded_first_and_capped(self) -> None:
        pool = EnginePool([ENGINE_A, ENGINE_B], per_engine=2, down_seconds=60)
        async with pool.lease() as first, pool.lease() as second, pool.lease() as third:
            assert [first.host, second.host, third.host] == [ENGINE_A, ENGINE_B, ENGINE_A]
            async with pool.lease() as fourth:
                assert fourth.host == ENGINE_B
                fifth = pool.lease()
                waiting = asyncio.create_task(fifth.__aenter__())
                await asyncio.sleep(0.05)
                assert not waiting.done()  # both engines at their cap
            engine = await asyncio.wait_for(waiting, 2)
            assert engine.host == ENGINE_B
            assert [s["active"] for s in pool.states()] == [2, 2]
            await fifth.__aexit__(None, None, None)
        assert [s["active"] for s in pool.states()] == [0, 0]

    async def test_down_engines_are_skipped_until_their_time_is_up(self) -> None:
        now = [0.0]
        pool = EnginePool([ENGINE_A, ENGINE_B], per_engine=1, down_seconds=30, clock=lambda: now[0])
        await pool.mark_down(ENGINE_A, "connection refused")
        async with pool.lease() as engine:
            assert engine.host == ENGINE_B
        assert pool.states()[0]["state"] == "down"
        with pytest.raises(NoEngineAvailable, match="connection refused"):
            async with pool.lease(exclude=[ENGINE_B]):
                pass
        now[0] = 31.0
        async with pool.lease() as engine:
            assert engine.host == ENGINE_A

    def test_parse_engines(self) -> None:
        assert parse_engines(f" {ENGINE_A}, ,{ENGINE_B},{ENGINE_A}") == (ENGINE_A, ENGINE_B)
        assert parse_engines(None) == () and parse_engines("") == ()


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in CLI on PATH; returns the file it logs its calls to."""
    write_stand_in(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_DAGGER_LOG", str(log))
    return log


@pytest.mark.parametrize(
    ("stderr", "is_connect_failure"),
    [
        ("Error: failed to connect to engine: dial tcp 10.0.0.9:1234: i/o timeout", True),
        ('Error from server (NotFound): pods "dagger-engine-x" not found', True),
        ("error: unable to upgrade connection: container not found", True),
        ("Error: engine exploded", False),
        ("Error: function call failed: exit code 1", False),
    ],
)
def test_connect_failures_are_told_apart(stderr: str, is_connect_failure: bool) -> None:
    ended = AgentExit(exit_code=None, error="dagger call exited 1", debug_log=f"x\n{stderr}\n")
    assert (connect_failure(ended) is not None) is is_connect_failure
    with_result = AgentExit(exit_code=0, final_result={"exit_code": 0}, debug_log=stderr)
    assert connect_failure(with_result) is None  # the call reached an engine and answered


class TestRunnerWithPool:
    async def test_six_variations_spread_by_load_and_cap(
        self, tmp_path: Path, stand_in: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAKE_DAGGER_MODE", "result")
        monkeypatch.setenv("FAKE_DAGGER_DELAY", "1.2")
        pool = EnginePool([ENGINE_A, ENGINE_B], per_engine=2, down_seconds=60)
        runner = DaggerRunner(dagger_bin=str(tmp_path / "bin" / "dagger"), module="m", pool=pool)
        jobs = [make_job(tmp_path, variation_id=n) for n in range(6)]
        outcomes = await asyncio.gather(*(collect(runner.run(job)) for job in jobs))
        for items in outcomes:
            (last,) = items
            assert isinstance(last, AgentExit) and last.final_result is not None
        entries = calls(stand_in)
        assert len(entries) == 6
        # No lease is released before a call ends: the calls that started before the first
        # end are the first wave, two on each engine (least loaded first). The last two
        # wait for a free slot, so no engine ever runs more than its cap.
        first_end = min(e["end"] for e in entries)
        first_wave = sorted(e["engine"] for e in entries if e["start"] < first_end)
        assert first_wave == [ENGINE_A, ENGINE_A, ENGINE_B, ENGINE_B]
        for host in (ENGINE_A, ENGINE_B):
            assert most_at_once([e for e in entries if e["engine"] == host]) == 2
        assert most_at_once(entries) == 4

    async def test_a_refusing_engine_is_marked_down_and_its_variation_retried(
        self, tmp_path: Path, stand_in: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAKE_DAGGER_MODE", "result")
        monkeypatch.setenv("FAKE_DAGGER_REFUSE", ENGINE_A)
        pool = EnginePool([ENGINE_A, ENGINE_B], per_engine=2, down_seconds=60)
        runner = DaggerRunner(dagger_bin=str(tmp_path / "bin" / "dagger"), module="m", pool=pool)
        items = await collect(runner.run(make_job(tmp_path)))
        notice, ended = items
        assert isinstance(notice, str) and ENGINE_A in notice and "marked down" in notice
        assert "connection refused" in notice and "retrying on another engine" in notice
        assert isinstance(ended, AgentExit) and ended.final_result is not None
        assert [e["engine"] for e in calls(stand_in)] == [ENGINE_B]
        # The next variation does not try engine A again while it is down.
        await collect(runner.run(make_job(tmp_path, variation_id=1)))
        assert [e["engine"] for e in calls(stand_in)] == [ENGINE_B, ENGINE_B]
        ready = await runner.availability()
        assert ready.ok
        states = {s["host"]: s for s in ready.engines}
        assert states[ENGINE_A]["state"] == "down" and states[ENGINE_B]["state"] == "up"
        assert "connection refused" in states[ENGINE_A]["last_error"]

    async def test_every_engine_refusing_fails_the_variation_clearly(
        self, tmp_path: Path, stand_in: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAKE_DAGGER_REFUSE", f"{ENGINE_A},{ENGINE_B}")
        pool = EnginePool([ENGINE_A, ENGINE_B], per_engine=2, down_seconds=60)
        runner = DaggerRunner(dagger_bin=str(tmp_path / "bin" / "dagger"), module="m", pool=pool)
        *notices, ended = await collect(runner.run(make_job(tmp_path)))
        assert len(notices) == 2 and isinstance(ended, AgentExit)
        assert ended.final_result is None and ended.error
        *_, again = await collect(runner.run(make_job(tmp_path)))
        assert isinstance(again, AgentExit) and "no Dagger engine is available" in str(again.error)
        assert not (await runner.availability()).ok


@pytest.fixture
async def server(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    stand_in: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[httpx.AsyncClient]:
    """A real server with the dagger backend on two engines, engine A refusing."""
    monkeypatch.setenv("FAKE_DAGGER_MODE", "agent")
    monkeypatch.setenv("FAKE_DAGGER_REFUSE", ENGINE_A)
    settings = make_settings(
        backend="dagger",
        port=free_port(),
        dagger_engines=f"{ENGINE_A},{ENGINE_B}",
        dagger_engine_max_active=2,
        sandbox_memory_mb=1024,
        sandbox_pids_max=256,
    )
    async with serving(settings) as client:
        yield client


async def test_run_survives_a_refusing_engine_event_and_ready_say_so(
    server: httpx.AsyncClient, git_repo: Path, stand_in: Path
) -> None:
    ready = (await server.get("/api/v1/ready")).json()
    assert ready["status"] == "ready", ready
    assert [e["state"] for e in ready["checks"]["backend"]["engines"]] == ["up", "up"]
    accepted = await start_command_run(server, git_repo, "echo one > a.txt", "echo two > b.txt")
    events = await collect_events(server, accepted["stream_url"])
    run = await wait_finished(server, accepted["run_id"])
    assert [v["status"] for v in run["variations"]] == ["succeeded", "succeeded"], run
    notices = [
        e.json
        for e in events
        if e.event == "agent_output" and ENGINE_A in (e.json.get("text") or "")
    ]
    assert notices and "marked down" in notices[0]["text"]
    assert {e["engine"] for e in calls(stand_in)} == {ENGINE_B}
    res = await server.get("/api/v1/ready")
    assert res.status_code == 200
    engines = {e["host"]: e for e in res.json()["checks"]["backend"]["engines"]}
    assert engines[ENGINE_A]["state"] == "down" and engines[ENGINE_B]["state"] == "up"
