"""Claude Code's session between two `stream-agent` calls: exported by one, resumed by the next.

The agent program keeps Claude Code's files (`CLAUDE_CONFIG_DIR`) in the workspace's git
directory, `SESSION_DIR`. A call exports them as its `session` directory, with the id to
resume in the file `session-id`; a later call given `--session` puts them back in the same
place and resumes that id, and `--source` (the earlier call's `workspace`) gives it the
files as the first call left them. Both run in `/workspace`, so Claude Code finds its
session for the same project path.
"""

from __future__ import annotations

import re

import dagger

from .containers import WORKDIR

SESSION_DIR = f"{WORKDIR}/.git/aideator-claude"
SESSION_ID_FILE = "session-id"
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


def resulting_tree(ran: dagger.Container) -> dagger.Directory:
    """The workspace's files after the agent ran (no `.git`): a next call's `--source`."""
    return ran.directory(WORKDIR).without_directory(".git")


def exported_session(ran: dagger.Container, session_id: str) -> dagger.Directory:
    """The session files after the agent ran, with the id to resume: a next call's `--session`."""
    return (
        ran.with_exec(["mkdir", "-p", SESSION_DIR])
        .directory(SESSION_DIR)
        .with_new_file(SESSION_ID_FILE, session_id)
    )


async def session_id_of(session: dagger.Directory) -> str:
    """The session id a `--session` directory names (refused when it names none)."""
    text = (await session.file(SESSION_ID_FILE).contents()).strip()
    if not _SESSION_ID.match(text):
        raise ValueError(
            f"--session has no session id in its {SESSION_ID_FILE} file: pass the `session` "
            "directory of an earlier claude-code stream-agent call"
        )
    return text


def with_session(
    workspace: dagger.Container, session: dagger.Directory, owner: str
) -> dagger.Container:
    """The workspace with an earlier call's session files where the agent looks for them."""
    return workspace.with_directory(SESSION_DIR, session, owner=owner)
