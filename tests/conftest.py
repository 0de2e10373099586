"""Shared fixtures: real git repositories, settings on temp dirs, an in-process app client."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.postgres_server import PostgresServer, stop_on_sigterm, wait_ready

GIT_ID = ["-c", "user.email=test@example.invalid", "-c", "user.name=test"]


def inherited_signal_state() -> dict[str, str]:
    """What a child started now inherits across exec: the process's ignored signals and this
    thread's blocked ones (Python handlers are not inherited: exec resets them)."""
    try:
        status = Path("/proc/thread-self/status").read_text()
    except OSError:  # no procfs: nothing to compare
        return {}
    return {
        key: value.strip()
        for key, _, value in (line.partition(":") for line in status.splitlines())
        if key in ("SigIgn", "SigBlk")
    }


@pytest.fixture(autouse=True)
def _signals_left_as_found() -> Iterator[None]:
    """A test must not leave a signal ignored or blocked: every child started after it would
    inherit that (a CLI started with SIGINT ignored cannot be stopped with Ctrl-C)."""
    before = inherited_signal_state()
    yield
    after = inherited_signal_state()
    assert after == before, f"this test left the signal state changed: {before} -> {after}"


def make_git_repo(root: Path, files: dict[str, str]) -> Path:
    """A committed git repository with these files."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), *GIT_ID, "commit", "-qm", "init"], check=True)
    return root


@pytest.fixture(scope="session", autouse=True)
def _no_mount_outlives_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hygiene: overlay workspaces a test (or a server it started) left mounted are detached
    at the end, so the temp dirs can be deleted. The product's own cleanup is tested apart."""
    yield
    from app.repos.overlay import detach_under

    with contextlib.suppress(OSError):
        detach_under(tmp_path_factory.getbasetemp())


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A tiny committed repository."""
    return make_git_repo(tmp_path / "repo", {"README.md": "hello\n", "src/a.txt": "a\n"})


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session (started on first use); clusters
    left by killed sessions are removed first, and a SIGTERM still tears this one down."""
    stop_on_sigterm()
    server = PostgresServer().start()
    wait_ready(server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database at the head schema, on each store: SQLite and PostgreSQL."""
    if request.param == "sqlite":
        from app import schema
        from app.db import Database

        url = f"sqlite+aiosqlite:///{tmp_path / 'aideator.db'}"
        db = Database(url)
        try:
            await schema.upgrade(db)
        finally:
            await db.dispose()
        return url
    server: PostgresServer = request.getfixturevalue("postgres")
    return await server.new_database()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings on temp dirs with the unsandboxed backend and local repos allowed."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'aideator.db'}",
            "data_dir": tmp_path / "data",
            "backend": "process",
            "allow_unsandboxed": True,
            "allow_local_repos": True,
            "sse_ping_interval": 1.0,
            "log_json": True,
        }
        values.update(overrides)
        return Settings(_env_file=None, anthropic_api_key=None, **values)  # type: ignore[call-arg]

    return build


@pytest.fixture
async def client(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the app in-process, lifespan included."""
    from app.main import create_app

    app = create_app(make_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


@pytest.fixture
async def store_client(
    make_settings: Callable[..., Settings], database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """`client`, once on SQLite and once on PostgreSQL."""
    from app.main import create_app

    app = create_app(make_settings(database_url=database_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


def command_spec(script: str) -> dict[str, Any]:
    """A VariationSpec running a shell script as the agent."""
    return {"agent": "command", "command": ["sh", "-c", script]}


async def wait_finished(
    client: httpx.AsyncClient, run_id: str, timeout: float = 30.0
) -> dict[str, Any]:
    """Poll until the run is in a terminal status; return it."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body: dict[str, Any] = (await client.get(f"/api/v1/runs/{run_id}")).json()
        if body["status"] in ("succeeded", "failed", "cancelled", "interrupted"):
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"run still {body['status']} after {timeout} s")
        await asyncio.sleep(0.05)


SAMPLE_REPO = Path(__file__).resolve().parents[1] / "examples" / "sample-repo"


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    """A git copy of examples/sample-repo."""
    files = {
        str(p.relative_to(SAMPLE_REPO)): p.read_text()
        for p in SAMPLE_REPO.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    return make_git_repo(tmp_path / "sample-repo", files)


async def start_command_run(
    client: httpx.AsyncClient, repo: Path, *scripts: str, **extra: Any
) -> dict[str, Any]:
    """POST a run of `command` agents (one per script); the 202 body."""
    body = {
        "repo_url": str(repo),
        "prompt": "p",
        "variations": [command_spec(s) for s in scripts],
        **extra,
    }
    res = await client.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    accepted: dict[str, Any] = res.json()
    return accepted
