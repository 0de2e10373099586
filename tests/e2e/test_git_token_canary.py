"""A canary git token, end to end: the private server sees it; nothing a user or agent sees does."""

from __future__ import annotations

import base64
import secrets
import subprocess
from pathlib import Path

import httpx
import pytest

from app.reports.files import write_report
from app.schemas import RunRead
from tests.conftest import command_spec, make_git_repo
from tests.repos.git_http import GitHttpServer
from tests.server_process import ServerProcess
from tests.sse_client import collect

pytestmark = pytest.mark.e2e

# A hostile agent: it hunts for anything token-like in its environment, every process's
# environment and argv it can see, the workspace's git files and the usual places on disk,
# prints what it found, and commits it as a file (so the pushed branch carries it too).
HUNT = r"""
{
  env
  for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr '\0' '\n' < "$f"; echo; done
  cat .git/config .git/FETCH_HEAD .git/packed-refs 2>&1
  ls -la "$HOME" /tmp 2>&1
  grep -r -a -h -o 'canary-git-[0-9a-f]*' . "$HOME" /tmp /run /etc /var /proc/self 2>/dev/null
  git config --list --show-origin 2>&1
  git credential fill <<EOC 2>&1
protocol=http
host=127.0.0.1
EOC
} > hunt.txt 2>&1
cat hunt.txt
"""


async def test_git_token_stays_on_the_host(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    secret_dir = tmp_path_factory.mktemp("secret")  # outside what is scanned below
    bare = _private_repo(secret_dir)
    token = f"canary-git-{secrets.token_hex(12)}"
    with GitHttpServer(secret_dir / "srv", auth=("git", token)) as git:
        store = secret_dir / "git-credentials"
        store.write_text(f"http://git:{token}@127.0.0.1:{git.server_address[1]}\n")
        server = ServerProcess(tmp_path, backend="local", allow_unsandboxed="false",
                               git_credentials=str(store))  # fmt: skip
        server.start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
                body = {
                    "repo_url": f"{git.base_url}/team/app.git",
                    "prompt": "Hunt for secrets.",
                    "variations": [command_spec(HUNT)],
                }
                res = await client.post("/api/v1/runs", json=body)
                assert res.status_code == 202, res.text
                run_id = res.json()["run_id"]
                events = await collect(client, res.json()["stream_url"])
                push = await client.post(f"/api/v1/runs/{run_id}/variations/0/push", json={})
                assert push.status_code == 200, push.text
                run = (await client.get(f"/api/v1/runs/{run_id}")).json()
                diff = (await client.get(f"/api/v1/runs/{run_id}/variations/0/diff")).text
                events += await collect(client, f"/api/v1/runs/{run_id}/stream")
        finally:
            server.stop()
    basic = "Basic " + base64.b64encode(f"git:{token}".encode()).decode()
    assert basic in git.authorizations, "the host's git did authenticate with the token"
    assert run["status"] == "succeeded" and run["variations"][0]["status"] == "succeeded", run
    hunted = "\n".join(e.data for e in events if e.event == "agent_output")
    assert "PATH=" in hunted and "[core]" in hunted, "the hunt did run"
    pushed = _show(bare, f"{push.json()['branch']}:hunt.txt")
    assert "PATH=" in pushed
    report_dir = tmp_path / "report"
    write_report(report_dir, RunRead.model_validate(run), {0: diff})
    seen = [pushed, diff, str(run), "\n".join(e.data for e in events)]
    assert all(token not in text for text in seen), "not in SSE, the API, the diff or the branch"
    for path, data in _files(tmp_path):  # the database, its WAL, server logs, mirrors, report
        assert token.encode() not in data, f"found in {path.name}"


def _private_repo(root: Path) -> Path:
    work = make_git_repo(root / "work", {"calc.py": "def add(a, b):\n    return a - b\n"})
    bare = root / "srv" / "team" / "app.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return bare


def _show(bare: Path, what: str) -> str:
    return subprocess.run(
        ["git", "-C", str(bare), "show", what], capture_output=True, text=True, check=True
    ).stdout


def _files(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in root.rglob("*") if p.is_file()]
