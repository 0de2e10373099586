"""Which repository URLs may be cloned: the SSRF and option-injection policy."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Literal
from urllib.parse import urlsplit

from app.errors import RepoError
from app.repos.addresses import (
    IPAddress,
    blocked_reason,
    is_canonical_ipv4,
    looks_numeric,
    parse_loose_ipv4,
)

UrlKind = Literal["https", "http", "file", "path"]
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolves (host, port) to IP address strings; injectable so tests need no DNS."""

MAX_URL_CHARS = 2048
DEFAULT_RESOLVE_TIMEOUT = 10.0
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_TRANSPORT = re.compile(r"[A-Za-z0-9][A-Za-z0-9+.-]*::")
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\Z")
_SSH_SCHEMES = {"ssh", "git+ssh", "ssh+git"}
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


@dataclass(frozen=True)
class CheckedRepoUrl:
    """A repository URL that passed the policy, with the addresses its host resolved to."""

    url: str
    kind: UrlKind
    host: str | None = None
    port: int | None = None
    addresses: tuple[str, ...] = field(default=())


def _refuse(message: str) -> RepoError:
    return RepoError(message, details={"field": "repo_url"})


def _check_characters(url: str) -> None:
    if not url:
        raise _refuse("repo_url is empty")
    if len(url) > MAX_URL_CHARS:
        raise _refuse(f"repo_url is longer than {MAX_URL_CHARS} characters")
    if url.startswith("-"):
        raise _refuse("repo_url may not start with '-' (it would be read as a git option)")
    if _TRANSPORT.match(url):
        raise _refuse("git transport syntax '<transport>::<address>' (such as ext::) is refused")
    for ch in url:
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            raise _refuse("repo_url contains whitespace or control characters")
    if "\\" in url:
        raise _refuse("repo_url may not contain backslashes")


def _check_host(host: str, *, allow_local: bool) -> tuple[str, IPAddress | None]:
    """Normalize a host name and return it with its address when it is an IP literal."""
    if "%" in host:
        raise _refuse("percent signs and IPv6 zone ids are not accepted in the host")
    if ":" in host:
        try:
            ip = ip_address(host)
        except ValueError:
            raise _refuse(f"'{host}' is not a valid IPv6 address") from None
        return str(ip), ip
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _refuse("the host name is not a valid internationalized domain name") from None
    if looks_numeric(ascii_host):
        if not is_canonical_ipv4(ascii_host):
            decoded = parse_loose_ipv4(ascii_host)
            hint = f" (it means {decoded})" if decoded else ""
            raise _refuse(f"numeric host '{host}' is not in dotted-quad form{hint}")
        ip = ip_address(ascii_host)
        return str(ip), ip
    name = ascii_host.rstrip(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise _refuse(f"'{host}' is not a valid host name")
    if not allow_local:
        if name == "localhost" or name.endswith(_LOCAL_SUFFIXES):
            raise _refuse(f"host '{name}' is a local name")
        if "." not in name:
            raise _refuse(f"host '{name}' is not a fully qualified domain name")
    return name, None


def _network_url(url: str, scheme: str, *, allow_local: bool) -> CheckedRepoUrl:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _refuse("repo_url is not a valid URL") from None
    if "@" in parts.netloc:
        raise _refuse("credentials in repo_url are not accepted (use a public https URL)")
    if "?" in url or "#" in url:
        raise _refuse("query strings and fragments are not accepted in repo_url")
    if not parts.hostname:
        raise _refuse("repo_url has no host")
    try:
        port = parts.port
    except ValueError:
        raise _refuse("repo_url has an invalid port") from None
    if port == 0:
        raise _refuse("repo_url has an invalid port")
    host, ip = _check_host(parts.hostname, allow_local=allow_local)
    if ip is not None and not allow_local:
        reason = blocked_reason(ip)
        if reason is not None:
            raise _refuse(f"host {host} is {reason}")
    default_port = 443 if scheme == "https" else 80
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if port in (None, default_port) else f"{shown_host}:{port}"
    url = f"{scheme}://{netloc}{parts.path}"
    return CheckedRepoUrl(
        url=url, kind="https" if scheme == "https" else "http", host=host, port=port or default_port
    )


_LOCAL_HINT = "use an https:// URL, or start the server with AIDEATOR_ALLOW_LOCAL_REPOS=true"


def _local_path(url: str, *, allow_local: bool) -> CheckedRepoUrl:
    if not allow_local:
        raise _refuse(f"local paths are not accepted by this server ({_LOCAL_HINT})")
    return CheckedRepoUrl(url=os.path.abspath(url), kind="path")


def _file_url(url: str, *, allow_local: bool) -> CheckedRepoUrl:
    if not allow_local:
        raise _refuse(f"file:// URLs are not accepted by this server ({_LOCAL_HINT})")
    if "?" in url or "#" in url:
        raise _refuse("query strings and fragments are not accepted in repo_url")
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise _refuse("file:// URLs must name an absolute local path")
    return CheckedRepoUrl(url=f"file://{parts.path}", kind="file")


def parse_repo_url(url: str, *, allow_local: bool) -> CheckedRepoUrl:
    """Apply every check that needs no DNS; raise RepoError saying why a URL is refused."""
    _check_characters(url)
    match = _SCHEME.match(url)
    if match is None:
        head = url.split(":", 1)[0]
        if ":" in url and "/" not in head:
            raise _refuse("ssh addresses (user@host:path) are not accepted; use an https:// URL")
        return _local_path(url, allow_local=allow_local)
    scheme = match.group(1).lower()
    if scheme in _SSH_SCHEMES:
        raise _refuse("ssh:// URLs are not accepted; use an https:// URL")
    if scheme == "git":
        raise _refuse("git:// URLs are not accepted (unauthenticated); use an https:// URL")
    if scheme == "file":
        return _file_url(url, allow_local=allow_local)
    if scheme == "http" and not allow_local:
        raise _refuse("http:// URLs are not accepted; use an https:// URL")
    if scheme not in ("http", "https"):
        raise _refuse(f"URL scheme '{scheme}' is not accepted; use an https:// URL")
    return _network_url(url, scheme, allow_local=allow_local)


def check_repo_url_syntax(url: str, *, allow_local: bool) -> str:
    """Check a repo URL without DNS (for request validation); return it normalized."""
    return parse_repo_url(url, allow_local=allow_local).url


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve a host with the event loop's getaddrinfo (runs in the loop's executor)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


