"""Open a pull request through the GitHub REST API (github.com, GitHub Enterprise, tests)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import structlog

from app.errors import AppError

log = structlog.get_logger()

API_VERSION = "2022-11-28"
TIMEOUT_SECONDS = 30.0


class PullRequestFailed(AppError):
    """The branch was pushed but the pull request could not be opened."""

    status_code = 502
    code = "pull_request_failed"


def repository_slug(repo_url: str) -> str:
    """`owner/name` from a repository URL's path (`.git` dropped)."""
    path = urlsplit(repo_url).path.strip("/").removesuffix(".git")
    parts = path.split("/")
    if len(parts) != 2 or not all(parts):
        raise PullRequestFailed(
            f"cannot tell the GitHub owner and repository from '{repo_url}'",
            status_code=422,
            details={"field": "repo_url"},
        )
    return path


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list):
        extra = [str(e.get("message", "")) for e in errors if isinstance(e, dict)]
        message = "; ".join(m for m in [message, *extra] if m)
    status = f"HTTP {response.status_code}"
    return f"{status}: {message[:300]}" if message else status


async def open_pull_request(
    *,
    api_url: str,
    token: str,
    slug: str,
    head: str,
    base: str,
    title: str,
    body: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """POST /repos/{slug}/pulls; return the pull request's html_url. Never follows redirects."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "aideator",
    }
    payload = {"title": title, "head": head, "base": base, "body": body}
    url = f"{api_url.rstrip('/')}/repos/{slug}/pulls"
    try:
        async with httpx.AsyncClient(
            timeout=TIMEOUT_SECONDS, follow_redirects=False, transport=transport, trust_env=False
        ) as client:
            response = await client.post(url, json=payload, headers=headers)
    except httpx.HTTPError as exc:
        raise PullRequestFailed(
            f"branch '{head}' was pushed, but the GitHub API could not be reached "
            f"({type(exc).__name__})",
            details={"branch": head},
        ) from None
    if response.status_code != 201:
        raise PullRequestFailed(
            f"branch '{head}' was pushed, but GitHub refused the pull request: {_reason(response)}",
            details={"branch": head},
        )
    html_url = response.json().get("html_url")
    if not isinstance(html_url, str):
        raise PullRequestFailed(
            "GitHub's answer names no pull request URL", details={"branch": head}
        )
    log.info("pull_request_opened", slug=slug, head=head, base=base)
    return html_url
