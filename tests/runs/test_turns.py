"""Follow-up turns with `command` agents: same workspace, numbered turns, the 409/404 cases."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.repos.overlay import is_mounted, unmount
from tests.conftest import command_spec, wait_finished
from tests.sse_client import collect

# Appends each prompt to notes.txt; a prompt "slow" keeps the agent busy for a while.
NOTE = 'echo "$AIDEATOR_PROMPT" >> notes.txt; [ "$AIDEATOR_PROMPT" = slow ] && sleep 20; true'


@pytest.fixture
async def kept(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose runs keep their workspaces for a minute."""
    from app.main import create_app

    app = create_app(make_settings(workspace_retention_seconds=60))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def _finished_run(client: httpx.AsyncClient, repo: Path) -> str:
    body = {"repo_url": str(repo), "prompt": "first", "variations": [command_spec(NOTE)] * 2}
    res = await client.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    run_id: str = res.json()["run_id"]
    assert (await wait_finished(client, run_id))["status"] == "succeeded"
    return run_id


async def _reply(client: httpx.AsyncClient, run_id: str, n: int, prompt: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/runs/{run_id}/variations/{n}/messages", json={"prompt": prompt}
    )


async def test_second_turn_continues_the_workspace(kept: httpx.AsyncClient, git_repo: Path) -> None:
    run_id = await _finished_run(kept, git_repo)
    res = await _reply(kept, run_id, 1, "second")
    assert res.status_code == 202, res.text
    assert res.json()["turn"] == 2
    run = await wait_finished(kept, run_id)
    assert run["status"] == "succeeded"
    diff = (await kept.get(f"/api/v1/runs/{run_id}/variations/1/diff")).text
    assert "+first" in diff and "+second" in diff, diff
    untouched = (await kept.get(f"/api/v1/runs/{run_id}/variations/0/diff")).text
    assert "+first" in untouched and "second" not in untouched
    manifest = run["variations"][1]["manifest"]
    assert [t["turn"] for t in manifest["turns"]] == [1, 2]
    events = await collect(kept, f"/api/v1/runs/{run_id}/stream")
    ids = [e.id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    lines = [e.json for e in events if e.event == "agent_output" and e.json["variation_id"] == 1]
    turn_of: dict[int, int] = {line["seq"]: line["turn"] for line in lines}
    assert len(turn_of) == len(lines), "no line number is used twice"
    assert {line["turn"] for line in lines} == {1, 2}
    last_of_first = max(seq for seq, turn in turn_of.items() if turn == 1)
    assert min(seq for seq, turn in turn_of.items() if turn == 2) > last_of_first
    results = [
        e.json for e in events if e.event == "variation_result" and e.json["variation_id"] == 1
    ]
    assert [r["turn"] for r in results] == [1, 2]
    opening = next(
        e.json
        for e in events
        if e.event == "variation_status"
        and e.json.get("turn") == 2
        and e.json["status"] == "running"
    )
    assert opening["prompt"] == "second", "the turn's opening event names its prompt"
    assert [e.event for e in events].count("complete") == 2 and events[-1].event == "complete"
    # A client that saw everything up to turn 1's end gets exactly turn 2's events.
    first_complete = next(e.id for e in events if e.event == "complete")
    assert first_complete is not None
    rest = await collect(kept, f"/api/v1/runs/{run_id}/stream", last_event_id=first_complete)
    assert [e.id for e in rest] == [i for i in ids if i is not None and i > first_complete]


@pytest.mark.skipif(os.geteuid() != 0, reason="overlay workspaces need root")
async def test_a_turn_mounts_a_workspace_whose_mount_is_gone(
    kept: httpx.AsyncClient, git_repo: Path, tmp_path: Path
) -> None:
    run_id = await _finished_run(kept, git_repo)
    workspace = tmp_path / "data" / "repos" / "workspaces" / run_id / "1"
    assert is_mounted(workspace), "as root, a workspace is an overlay mount"
    unmount(workspace)  # as a reboot leaves a kept workspace: its layers, no mount
    assert not (workspace / "notes.txt").exists()
    res = await _reply(kept, run_id, 1, "second")
    assert res.status_code == 202, res.text
    run = await wait_finished(kept, run_id)
    assert run["status"] == "succeeded"
    assert is_mounted(workspace)
    assert (workspace / "notes.txt").read_text() == "first\nsecond\n"
    diff = (await kept.get(f"/api/v1/runs/{run_id}/variations/1/diff")).text
    assert "+first" in diff and "+second" in diff, diff


def _continuation(run: dict[str, Any], n: int) -> tuple[int, bool, str | None, str | None]:
    v = run["variations"][n]
    return v["turn"], v["continuable"], v["continuable_reason"], v["continuable_until"]


async def test_reads_say_whether_a_variation_can_continue(
    kept: httpx.AsyncClient, git_repo: Path
) -> None:
    run_id = await _finished_run(kept, git_repo)
    run = (await kept.get(f"/api/v1/runs/{run_id}")).json()
    turn, continuable, reason, until = _continuation(run, 0)
    assert (turn, continuable, reason) == (1, True, None)
    assert until is not None
    finished = datetime.fromisoformat(run["finished_at"])
    assert datetime.fromisoformat(until) == finished + timedelta(seconds=60)
    assert (await _reply(kept, run_id, 0, "slow")).status_code == 202
    during = (await kept.get(f"/api/v1/runs/{run_id}")).json()
    turn, continuable, reason, until = _continuation(during, 0)
    assert (turn, continuable, until) == (2, False, None)
    refused = await _reply(kept, run_id, 0, "again")
    assert refused.status_code == 409 and refused.json()["error"]["message"] == reason
    assert (await kept.post(f"/api/v1/runs/{run_id}/cancel")).status_code == 202
    cancelled = await wait_finished(kept, run_id)
    for n in (0, 1):
        _, continuable, reason, until = _continuation(cancelled, n)
        assert not continuable and until is None
        assert reason is not None and "cancelled" in reason


async def test_refusals(kept: httpx.AsyncClient, git_repo: Path) -> None:
    run_id = await _finished_run(kept, git_repo)
    missing = await _reply(kept, run_id, 7, "x")
    assert missing.status_code == 404, missing.text
    assert (await _reply(kept, "no-such-run", 0, "x")).status_code == 404
    assert (await _reply(kept, run_id, 0, "")).status_code == 422
    assert (await _reply(kept, run_id, 0, "slow")).status_code == 202
    # Another variation may take a turn meanwhile; the same one may not.
    assert (await _reply(kept, run_id, 1, "slow")).status_code == 202
    again = await _reply(kept, run_id, 0, "again")
    message = again.json()["error"]["message"]
    assert again.status_code == 409 and "one turn runs at a time per variation" in message
    # Cancelling the run stops every turn that runs.
    assert (await kept.post(f"/api/v1/runs/{run_id}/cancel")).status_code == 202
    run = await wait_finished(kept, run_id)
    assert run["status"] == "cancelled"
    assert [v["status"] for v in run["variations"]] == ["cancelled", "cancelled"]
    cancelled = await _reply(kept, run_id, 1, "after cancel")
    assert cancelled.status_code == 409 and "cancelled" in cancelled.json()["error"]["message"]


async def test_refused_once_the_workspace_is_removed(
    client: httpx.AsyncClient, git_repo: Path
) -> None:
    run_id = await _finished_run(client, git_repo)  # retention 0: trees removed at the end
    for _ in range(100):
        res = await _reply(client, run_id, 0, "x")
        assert res.status_code == 409, res.text
        if "workspace is gone" in res.json()["error"]["message"]:
            break
        await asyncio.sleep(0.05)  # the run's task is still removing its trees
    body: dict[str, Any] = res.json()
    assert "workspace is gone" in body["error"]["message"], body
    run = (await client.get(f"/api/v1/runs/{run_id}")).json()
    assert _continuation(run, 0) == (1, False, body["error"]["message"], None)


# Appends each prompt; a prompt "wait" holds the turn until the file $GATE exists.
GATED = (
    'echo "$AIDEATOR_PROMPT" >> notes.txt; '
    'if [ "$AIDEATOR_PROMPT" = wait ]; then while [ ! -e "$GATE" ]; do sleep 0.05; done; fi'
)


async def _status_of(client: httpx.AsyncClient, run_id: str, n: int, want: str) -> dict[str, Any]:
    for _ in range(600):
        run: dict[str, Any] = (await client.get(f"/api/v1/runs/{run_id}")).json()
        if run["variations"][n]["status"] == want:
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"variation {n} never became {want}: {run}")


