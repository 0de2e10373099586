"""Fork: a new run starts from one variation's tree; its diffs stay against the original base."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from app.config import Settings
from tests.conftest import command_spec, wait_finished

# Records what the agent found in notes.txt, then appends its prompt to it.
NOTE = 'cat notes.txt > seen.txt 2>/dev/null; echo "$AIDEATOR_PROMPT-$N" >> notes.txt'


def _noting(n: int) -> dict[str, Any]:
    return command_spec(NOTE) | {"env": {"N": str(n)}}


async def _run(client: httpx.AsyncClient, repo: Path, **extra: Any) -> dict[str, Any]:
    body = {"repo_url": str(repo), "prompt": "first", "variations": [_noting(0), _noting(1)]}
    res = await client.post("/api/v1/runs", json=body | extra)
    assert res.status_code == 202, res.text
    run = await wait_finished(client, res.json()["run_id"])
    assert run["status"] == "succeeded", run
    return run


async def _fork(client: httpx.AsyncClient, run_id: str, n: int, **body: Any) -> httpx.Response:
    return await client.post(f"/api/v1/runs/{run_id}/variations/{n}/fork", json=body)


def _applied(repo: Path, base_sha: str, diff: str, checkout: Path) -> Path:
    """A clone of `repo` at base_sha with `diff` applied (git apply fails loudly)."""
    subprocess.run(["git", "clone", "-q", str(repo), str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "checkout", "-q", base_sha], check=True)
    subprocess.run(["git", "-C", str(checkout), "apply", "-"], input=diff.encode(), check=True)
    return checkout


async def _diff(client: httpx.AsyncClient, run_id: str, n: int) -> str:
    return (await client.get(f"/api/v1/runs/{run_id}/variations/{n}/diff")).text


async def test_fork_starts_from_the_variations_tree(
    client: httpx.AsyncClient, git_repo: Path, tmp_path: Path
) -> None:
    # Default retention (0): the parent's workspaces are gone; the stored diff is the tree.
    parent = await _run(client, git_repo, check_command="test -f notes.txt")
    parent_diff = await _diff(client, parent["id"], 1)
    assert "+first-1" in parent_diff
    res = await _fork(client, parent["id"], 1, prompt="second")
    assert res.status_code == 202, res.text
    accepted = res.json()
    assert accepted["status"] == "accepted" and accepted["stream_url"].endswith("/stream")
    assert [v["variation_id"] for v in accepted["variations"]] == [0, 1]  # the parent's count
    assert all(v["spec"]["env"] == {"N": "1"} for v in accepted["variations"])  # its spec
    child = await wait_finished(client, accepted["run_id"])
    assert child["status"] == "succeeded", child
    assert child["base_sha"] == parent["base_sha"]
    assert child["check_command"] == "test -f notes.txt"  # inherited
    lineage = {
        "run_id": parent["id"],
        "variation_id": 1,
        "diff_sha256": hashlib.sha256(parent_diff.encode()).hexdigest(),
    }
    assert child["parent"] == lineage and parent["parent"] is None
    for v in child["variations"]:
        assert v["manifest"]["parent"] == lineage
        diff = await _diff(client, child["id"], v["variation_id"])
        # The agent saw the parent's change; the diff holds both changes, against the base.
        assert "+first-1" in diff and "+second-1" in diff, diff
        assert "seen.txt" in diff and "first-0" not in diff
        checkout = _applied(git_repo, parent["base_sha"], diff, tmp_path / f"a{v['variation_id']}")
        notes = (checkout / "notes.txt").read_text().splitlines()
        assert notes == ["first-1", "second-1"] and (checkout / "seen.txt").read_text() == (
            "first-1\n"
        )
    items = {r["id"]: r for r in (await client.get("/api/v1/runs")).json()["items"]}
    assert items[child["id"]]["parent"] == lineage and items[parent["id"]]["parent"] is None


async def test_fork_overrides(client: httpx.AsyncClient, git_repo: Path) -> None:
    parent = await _run(client, git_repo, check_command="false", budget_usd=1.0)
    res = await _fork(
        client,
        parent["id"],
        0,
        prompt="again",
        variations=[command_spec("echo x > x.txt")],
        check_command=None,
        budget_usd=2.5,
    )
    assert res.status_code == 202, res.text
    child = await wait_finished(client, res.json()["run_id"])
    assert child["check_command"] is None and child["budget_usd"] == 2.5
    assert [v["spec"]["command"] for v in child["variations"]] == [["sh", "-c", "echo x > x.txt"]]
    diff = await _diff(client, child["id"], 0)
    assert "+first-0" in diff and "+x" in diff
    # A fork of a fork: still against the original base, with all three changes.
    res = await _fork(client, child["id"], 0, prompt="third", variations=[_noting(9)])
    assert res.status_code == 202, res.text
    grandchild = await wait_finished(client, res.json()["run_id"])
    assert grandchild["parent"]["run_id"] == child["id"]
    assert grandchild["base_sha"] == parent["base_sha"] and grandchild["budget_usd"] == 2.5
    diff = await _diff(client, grandchild["id"], 0)
    assert "+first-0" in diff and "+x" in diff and "+third-9" in diff, diff


async def test_fork_of_a_snapshotted_folder_keeps_the_parents_snapshot(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "a.txt").write_text("a\n")
    parent = await _run(client, folder)
    (folder / "a.txt").write_text("changed since\n")  # a new snapshot would differ
    res = await _fork(client, parent["id"], 0, prompt="second", variations=1)
    assert res.status_code == 202, res.text
    child = await wait_finished(client, res.json()["run_id"])
    assert child["status"] == "succeeded", child["error"]
    assert child["base_sha"] == parent["base_sha"]
    diff = await _diff(client, child["id"], 0)
    assert "+first-0" in diff and "+second-0" in diff and "changed since" not in diff


async def test_fork_refusals(client: httpx.AsyncClient, git_repo: Path) -> None:
    body = {
        "repo_url": str(git_repo),
        "prompt": "p",
        "variations": [command_spec("true"), command_spec("echo y > y.txt; sleep 30")],
    }
    res = await client.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    run_id = res.json()["run_id"]
    assert (await _fork(client, "no-such-run", 0, prompt="x")).status_code == 404
    assert (await _fork(client, run_id, 7, prompt="x")).status_code == 404
    for bad in ({"prompt": " "}, {}, {"prompt": "x", "variations": 0}, {"prompt": "x", "count": 1}):
        assert (await _fork(client, run_id, 0, **bad)).status_code == 422, bad
    running = await _fork(client, run_id, 1, prompt="x")
    assert running.status_code == 409
    assert "fork it once it has finished" in running.json()["error"]["message"]
    await wait_for_variation(client, run_id, 0)
    nothing = await _fork(client, run_id, 0, prompt="x")
    assert nothing.status_code == 409, nothing.text
    assert "changed nothing" in nothing.json()["error"]["message"]
    assert (await client.post(f"/api/v1/runs/{run_id}/cancel")).status_code == 202
    await wait_finished(client, run_id)


async def wait_for_variation(client: httpx.AsyncClient, run_id: str, n: int) -> None:
    """Poll until variation n has finished."""
    import asyncio

    for _ in range(400):
        run = (await client.get(f"/api/v1/runs/{run_id}")).json()
        if run["variations"][n]["status"] not in ("queued", "running"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"variation {n} still running")


async def test_fork_after_setup_keeps_setup_files_out_of_the_diff(
    client: httpx.AsyncClient, git_repo: Path
) -> None:
    parent = await _run(client, git_repo, setup_command="echo built > built.txt")
    res = await _fork(client, parent["id"], 0, prompt="second", variations=1)
    assert res.status_code == 202, res.text
    child = await wait_finished(client, res.json()["run_id"])
    assert child["status"] == "succeeded", child["error"]
    assert child["setup_command"] == "echo built > built.txt"  # inherited
    assert child["setup"]["status"] in ("done", "cached"), child["setup"]
    diff = await _diff(client, child["id"], 0)
    assert "+first-0" in diff and "+second-0" in diff and "built.txt" not in diff, diff


async def test_fork_follows_the_servers_repository_policy(
    client: httpx.AsyncClient, git_repo: Path, make_settings: Callable[..., Settings]
) -> None:
    from app.main import create_app

    parent = await _run(client, git_repo)
    strict = create_app(make_settings(allow_local_repos=False))  # the same database
    async with strict.router.lifespan_context(strict):
        transport = httpx.ASGITransport(app=strict)
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as other:
            res = await _fork(other, parent["id"], 0, prompt="second")
    assert res.status_code == 422, res.text
    assert res.json()["error"]["details"]["field"] == "repo_url"
