"""Host-side git credentials: a credential-store file, GITHUB_TOKEN for github.com.

The secret reaches only the host's git, through a credential helper scoped to the exact
scheme, host and port it is stored for: never a URL, argv, a repository's config, a log line,
an event or a sandbox.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import structlog

from app.errors import RepoError

log = structlog.get_logger()

GITHUB_HOST = "github.com"
GITHUB_TOKEN_USER = "x-access-token"
USERNAME_VAR = "AIDEATOR_GIT_USERNAME"
PASSWORD_VAR = "AIDEATOR_GIT_PASSWORD"
# Answers git's `get` only (never `store`/`erase`, so git cannot rewrite anything), from
# the environment of that one git process.
HELPER = (
    f'!f() {{ test "$1" = get && printf "username=%s\\npassword=%s\\n" '
    f'"${USERNAME_VAR}" "${PASSWORD_VAR}"; }}; f'
)
_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class GitCredential:
    """One username and secret, for one scheme://host:port (and optional path prefix)."""

    scheme: str
    host: str
    port: int
    path: str = ""
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)

    @property
    def origin(self) -> str:
        """scheme://host:port, as git's URL-scoped config matches it."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{shown}:{self.port}"

    def config(self) -> list[tuple[str, str]]:
        """`-c` pairs: the helper, only for URLs on this credential's own origin.

        By origin, not path: git matches credential config without the path (unless
        credential.useHttpPath), and this git process talks to the one checked URL anyway.
        """
        return [(f"credential.{self.origin}.helper", HELPER)]

    def environment(self) -> dict[str, str]:
        """What the helper reads (the environment of the host's git process only)."""
        return {USERNAME_VAR: self.username, PASSWORD_VAR: self.password}

    def matches(self, scheme: str, host: str, port: int, path: str) -> bool:
        """Same scheme, host and port exactly, and under this credential's path if it has one."""
        if (scheme, host, port) != (self.scheme, self.host, self.port):
            return False
        return not self.path or path == self.path or path.startswith(self.path.rstrip("/") + "/")


def parse_line(line: str) -> GitCredential | None:
    """One credential-store line (`https://user:token@host[:port][/path]`), or None."""
    try:
        parts = urlsplit(line.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.password is None:
        return None
    return GitCredential(
        scheme=scheme,
        host=parts.hostname.lower(),
        port=port or _DEFAULT_PORTS[scheme],
        path=parts.path.rstrip("/"),
        username=unquote(parts.username or ""),
        password=unquote(parts.password),
    )


def _read_lines(path: Path) -> list[GitCredential]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RepoError(
            f"AIDEATOR_GIT_CREDENTIALS: cannot read the credentials file ({exc.strerror})",
            status_code=500,
            code="credentials_unreadable",
        ) from None
    found: list[GitCredential] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        credential = parse_line(line)
        if credential is None:
            # The line holds a secret: name its number, never its text.
            log.warning("git_credentials.bad_line", line_number=number)
            continue
        found.append(credential)
    return found


class GitCredentials:
    """Finds the credential for a repository URL; the file is read at each use."""

    def __init__(self, path: Path | None = None, github_token: str | None = None) -> None:
        self._path = path
        self._github_token = github_token or None

    @property
    def configured(self) -> bool:
        """Whether any source of credentials is set."""
        return self._path is not None or self._github_token is not None

    async def for_url(self, url: str) -> GitCredential | None:
        """The credential stored for this URL's scheme, host and port, or None."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return None
        host = parts.hostname.lower()
        port = parts.port or _DEFAULT_PORTS[scheme]
        path = parts.path
        if self._path is not None:
            for credential in await asyncio.to_thread(_read_lines, self._path):
                if credential.matches(scheme, host, port, path):
                    return credential
        if self._github_token and (scheme, host, port) == ("https", GITHUB_HOST, 443):
            return GitCredential(
                scheme="https",
                host=GITHUB_HOST,
                port=443,
                username=GITHUB_TOKEN_USER,
                password=self._github_token,
            )
        return None


def explain_auth_failure(error: RepoError, host: str | None, *, had_credential: bool) -> RepoError:
    """Turn git's authentication failures into one clear line; other errors pass through."""
    text = error.message
    auth = (
        "Authentication failed" in text
        or "could not read Username" in text
        or "could not read Password" in text
        or "returned error: 401" in text
        or "returned error: 403" in text
    )
    if not auth:
        return error
    where = host or "this host"
    if had_credential:
        message = f"the credentials stored for {where} were refused by the remote"
    else:
        message = (
            f"no credentials for {where}: the repository needs them (add a line for it to "
            "the AIDEATOR_GIT_CREDENTIALS file)"
        )
    return RepoError(message, details={"field": "repo_url"}, code="git_auth_failed")
