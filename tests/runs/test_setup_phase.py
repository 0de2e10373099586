"""The setup phase over the API: failures and timeouts end the run; devcontainer defaults."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.conftest import command_spec, make_git_repo, wait_finished
from tests.e2e.package_index import PackageIndex, build_wheel
from tests.runners.local.test_local_support import processes_with
from tests.sse_client import collect

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


@asynccontextmanager
async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def _finished(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    res = await client.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    run = await wait_finished(client, res.json()["run_id"], timeout=120)
    run["events"] = await collect(client, f"/api/v1/runs/{run['id']}/stream")
    return run


def _body(repo: Path, **extra: Any) -> dict[str, Any]:
    variations = [command_spec("echo agent-ran; echo x >> README.md")] * 2
    return {"repo_url": str(repo), "prompt": "p", "variations": variations, **extra}


@needs_bwrap
class TestSetupInTheSandbox:
    async def test_failure_ends_the_run_with_reason_and_last_lines(
        self, make_settings: Callable[..., Settings], git_repo: Path
    ) -> None:
        settings = make_settings(backend="local", allow_unsandboxed=False)
        async with _client(settings) as client:
            body = _body(git_repo, setup_command="echo preparing; echo broken-dep >&2; exit 3")
            run = await _finished(client, body)
        assert run["status"] == "failed"
        assert run["error"].startswith("setup command exited 3; last lines:")
        assert "broken-dep" in run["error"] and "preparing" in run["error"]
        assert [v["status"] for v in run["variations"]] == ["failed", "failed"]
        assert all("setup command exited 3" in v["error"] for v in run["variations"])
        kinds = [e.event for e in run["events"]]
        assert "agent_output" not in kinds  # no agent started
        texts = [e.json["text"] for e in run["events"] if e.event == "setup_output"]
        assert texts[0].startswith("setup: echo preparing") and "broken-dep" in texts
        assert texts[-1] == "setup: failed (exited 3)"
        assert run["setup"]["status"] == "failed"

    async def test_timeout_stops_setup_and_leaves_nothing_running(
        self, make_settings: Callable[..., Settings], git_repo: Path
    ) -> None:
        marker = f"setup-{uuid.uuid4().hex}"
        settings = make_settings(backend="local", allow_unsandboxed=False)
        async with _client(settings) as client:
            command = f"echo started; sleep 60 # {marker}"
            run = await _finished(
                client, _body(git_repo, setup_command=command, setup_timeout_seconds=1.5)
            )
        assert run["status"] == "failed"
        assert run["error"].startswith("setup command timed out after 1.5 s")
        assert "started" in run["error"]
        assert processes_with(marker) == []
        assert [v["status"] for v in run["variations"]] == ["failed", "failed"]

    async def test_network_egress_gives_agents_the_proxy(
        self, make_settings: Callable[..., Settings], git_repo: Path, tmp_path: Path
    ) -> None:
        wheel = build_wheel(tmp_path, "probe", "1.0", "")
        fetch = (
            'python3 -c "import urllib.request as u, sys; '
            'print(u.urlopen(sys.argv[1], timeout=10).status)" {url}'
        )
        with PackageIndex(wheel, "probe") as index:
            settings = make_settings(
                backend="local", allow_unsandboxed=False, egress_allow=f"127.0.0.1:{index.port}"
            )
            async with _client(settings) as client:
                url = f"{index.url}/probe/"
                body = _body(git_repo, network="egress")
                body["variations"] = [command_spec(fetch.format(url=url))]
                run = await _finished(client, body)
        assert run["status"] == "succeeded", run
        outputs = [e.json.get("text") for e in run["events"] if e.event == "agent_output"]
        assert "200" in outputs, outputs
        egress = [e.json for e in run["events"] if e.event == "egress"]
        assert [(e["variation_id"], e["allowed"], e["port"]) for e in egress] == [
            (0, True, index.port)
        ]
        assert index.requests == ["/simple/probe/"]


class TestDevcontainerDefaults:
    async def test_post_create_command_is_the_setup(
        self, make_settings: Callable[..., Settings], tmp_path: Path
    ) -> None:
        devcontainer = (
            "{\n  // the project's dev container\n"
            '  "image": "example/dev:1",\n'
            '  "postCreateCommand": "echo made-by-setup > generated.txt",\n}\n'
        )
        repo = make_git_repo(
            tmp_path / "repo",
            {"README.md": "hi\n", ".devcontainer/devcontainer.json": devcontainer},
        )
        async with _client(make_settings()) as client:
            body = _body(repo, variations=[command_spec("cat generated.txt; echo y > a.txt")])
            run = await _finished(client, body)
            diff = (await client.get(f"/api/v1/runs/{run['id']}/variations/0/diff")).text
        assert run["status"] == "succeeded", run
        assert run["setup"]["source"] == "devcontainer"
        assert run["setup_command"] == "echo made-by-setup > generated.txt"
        assert run["variations"][0]["manifest"]["setup"]["source"] == "devcontainer"
        outputs = [e.json.get("text") for e in run["events"] if e.event == "agent_output"]
        assert "made-by-setup" in outputs  # the agent started from the set-up tree
        assert "a.txt" in diff and "generated.txt" not in diff

    async def test_spec_command_wins_and_no_devcontainer_means_no_setup(
        self, make_settings: Callable[..., Settings], git_repo: Path
    ) -> None:
        async with _client(make_settings()) as client:
            run = await _finished(client, _body(git_repo))
        assert run["setup"]["source"] is None and run["setup_command"] is None
        assert not [e for e in run["events"] if e.event == "setup_output"]
        assert run["variations"][0]["manifest"]["setup"]["source"] is None


class TestRunSpecFields:
    async def test_image_is_refused_by_backends_without_images(
        self, make_settings: Callable[..., Settings], git_repo: Path
    ) -> None:
        async with _client(make_settings()) as client:
            res = await client.post("/api/v1/runs", json=_body(git_repo, image="python:3.12"))
        assert res.status_code == 422
        error = res.json()["error"]
        assert error["details"]["field"] == "image" and "process" in error["message"]

    @pytest.mark.parametrize(
        ("field", "value"),
        [("network", "internet"), ("setup_command", "   "), ("setup_timeout_seconds", 0)],
    )
    async def test_bad_values_are_422(
        self, make_settings: Callable[..., Settings], git_repo: Path, field: str, value: object
    ) -> None:
        async with _client(make_settings()) as client:
            res = await client.post("/api/v1/runs", json=_body(git_repo, **{field: value}))
        assert res.status_code == 422, res.text
        assert field in res.text