async def _resolve(checked: CheckedRepoUrl, resolver: Resolver, limit: float) -> list[str]:
    assert checked.host is not None and checked.port is not None
    try:
        async with asyncio.timeout(limit):
            found = await resolver(checked.host, checked.port)
    except TimeoutError:
        raise _refuse(f"resolving host '{checked.host}' timed out after {limit:g} s") from None
    except OSError:
        raise _refuse(f"host '{checked.host}' could not be resolved") from None
    addresses = sorted({a.split("%", 1)[0] for a in found})
    if not addresses:
        raise _refuse(f"host '{checked.host}' could not be resolved")
    return addresses


async def check_repo_url_details(
    url: str,
    *,
    allow_local: bool,
    resolver: Resolver | None = None,
    resolve_timeout: float = DEFAULT_RESOLVE_TIMEOUT,
) -> CheckedRepoUrl:
    """Full check, resolving the host; the result carries the addresses to pin git to."""
    checked = parse_repo_url(url, allow_local=allow_local)
    if checked.kind in ("path", "file"):
        path = checked.url.removeprefix("file://")
        if not await asyncio.to_thread(os.path.isdir, path):
            raise _refuse("repo_url names a local path that is not a directory")
        if await asyncio.to_thread(os.path.realpath, path) == "/":
            raise _refuse("repo_url names the filesystem root, not a repository or project folder")
        return checked
    assert checked.host is not None
    if ":" in checked.host or is_canonical_ipv4(checked.host):
        return checked  # an IP literal, already judged by parse_repo_url
    addresses = await _resolve(checked, resolver or system_resolver, resolve_timeout)
    if not allow_local:
        for address in addresses:
            try:
                reason = blocked_reason(ip_address(address))
            except ValueError:
                reason = "not an IP address"
            if reason is not None:
                raise _refuse(f"host '{checked.host}' resolves to {reason}")
    return CheckedRepoUrl(
        url=checked.url,
        kind=checked.kind,
        host=checked.host,
        port=checked.port,
        addresses=tuple(addresses),
    )


async def check_repo_url(
    url: str,
    *,
    allow_local: bool,
    resolver: Resolver | None = None,
    resolve_timeout: float = DEFAULT_RESOLVE_TIMEOUT,
) -> str:
    """Check a repo URL, resolving its host; return it normalized or raise RepoError."""
    checked = await check_repo_url_details(
        url, allow_local=allow_local, resolver=resolver, resolve_timeout=resolve_timeout
    )
    return checked.url
