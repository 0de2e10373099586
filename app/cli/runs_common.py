"""What `run`, `compare` and `demo` share: starting a run, announcing it, linking to it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.text import Text

from app.cli.console import notice, out, warn
from app.cli.session import Connection
from app.cli.spec_file import is_local_repo
from app.config import Settings
from app.repos.check_command import detect_check_command
from app.repos.snapshot import is_repository_root
from app.schemas import RunAccepted, RunCreate

SCRIPTED_WARNING = (
    "scripted model, not Claude: the server has no ANTHROPIC_API_KEY, so agents talk to "
    "AIdeator's scripted test model"
)


def pin_local_head(body: RunCreate) -> RunCreate:
    """For a local repository without `ref`: its current commit, as checked out here.

    A detached checkout (as CI makes) has no branch the server could resolve; a commit id
    always works. Uncommitted changes are not part of a run, so say so.
    """
    if body.ref is not None or not is_local_repo(body.repo_url):
        return body
    path = body.repo_url.removeprefix("file://")
    if not is_repository_root(Path(path)):
        notice("not a git repository's root: the run starts from a snapshot of the folder's files")
        return body
    head = _git(path, "rev-parse", "--verify", "HEAD^{commit}")
    if head is None:
        return body  # not a git checkout: the server will say what is wrong
    if _git(path, "status", "--porcelain", "--untracked-files=no"):
        warn("the repository has uncommitted changes; runs start from its last commit")
    return body.model_copy(update={"ref": head})


def _git(path: str, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", path, *args], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def say_when_unchecked(body: RunCreate) -> None:
    """Without a check command, say what the ranking rests on, and offer the obvious check."""
    if body.check_command:
        return
    warn(
        "no check command: nothing will test the variations, so the ranking is by diff, "
        "cost and time only"
    )
    if is_local_repo(body.repo_url):
        found = detect_check_command(Path(body.repo_url.removeprefix("file://")))
        if found:
            notice(f"this repository looks tested by `{found}`: add --check '{found}' to use it")


def embedded_overrides(body: RunCreate) -> dict[str, Any]:
    """Settings for an embedded server: a local CLI may use local repositories."""
    return {"allow_local_repos": True} if is_local_repo(body.repo_url) else {}


def _serve_settings() -> Settings | None:
    try:
        return Settings()
    except ValidationError:
        return None


def serve_url() -> str:
    """Where `aideator serve` listens with the current settings."""
    settings = _serve_settings()
    return settings.server_url if settings else "http://127.0.0.1:8000"


def serve_port() -> int:
    """The port `aideator serve` uses with the current settings."""
    settings = _serve_settings()
    return settings.port if settings else 8000


def run_page(conn: Connection, run_id: str) -> str:
    """The web page of a run; for an embedded server, where `aideator serve` will show it."""
    base = serve_url() if conn.embedded is not None else conn.url
    return f"{base}/#/runs/{run_id}"


def start_run(conn: Connection, body: RunCreate, *, quiet: bool = False) -> RunAccepted:
    """Create the run and say what started."""
    accepted = conn.client.create_run(body)
    if accepted.scripted_model:
        warn(SCRIPTED_WARNING)
    if not quiet:
        notice(
            f"run {accepted.run_id}: {len(accepted.variations)} variation(s) on {body.repo_url}"
            f" via {conn.url}" + (" (embedded)" if conn.embedded is not None else "")
        )
    return accepted


def private_data_hint(conn: Connection) -> str | None:
    """How to see a run kept in an embedded server's private data directory, if it is one."""
    place = conn.private_data
    if place is None:
        return None
    return (
        f"this run is kept in {place}; to browse it: AIDEATOR_DATA_DIR={place} "
        f"AIDEATOR_DATABASE_URL=sqlite+aiosqlite:///{place / 'aideator.db'} aideator serve "
        "--port 8001"
    )


def print_links(conn: Connection, run_id: str) -> None:
    """How to look at the run afterwards."""
    hint = private_data_hint(conn)
    if hint is not None:
        out().print(Text(hint, style="dim"), soft_wrap=True)
    elif conn.embedded is not None:
        out().print(
            Text(
                f"open it in the browser: run `aideator serve`, then {run_page(conn, run_id)}",
                style="dim",
            ),
            soft_wrap=True,
        )
    else:
        out().print(Text(f"open it in the browser: {run_page(conn, run_id)}", style="dim"))