async def test_variations_take_turns_at_once_and_the_last_one_finishes_the_run(
    kept: httpx.AsyncClient, git_repo: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    spec = command_spec(GATED) | {"env": {"GATE": str(gate)}}
    body = {"repo_url": str(git_repo), "prompt": "first", "variations": [spec, spec]}
    res = await kept.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    run_id = res.json()["run_id"]
    assert (await wait_finished(kept, run_id))["status"] == "succeeded"
    assert (await _reply(kept, run_id, 0, "wait")).status_code == 202
    during = (await kept.get(f"/api/v1/runs/{run_id}")).json()
    assert during["status"] == "running"
    assert _continuation(during, 1) == (1, True, None, None)  # kept while turns run
    assert (await _reply(kept, run_id, 1, "quick")).status_code == 202
    run = await _status_of(kept, run_id, 1, "succeeded")
    assert run["status"] == "running", "variation 0's turn still runs"
    assert run["variations"][1]["turn"] == 2 and run["variations"][0]["status"] == "running"
    gate.touch()
    run = await wait_finished(kept, run_id)
    assert run["status"] == "succeeded"
    assert [v["turn"] for v in run["variations"]] == [2, 2]
    for n, prompt in ((0, "wait"), (1, "quick")):
        diff = (await kept.get(f"/api/v1/runs/{run_id}/variations/{n}/diff")).text
        assert "+first" in diff and f"+{prompt}" in diff, diff
    events = await collect(kept, f"/api/v1/runs/{run_id}/stream")
    names = [e.event for e in events]
    assert names.count("complete") == 2 and names[-1] == "complete", "once after the last turn"
    after_first = names.index("complete")
    results = [
        e.json["variation_id"]
        for e in events[after_first:]
        if e.event == "variation_result" and e.json.get("turn") == 2
    ]
    assert sorted(results) == [0, 1]


async def test_a_turn_keeps_the_winner_the_user_picked(
    kept: httpx.AsyncClient, git_repo: Path
) -> None:
    body = {
        "repo_url": str(git_repo),
        "prompt": "first",
        "variations": [command_spec(NOTE)] * 2,
        "winner_policy": "best_score",
    }
    res = await kept.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    run_id = res.json()["run_id"]
    run = await wait_finished(kept, run_id)
    assert run["winner_selected_by"] == "policy"
    picked = 1 - run["winning_variation_id"]
    res = await kept.post(f"/api/v1/runs/{run_id}/select", json={"winning_variation_id": picked})
    assert res.status_code == 200, res.text
    assert (await _reply(kept, run_id, 1 - picked, "more")).status_code == 202
    after = await wait_finished(kept, run_id)
    assert after["variations"][1 - picked]["turn"] == 2
    assert (after["winning_variation_id"], after["winner_selected_by"]) == (picked, "user")


async def test_a_turn_takes_the_runs_lease(
    make_settings: Callable[..., Settings], git_repo: Path
) -> None:
    from app.main import create_app
    from app.models import utcnow
    from app.runs import repository as repo

    app = create_app(make_settings(workspace_retention_seconds=60, replica_id="turn-taker"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            run_id = await _finished_run(client, git_repo)
            services = app.state.services
            # As if another replica had run it long ago: its lease ran out.
            stale = utcnow() - timedelta(hours=1)
            await services.events.write(
                statements=[repo.set_run(run_id, owner="gone", lease_expires_at=stale)]
            )
            assert (await _reply(client, run_id, 0, "slow")).status_code == 202
            run = await repo.get_run(services.db, run_id)
            assert run is not None and run.status == "running"
            assert run.owner == "turn-taker"
            assert run.lease_expires_at is not None and run.lease_expires_at > utcnow()
            assert (await client.post(f"/api/v1/runs/{run_id}/cancel")).status_code == 202
