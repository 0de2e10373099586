"""Runs API: every status code, with the database checked after each write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from app.runs import repository as repo
from tests.conftest import command_spec, wait_finished

RUNS = "/api/v1/runs"


def _db(client: httpx.AsyncClient) -> Any:
    return client.app.state.services.db  # type: ignore[attr-defined]


def _body(git_repo: Path, **extra: Any) -> dict[str, Any]:
    return {
        "repo_url": str(git_repo),
        "prompt": "add a file",
        "variations": [command_spec("echo one; echo x > new.txt"), command_spec("echo two")],
        **extra,
    }


class TestCreate:
    async def test_accepted_and_stored(self, client: httpx.AsyncClient, git_repo: Path) -> None:
        res = await client.post(RUNS, json=_body(git_repo))
        assert res.status_code == 202, res.text
        body = res.json()
        assert body["status"] == "accepted"
        assert body["stream_url"] == f"{RUNS}/{body['run_id']}/stream"
        assert [v["variation_id"] for v in body["variations"]] == [0, 1]
        run = await repo.get_run(_db(client), body["run_id"])
        assert run is not None and run.prompt == "add a file" and run.backend == "process"
        assert len(await repo.get_variations(_db(client), run.id)) == 2
        done = await wait_finished(client, body["run_id"])
        assert done["status"] == "succeeded"
        assert done["base_sha"] and len(done["base_sha"]) == 40
        assert [v["status"] for v in done["variations"]] == ["succeeded", "succeeded"]
        assert done["variations"][0]["diff_stats"] == {"files": 1, "insertions": 1, "deletions": 0}

    async def test_github_url_alias(self, client: httpx.AsyncClient, git_repo: Path) -> None:
        body = _body(git_repo)
        body["github_url"] = body.pop("repo_url")
        res = await client.post(RUNS, json=body)
        assert res.status_code == 202, res.text
        run = await repo.get_run(_db(client), res.json()["run_id"])
        assert run is not None and run.repo_url == str(git_repo)

    async def _rejected(
        self, client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> dict[str, Any]:
        before = len(await repo.list_runs(_db(client), status=None, limit=100, before=None))
        res = await client.post(RUNS, json=body)
        assert res.status_code == 422, res.text
        error = res.json()["error"]
        assert error["code"] == "validation_error" or error["code"] == "repo_error"
        assert field in error["message"] or field in str(error["details"]), error
        after = len(await repo.list_runs(_db(client), status=None, limit=100, before=None))
        assert after == before, "a rejected run must not be stored"
        return error

    async def test_empty_prompt(self, client: httpx.AsyncClient, git_repo: Path) -> None:
        await self._rejected(client, _body(git_repo, prompt=""), "prompt")
        await self._rejected(client, _body(git_repo, prompt="   "), "prompt")

    async def test_oversized_prompt(self, client: httpx.AsyncClient, git_repo: Path) -> None:
        await self._rejected(client, _body(git_repo, prompt="x" * 32_001), "prompt")

    async def test_variations_out_of_range(self, client: httpx.AsyncClient, git_repo: Path) -> None:
        await self._rejected(client, _body(git_repo, variations=0), "variations")
        await self._rejected(client, _body(git_repo, variations=6), "variations")

    async def test_unknown_spec_field(self, client: httpx.AsyncClient, git_repo: Path) -> None:
        spec = command_spec("true") | {"temperature": 2}
        error = await self._rejected(client, _body(git_repo, variations=[spec]), "temperature")
        assert "variations" in str(error["details"])

    async def test_unknown_scenario(self, client: httpx.AsyncClient, git_repo: Path) -> None:
        spec = {"agent": "claude-code", "model": "scripted/no-such-scenario"}
        await self._rejected(client, _body(git_repo, variations=[spec]), "model")

    async def test_repo_url_not_https(
        self, client: httpx.AsyncClient, make_settings: Any, git_repo: Path
    ) -> None:
        from app.main import create_app

        app = create_app(make_settings(allow_local_repos=False))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as strict:
                for url in (str(git_repo), "http://example.com/r.git", "ssh://git@h/r"):
                    res = await strict.post(RUNS, json=_body(git_repo, repo_url=url))
                    assert res.status_code == 422, (url, res.text)
                    assert "repo_url" in str(res.json()["error"]["details"])


class TestRead:
    async def test_unknown_run_404(self, client: httpx.AsyncClient) -> None:
        for path in ("", "/stream", "/variations/0/diff"):
            res = await client.get(f"{RUNS}/nope{path}")
            assert res.status_code == 404, path
            assert res.json()["error"]["code"] == "not_found"
        res = await client.post(f"{RUNS}/nope/select", json={"winning_variation_id": 0})
        assert res.status_code == 404
        assert (await client.post(f"{RUNS}/nope/cancel")).status_code == 404

    async def test_diff_and_list(self, client: httpx.AsyncClient, git_repo: Path) -> None:
        ids = []
        for _ in range(3):
            ids.append((await client.post(RUNS, json=_body(git_repo))).json()["run_id"])
        for run_id in ids:
            await wait_finished(client, run_id)
        diff = await client.get(f"{RUNS}/{ids[0]}/variations/0/diff")
        assert diff.status_code == 200
        assert diff.headers["content-type"].startswith("text/x-diff")
        assert "+++ b/new.txt" in diff.text and "+x" in diff.text
        assert (await client.get(f"{RUNS}/{ids[0]}/variations/1/diff")).text == ""
        assert (await client.get(f"{RUNS}/{ids[0]}/variations/7/diff")).status_code == 404
        page1 = (await client.get(RUNS, params={"limit": 2})).json()
        assert [r["id"] for r in page1["items"]] == ids[::-1][:2]
        page2 = (await client.get(RUNS, params={"limit": 2, "cursor": page1["next_cursor"]})).json()
        assert [r["id"] for r in page2["items"]] == [ids[0]] and page2["next_cursor"] is None
        filtered = (await client.get(RUNS, params={"status": "running"})).json()
        assert filtered["items"] == []
        bad = await client.get(RUNS, params={"cursor": "!!"})
        assert bad.status_code == 422


class TestSelectAndCancel:
    async def test_a_run_that_finishes_while_being_cancelled_is_a_409(
        self, client: httpx.AsyncClient, git_repo: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        body = _body(git_repo, variations=[command_spec("sleep 0.5; echo done")])
        run_id = (await client.post(RUNS, json=body)).json()["run_id"]

        async def too_late(_run_id: str) -> bool:
            await wait_finished(client, run_id)  # the run ends on its own meanwhile
            return True

        supervisor = client.app.state.services.supervisor  # type: ignore[attr-defined]
        monkeypatch.setattr(supervisor, "cancel", too_late)
        res = await client.post(f"{RUNS}/{run_id}/cancel")
        assert res.status_code == 409, res.text
        assert res.json()["error"]["details"] == {"status": "succeeded"}
        run = await repo.get_run(_db(client), run_id)
        assert run is not None and run.status == "succeeded"

    async def test_select_before_finish_409_then_ok(
        self, client: httpx.AsyncClient, git_repo: Path
    ) -> None:
        body = _body(git_repo, variations=[command_spec("sleep 30")])
        run_id = (await client.post(RUNS, json=body)).json()["run_id"]
        res = await client.post(f"{RUNS}/{run_id}/select", json={"winning_variation_id": 0})
        assert res.status_code == 409
        run = await repo.get_run(_db(client), run_id)
        assert run is not None and run.winning_variation_id is None
        res = await client.post(f"{RUNS}/{run_id}/cancel")
        assert res.status_code == 202
        assert res.json()["status"] == "cancelled"
        run = await repo.get_run(_db(client), run_id)
        assert run is not None and run.status == "cancelled"
        variations = await repo.get_variations(_db(client), run_id)
        assert [v.status for v in variations] == ["cancelled"]
        assert (await client.post(f"{RUNS}/{run_id}/cancel")).status_code == 409
        bad = await client.post(f"{RUNS}/{run_id}/select", json={"winning_variation_id": 3})
        assert bad.status_code == 422
        assert "winning_variation_id" in str(bad.json()["error"]["details"])
        ok = await client.post(
            f"{RUNS}/{run_id}/select", json={"winning_variation_id": 0, "reason": "only one"}
        )
        assert ok.status_code == 200
        run = await repo.get_run(_db(client), run_id)
        assert run is not None
        assert (run.winning_variation_id, run.winner_selected_by, run.winner_reason) == (
            0,
            "user",
            "only one",
        )

    async def test_health_and_ready(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/api/v1/health")).json() == {"status": "ok"}
        ready = await client.get("/api/v1/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"]["database"]["ok"] is True
        assert ready.json()["checks"]["model"] == "scripted model, not Claude"
        assert (await client.get("/api/v1/openapi.json")).status_code == 200
