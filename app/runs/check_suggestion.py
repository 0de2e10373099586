"""The check command a run without one is offered: its repository's obvious test command."""

from __future__ import annotations

import structlog

from app.repos.check_command import detect_from_texts, files_to_read
from app.runs.ports import Workspaces

log = structlog.get_logger(__name__)


async def suggest_check_command(
    workspaces: Workspaces, *, run_id: str, base_sha: str
) -> str | None:
    """Read the base tree's file listing and a few files from git objects; never run them."""
    try:
        names = await workspaces.list_files(run_id=run_id, base_sha=base_sha)
        texts: dict[str, str] = {}
        for name in files_to_read(names):
            text = await workspaces.read_file(run_id=run_id, base_sha=base_sha, path=name)
            texts[name] = text or ""
    except Exception as exc:  # a suggestion is a courtesy: never fail the run over it
        log.warning("check_suggestion_failed", run_id=run_id, error=str(exc))
        return None
    return detect_from_texts(names, texts)
