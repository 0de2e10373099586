"""The bare mirror of one repository: first clone, later fetches, resolving refs to shas."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import structlog

from app.errors import RepoError
from app.repos.directories import remove_tree
from app.repos.git_process import GitSettings, run_git, run_git_status
from app.repos.layout import PARTIAL_MARK
from app.repos.refs import REMOTE_HEAD_REF, is_full_sha, ref_candidates
from app.repos.url_policy import CheckedRepoUrl

log = structlog.get_logger()

# Branches and tags only: hosts' pull-request refs (refs/pull/*) can outnumber them 100:1.
REFSPECS = (f"+HEAD:{REMOTE_HEAD_REF}", "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
_FETCH = ("fetch", "--quiet", "--prune", "--no-write-fetch-head", "--no-recurse-submodules")


@dataclass(frozen=True)
class _Limits:
    settings: GitSettings
    seconds: float
    max_bytes: int


def pin_config(checked: CheckedRepoUrl) -> list[tuple[str, str]]:
    """Make curl connect to the addresses the policy checked (no second DNS answer)."""
    if not checked.addresses or checked.host is None:
        return []
    addresses = ",".join(f"[{a}]" if ":" in a else a for a in checked.addresses)
    return [("http.curloptResolve", f"{checked.host}:{checked.port}:{addresses}")]


def remove_leftovers(repo: Path) -> None:
    """Delete what a killed git leaves behind (temporary packs, lock files); blocking."""
    for folder, _dirs, files in os.walk(repo):
        for name in files:
            if name.endswith(".lock") or name.startswith(("tmp_", ".tmp-")):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))


async def _fetch(
    repo: Path,
    checked: CheckedRepoUrl,
    refspecs: tuple[str, ...],
    *,
    what: str,
    limits: _Limits,
) -> None:
    try:
        await run_git(
            ["-C", str(repo), *_FETCH, "--", checked.url, *refspecs],
            settings=limits.settings,
            what=what,
            limit_seconds=limits.seconds,
            extra_config=pin_config(checked),
            watch=repo,
            max_bytes=limits.max_bytes,
        )
    except RepoError as error:
        await asyncio.to_thread(remove_leftovers, repo)
        if "couldn't find remote ref HEAD" in error.message:
            raise RepoError(
                "the repository is empty or its HEAD names no branch",
                details={"field": "repo_url"},
            ) from None
        raise


async def sync_mirror(
    checked: CheckedRepoUrl,
    mirror: Path,
    *,
    settings: GitSettings,
    limit_seconds: float,
    max_bytes: int,
) -> str:
    """Clone the repository into its mirror the first time, fetch later; say which."""
    limits = _Limits(settings, limit_seconds, max_bytes)
    if await asyncio.to_thread(mirror.is_dir):
        await _fetch(mirror, checked, REFSPECS, what="fetch", limits=limits)
        return "fetch"
    # Clone into a side directory and rename, so a half-done clone never looks like a mirror.
    partial = mirror.with_name(f"{mirror.name}{PARTIAL_MARK}{secrets.token_hex(4)}")
    try:
        await run_git(
            ["init", "--bare", "--quiet", str(partial)],
            settings=settings,
            what="clone",
            limit_seconds=limit_seconds,
        )
        await _fetch(partial, checked, REFSPECS, what="clone", limits=limits)
        await asyncio.to_thread(os.rename, partial, mirror)
    except BaseException:
        await asyncio.to_thread(remove_tree, partial)
        raise
    return "clone"


async def _rev_parse(mirror: Path, revision: str, settings: GitSettings) -> str | None:
    code, out, _ = await run_git_status(
        [
            "-C",
            str(mirror),
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{revision}^{{commit}}",
        ],
        settings=settings,
        what="rev-parse",
        limit_seconds=60,
    )
    sha = out.strip()
    return sha if code == 0 and is_full_sha(sha) else None


async def resolve_ref(
    checked: CheckedRepoUrl,
    mirror: Path,
    ref: str | None,
    *,
    settings: GitSettings,
    limit_seconds: float,
    max_bytes: int,
) -> str:
    """The commit sha a ref names in the mirror (None: the remote's default branch)."""
    for candidate in ref_candidates(ref):
        sha = await _rev_parse(mirror, candidate, settings)
        if sha is not None:
            return sha
    if ref is not None and is_full_sha(ref):
        # A commit no branch or tag points at (a pull request head, say): ask for it by id.
        try:
            await _fetch(
                mirror,
                checked,
                (f"+{ref}:refs/aideator/commits/{ref}",),
                what="fetch of commit",
                limits=_Limits(settings, limit_seconds, max_bytes),
            )
        except RepoError as error:
            if "git_exit_code" not in (error.details or {}):
                raise  # a timeout or size stop, not an unknown commit
        sha = await _rev_parse(mirror, ref, settings)
        if sha is not None:
            return sha
    shown = "the default branch" if ref is None else f"'{ref}'"
    raise RepoError(
        f"unknown ref {shown}: no branch, tag or commit of that name in the repository",
        details={"field": "ref"},
    )
