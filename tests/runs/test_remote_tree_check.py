"""A remote tree (dagger backend): the host applies the variation's diff, then checks it."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx

from app.config import Settings
from app.runners.base import (
    AgentExit,
    Availability,
    Capabilities,
    Checker,
    CheckOutcome,
    GatewayRoute,
    LineDelivery,
    SetupLocation,
    TreeLocation,
    VariationJob,
)
from tests.conftest import wait_finished

PATCH_CMD = "echo 'print(1)' > added.py && sed -i s/hello/patched/ README.md"


def _diff_of(repo: Path) -> str:
    """A real diff: made in a scratch clone, never in the workspace under test."""
    scratch = repo.parent / "scratch"
    subprocess.run(["git", "clone", "-q", str(repo), str(scratch)], check=True)
    subprocess.run(["sh", "-c", PATCH_CMD], cwd=scratch, check=True)
    subprocess.run(["git", "-C", str(scratch), "add", "-A"], check=True)
    out = subprocess.run(
        ["git", "-C", str(scratch), "diff", "--cached", "--binary"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


class RemoteTreeStandIn:
    """Stands in for a backend whose agent works elsewhere and returns only its result."""

    name = "remote-stand-in"
    identity = "remote stand-in"
    capabilities = Capabilities(
        lines=LineDelivery.STDOUT,
        tree=TreeLocation.REMOTE,
        gateway=GatewayRoute.TCP,
        images=False,
        setup=SetupLocation.BACKEND,
    )

    def __init__(self, diff: str, checker: Checker) -> None:
        self.diff = diff
        self._checker = checker
        self.workspaces: list[Path] = []

    async def availability(self) -> Availability:
        return Availability(ok=True, detail="stand-in")

    async def run(self, job: VariationJob) -> AsyncIterator[str | AgentExit]:
        self.workspaces.append(job.workspace)
        yield '{"v":1,"seq":0,"type":"log","text":"working remotely"}'
        stats = {"files": 2, "insertions": 2, "deletions": 1}
        yield AgentExit(
            exit_code=0,
            final_result={"exit_code": 0, "diff": self.diff, "diff_stats": stats},
        )

    async def check(self, job: VariationJob, command: str, timeout: float) -> CheckOutcome:
        return await self._checker(job, command, timeout)


async def test_diff_applied_before_the_check(
    make_settings: Callable[..., Settings], git_repo: Path
) -> None:
    from app.main import create_app

    app = create_app(make_settings())
    async with app.router.lifespan_context(app):
        services = app.state.services
        # The configured (process) backend checks the host's copy of the tree.
        stand_in = RemoteTreeStandIn(_diff_of(git_repo), services.runner.check)
        services.supervisor._exec.runner = stand_in  # the backend under test
        services.runner = stand_in
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body: dict[str, Any] = {
                "repo_url": str(git_repo),
                "prompt": "p",
                "variations": [{"agent": "command", "command": ["true"]}],
                "check_command": "grep -q patched README.md && test -f added.py",
            }
            run_id = (await client.post("/api/v1/runs", json=body)).json()["run_id"]
            run = await wait_finished(client, run_id)
    check = run["variations"][0]["check"]
    assert check is not None and check["passed"] is True, check
    assert run["variations"][0]["diff_stats"]["files"] == 2
