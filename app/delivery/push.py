"""Create a new branch on the repository's remote: never a force-push, never an existing branch."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.errors import AppError, Conflict, RepoError
from app.repos.cache import RemoteAccess
from app.repos.credentials import explain_auth_failure
from app.repos.git_process import describe_failure, run_git_status
from app.repos.mirror import pin_config
from app.repos.refs import check_ref_syntax

MAX_BRANCH_CHARS = 200
_BRANCH = re.compile(r"[A-Za-z0-9._/-]+\Z")


class PushRefused(AppError):
    """The remote refused the push (permissions, protected names, hooks)."""

    status_code = 502
    code = "push_refused"


class BranchExists(Conflict):
    """The branch already exists on the remote; it is never touched."""

    code = "branch_exists"


@dataclass(frozen=True)
class RemoteBranches:
    """What the remote said about the branch, the run's ref and its default branch."""

    exists: bool
    default_branch: str | None
    ref_is_branch: bool


def check_branch_name(branch: str) -> str:
    """A branch name git accepts, without options or revision syntax; raise 422 if not."""
    if len(branch) > MAX_BRANCH_CHARS or not _BRANCH.match(branch):
        raise RepoError(
            "branch may use letters, digits, '.', '_', '-' and '/' only "
            f"(up to {MAX_BRANCH_CHARS} characters)",
            details={"field": "branch"},
        )
    try:
        return check_ref_syntax(branch)
    except RepoError as error:
        message = error.message.replace("ref", "branch", 1)
        raise RepoError(message, details={"field": "branch"}) from None


def _described(stderr: bytes, access: RemoteAccess) -> str:
    text = describe_failure(stderr)
    credential = access.settings.credential
    return text.replace(credential.password, "***") if credential and credential.password else text


def _auth_checked(error: RepoError, access: RemoteAccess) -> RepoError:
    return explain_auth_failure(
        error, access.checked.host, had_credential=access.settings.credential is not None
    )


async def inspect_remote(access: RemoteAccess, *, branch: str, ref: str | None) -> RemoteBranches:
    """One `git ls-remote --symref`: does the branch exist, which is the default branch."""
    wanted = ["HEAD", f"refs/heads/{branch}"] + ([f"refs/heads/{ref}"] if ref else [])
    code, out, stderr = await run_git_status(
        ["ls-remote", "--symref", "--", access.checked.url, *wanted],
        settings=access.settings,
        what="listing the remote's branches",
        limit_seconds=access.limit_seconds,
        extra_config=pin_config(access.checked),
    )
    if code != 0:
        raise _auth_checked(
            RepoError(
                f"listing the remote's branches failed: {_described(stderr, access)}",
                details={"field": "repo_url"},
            ),
            access,
        )
    names: set[str] = set()
    default = None
    for line in out.splitlines():
        value, _, name = line.partition("\t")
        if value.startswith("ref: ") and name == "HEAD":
            default = value.removeprefix("ref: ").removeprefix("refs/heads/")
        else:
            names.add(name)
    return RemoteBranches(
        exists=f"refs/heads/{branch}" in names,
        default_branch=default,
        ref_is_branch=bool(ref) and f"refs/heads/{ref}" in names,
    )


async def push_new_branch(access: RemoteAccess, *, commit: str, branch: str) -> None:
    """Push `commit` as refs/heads/<branch>, only if that branch does not exist.

    `--force-with-lease=<ref>:` with an empty expectation makes the remote's update a
    compare-and-swap against "absent": it creates the branch or does nothing.
    """
    target = f"refs/heads/{branch}"
    code, out, stderr = await run_git_status(
        ["-C", str(access.mirror), "push", "--porcelain", "--no-verify",
         f"--force-with-lease={target}:", "--", access.checked.url, f"{commit}:{target}"],
        settings=access.settings,
        what="push",
        limit_seconds=access.limit_seconds,
        extra_config=pin_config(access.checked),
    )  # fmt: skip
    if code == 0:
        return
    text = out + "\n" + stderr.decode("utf-8", "replace")
    if "stale info" in text or "already exists" in text or "fetch first" in text:
        raise BranchExists(
            f"branch '{branch}' already exists on the remote; it was left untouched",
            details={"field": "branch", "branch": branch},
        )
    failure = _described(stderr, access)
    error = _auth_checked(
        RepoError(f"push failed: {failure}", details={"field": "repo_url"}), access
    )
    if error.code == "git_auth_failed":
        raise error
    reason = next(
        (line.split("\t")[-1] for line in out.splitlines() if line.startswith("!")), failure
    )
    raise PushRefused(f"the remote refused the push: {reason}", details={"branch": branch})
