"""Push a variation as one commit on a new branch, maybe open a pull request, record it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import structlog

from app.config import Settings
from app.db import Database
from app.delivery import repository as deliveries
from app.delivery.commit import build_commit, ensure_base
from app.delivery.github import PullRequestFailed, open_pull_request, repository_slug
from app.delivery.messages import commit_message, default_title, pull_request_body
from app.delivery.push import BranchExists, check_branch_name, inspect_remote, push_new_branch
from app.delivery.schemas import PushRequest, PushResult
from app.errors import Conflict, InvalidInput, NotFound, RepoError
from app.events import payloads as events_out
from app.events.log import EventLog
from app.models import Run
from app.reports.build import build_report
from app.repos.cache import RemoteAccess, RepoCache
from app.repos.credentials import GitCredentials
from app.runs import repository as runs_repo
from app.runs.states import RUN_TERMINAL
from app.runs.views import run_read

log = structlog.get_logger()


@dataclass(frozen=True)
class DeliveryPorts:
    """What delivery needs beyond the database and the event log."""

    settings: Settings
    repos: RepoCache
    credentials: GitCredentials


def default_branch_name(run_id: str, variation_id: int) -> str:
    """`aideator/<first 8 of the run id>-v<n>`."""
    return f"aideator/{run_id[:8]}-v{variation_id}"


async def _variation_report(db: Database, run: Run, variation_id: int) -> tuple[Any, str]:
    """(the variation's report entry, its diff); refuses what cannot be pushed."""
    if run.status not in RUN_TERMINAL:
        raise Conflict(f"run is {run.status}; push a variation once the run has finished")
    if run.base_sha is None:
        raise Conflict("the run has no base commit (its repository was never prepared)")
    variations = await runs_repo.get_variations(db, run.id)
    chosen = next((v for v in variations if v.variation_id == variation_id), None)
    if chosen is None:
        raise NotFound(f"run has no variation {variation_id}")
    if not chosen.diff:
        raise InvalidInput(
            f"variation {variation_id} changed nothing; there is nothing to push",
            details={"field": "variation_id"},
        )
    report = build_report(run_read(run, variations))
    entry = next(v for v in report["variations"] if v["variation_id"] == variation_id)
    return (report, entry), chosen.diff


async def _api_token(ports: DeliveryPorts, access: RemoteAccess) -> str:
    """The API's own credential; for api.github.com, also the github.com repository's."""
    api_url = ports.settings.github_api_url
    credential = await ports.credentials.for_url(api_url)
    on_github = urlsplit(api_url).hostname == "api.github.com"
    if credential is None and on_github and access.checked.host == "github.com":
        credential = access.settings.credential
    if credential is None:
        host = urlsplit(api_url).hostname
        raise PullRequestFailed(
            f"no credentials for the GitHub API at {host}: add a line for it to "
            "AIDEATOR_GIT_CREDENTIALS (or set GITHUB_TOKEN for github.com)",
            status_code=422,
            code="git_auth_failed",
        )
    return credential.password


async def push_variation(
    *,
    db: Database,
    events: EventLog,
    ports: DeliveryPorts,
    run: Run,
    variation_id: int,
    body: PushRequest,
) -> PushResult:
    """One commit with exactly the variation's diff on base_sha, pushed to a new branch."""
    (report, entry), diff = await _variation_report(db, run, variation_id)
    branch = check_branch_name(body.branch or default_branch_name(run.id, variation_id))
    access = await ports.repos.remote(run.repo_url)
    if access.checked.kind in ("https", "http") and access.settings.credential is None:
        raise RepoError(
            f"no credentials for {access.checked.host}: pushing needs them (add a line for "
            "it to the AIDEATOR_GIT_CREDENTIALS file)",
            details={"field": "repo_url"},
            code="git_auth_failed",
        )
    if body.pull_request:
        slug = repository_slug(access.checked.url)
        token = await _api_token(ports, access)
    remote = await inspect_remote(access, branch=branch, ref=run.ref)
    if remote.exists:
        raise BranchExists(
            f"branch '{branch}' already exists on the remote; it was left untouched",
            details={"field": "branch", "branch": branch},
        )
    title = body.title or default_title(run.prompt)
    async with access.lock:
        await ensure_base(access, run.base_sha or "")
        commit = await build_commit(
            access,
            base_sha=run.base_sha or "",
            patch=diff,
            message=commit_message(report, entry, title),
        )
        await push_new_branch(access, commit=commit, branch=branch)
    log.info("variation_pushed", run_id=run.id, variation_id=variation_id, branch=branch,
             commit=commit)  # fmt: skip
    pr_url = None
    if body.pull_request:
        base = run.ref if remote.ref_is_branch and run.ref else remote.default_branch
        if base is None:
            raise PullRequestFailed(
                f"branch '{branch}' was pushed, but the remote names no default branch to "
                "open a pull request against",
                details={"branch": branch},
            )
        pr_url = await open_pull_request(
            api_url=ports.settings.github_api_url,
            token=token,
            slug=slug,
            head=branch,
            base=base,
            title=title,
            body=pull_request_body(report, entry),
        )
    result = PushResult(branch=branch, commit=commit, pull_request_url=pr_url)
    # A fresh `complete` after it lets streams that resume past the old one end (as `winner`).
    await events.write(
        [
            events_out.delivered(run.id, variation_id, result.model_dump()),
            events_out.complete(run.id, run.status),
        ],
        [deliveries.add_delivery(run_id=run.id, variation_id=variation_id, **result.model_dump())],
    )
    return result
