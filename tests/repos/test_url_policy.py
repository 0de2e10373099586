"""The repo URL policy: every refused form, normalization, and DNS-based refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import RepoError
from app.repos.url_policy import (
    Resolver,
    check_repo_url,
    check_repo_url_details,
    check_repo_url_syntax,
    system_resolver,
)

# (url, words the refusal message must contain): refused whatever allow_local says.
REFUSED_ALWAYS = [
    ("ssh://git@github.com/owner/repo.git", "ssh"),
    ("git+ssh://github.com/owner/repo.git", "ssh"),
    ("git@github.com:owner/repo.git", "ssh"),
    ("github.com:owner/repo.git", "ssh"),
    ("git://github.com/owner/repo.git", "git://"),
    ("ext::sh -c touch% /tmp/pwned", "transport"),
    ("ext::ssh -o ProxyCommand=x host", "transport"),
    ("fd::17", "transport"),
    ("https::github.com/owner/repo", "transport"),
    ("--upload-pack=touch /tmp/pwned", "'-'"),
    ("-oProxyCommand=x", "'-'"),
    ("https://user:secret@github.com/owner/repo.git", "credentials"),
    ("https://token@github.com/owner/repo.git", "credentials"),
    ("https://github.com/owner/re po.git", "whitespace"),
    ("https://github.com/owner/repo.git\n", "whitespace"),
    ("https://github.com/owner/repo.git\t", "whitespace"),
    ("https://github.com/\x00owner/repo", "control"),
    ("https://git\u200bhub.com/owner/repo", "control"),
    ("https://github.com\\@evil.example/owner/repo", "backslash"),
    ("https://github.com/owner/repo?x=1", "query"),
    ("https://github.com/owner/repo#main", "fragment"),
    ("https://gith%75b.com/owner/repo", "percent"),
    ("https://[fe80::1%25eth0]/owner/repo", "zone"),
    ("gopher://github.com/owner/repo", "scheme"),
    ("https://github.com:0/owner/repo", "port"),
    ("https://github.com:99999/owner/repo", "port"),
    ("https:///owner/repo", "no host"),
    ("", "empty"),
    # Odd spellings of loopback: refused even where loopback itself is allowed.
    ("https://2130706433/owner/repo", "127.0.0.1"),
    ("https://0x7f.1/owner/repo", "127.0.0.1"),
    ("https://127.1/owner/repo", "127.0.0.1"),
    ("https://0177.0.0.1/owner/repo", "127.0.0.1"),
    ("https://0x7f000001/owner/repo", "127.0.0.1"),
    ("https://017700000001/owner/repo", "127.0.0.1"),
    ("https://127.0.0.1.1/owner/repo", "dotted-quad"),
]

# Refused by default, for these reasons; the local development mode allows them.
REFUSED_BY_DEFAULT = [
    ("http://github.com/owner/repo.git", "http://"),
    ("file:///srv/git/repo.git", "AIDEATOR_ALLOW_LOCAL_REPOS"),
    ("/srv/git/repo.git", "AIDEATOR_ALLOW_LOCAL_REPOS"),
    ("./repo", "local path"),
    ("repo", "local path"),
    ("https://127.0.0.1/owner/repo", "loopback"),
    ("https://[::1]/owner/repo", "loopback"),
    ("https://[::ffff:127.0.0.1]/owner/repo", "loopback"),
    ("https://[::ffff:7f00:1]/owner/repo", "loopback"),
    ("https://[64:ff9b::7f00:1]/owner/repo", "loopback"),
    ("https://[2002:7f00:1::]/owner/repo", "loopback"),
    ("https://10.0.0.8/owner/repo", "private"),
    ("https://172.16.3.4/owner/repo", "private"),
    ("https://192.168.1.1/owner/repo", "private"),
    ("https://[fd12:3456::1]/owner/repo", "private"),
    ("https://169.254.169.254/latest/meta-data", "metadata"),
    ("https://[fd00:ec2::254]/latest", "metadata"),
    ("https://100.100.100.200/latest", "metadata"),
    ("https://168.63.129.16/machine", "metadata"),
    ("https://169.254.10.10/owner/repo", "link-local"),
    ("https://[fe80::1]/owner/repo", "link-local"),
    ("https://224.0.0.1/owner/repo", "multicast"),
    ("https://[ff02::1]/owner/repo", "multicast"),
    ("https://0.0.0.0/owner/repo", "unspecified"),
    ("https://[::]/owner/repo", "unspecified"),
    ("https://240.0.0.1/owner/repo", "private"),  # reserved 240/4 counts as private in ipaddress
    ("https://100.64.0.1/owner/repo", "not publicly routable"),
    ("https://localhost/owner/repo", "local name"),
    ("https://git.localhost/owner/repo", "local name"),
    ("https://metadata.google.internal/computeMetadata", "local name"),
    ("https://printer.local/owner/repo", "local name"),
    ("https://intranet/owner/repo", "fully qualified"),
]


@pytest.mark.parametrize(("url", "words"), REFUSED_ALWAYS + REFUSED_BY_DEFAULT)
def test_refused_by_default(url: str, words: str) -> None:
    with pytest.raises(RepoError) as caught:
        check_repo_url_syntax(url, allow_local=False)
    assert words in caught.value.message
    assert caught.value.details == {"field": "repo_url"}
    assert caught.value.status_code == 422


@pytest.mark.parametrize(("url", "words"), REFUSED_ALWAYS)
def test_still_refused_when_local_allowed(url: str, words: str) -> None:
    with pytest.raises(RepoError) as caught:
        check_repo_url_syntax(url, allow_local=True)
    assert words in caught.value.message


@pytest.mark.parametrize(("url", "_words"), REFUSED_BY_DEFAULT)
def test_local_mode_allows_local_forms(url: str, _words: str) -> None:
    assert check_repo_url_syntax(url, allow_local=True)


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("https://github.com/owner/repo.git", "https://github.com/owner/repo.git"),
        ("HTTPS://GitHub.COM:443/owner/repo", "https://github.com/owner/repo"),
        ("https://git.example.com:8443/r.git", "https://git.example.com:8443/r.git"),
        ("https://bücher.example/r", "https://xn--bcher-kva.example/r"),
        ("https://140.82.112.3/owner/repo", "https://140.82.112.3/owner/repo"),
        ("https://[2606:4700::6810:84e5]/r", "https://[2606:4700::6810:84e5]/r"),
    ],
)
def test_accepted_urls_are_normalized(url: str, normalized: str) -> None:
    assert check_repo_url_syntax(url, allow_local=False) == normalized


def test_local_paths_become_absolute_and_file_urls_stay_file_urls() -> None:
    assert check_repo_url_syntax("/srv/git/../git/r", allow_local=True) == "/srv/git/r"
    assert check_repo_url_syntax("file:///srv/r.git", allow_local=True) == "file:///srv/r.git"
    with pytest.raises(RepoError, match="absolute"):
        check_repo_url_syntax("file://otherhost/srv/r.git", allow_local=True)


def _fixed(answer: Sequence[str]) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        return list(answer)

    return resolve


@pytest.mark.parametrize(
    ("addresses", "words"),
    [
        (["10.1.2.3"], "private"),
        (["127.0.0.1"], "loopback"),
        (["169.254.169.254"], "metadata"),
        (["::1"], "loopback"),
        (["::ffff:192.168.0.1"], "private"),
        (["fe80::1%eth0"], "link-local"),
        (["140.82.112.3", "10.0.0.1"], "private"),  # one bad answer is enough
    ],
)
async def test_host_resolving_to_a_blocked_address_is_refused(
    addresses: list[str], words: str
) -> None:
    with pytest.raises(RepoError) as caught:
        await check_repo_url(
            "https://git.example.com/owner/repo.git",
            allow_local=False,
            resolver=_fixed(addresses),
        )
    assert "resolves to" in caught.value.message and words in caught.value.message
    assert caught.value.details == {"field": "repo_url"}


async def test_public_host_passes_with_its_addresses_for_pinning() -> None:
    checked = await check_repo_url_details(
        "https://git.example.com/owner/repo.git",
        allow_local=False,
        resolver=_fixed(["140.82.112.4", "140.82.112.3", "140.82.112.3"]),
    )
    assert checked.url == "https://git.example.com/owner/repo.git"
    assert checked.addresses == ("140.82.112.3", "140.82.112.4")
    assert (checked.host, checked.port) == ("git.example.com", 443)


async def test_local_mode_allows_a_host_resolving_to_loopback() -> None:
    checked = await check_repo_url_details(
        "http://git.example.test:8080/r.git",
        allow_local=True,
        resolver=_fixed(["127.0.0.1"]),
    )
    assert checked.addresses == ("127.0.0.1",)


async def test_unresolvable_host_is_refused() -> None:
    async def fail(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(RepoError, match="could not be resolved"):
        await check_repo_url("https://nx.example.com/r", allow_local=False, resolver=fail)


async def test_slow_resolver_times_out_promptly() -> None:
    async def hang(host: str, port: int) -> list[str]:
        await asyncio.sleep(30)
        return []

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RepoError, match="timed out"):
        await check_repo_url(
            "https://slow.example.com/r", allow_local=False, resolver=hang, resolve_timeout=0.2
        )
    assert loop.time() - started < 2


async def test_system_resolver_sees_localhost_as_loopback() -> None:
    # The default resolver (the loop's getaddrinfo) is what production uses.
    assert "127.0.0.1" in await system_resolver("localhost", 443)
    checked = await check_repo_url_details("http://localhost:9/r.git", allow_local=True)
    assert "127.0.0.1" in checked.addresses


async def test_local_path_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(RepoError, match="not a directory"):
        await check_repo_url(f"{tmp_path}/missing", allow_local=True)
    assert await check_repo_url(str(tmp_path), allow_local=True) == str(tmp_path)
    for root in ("/", "file:///"):
        with pytest.raises(RepoError, match="filesystem root"):
            await check_repo_url(root, allow_local=True)


def _loose_spellings(n: int) -> list[str]:
    a, b, c, d = n.to_bytes(4, "big")
    return [
        str(n),
        hex(n),
        f"{a}.{(b << 16) | (c << 8) | d}",
        f"{a}.{b}.{(c << 8) | d}",
        f"0{a:o}.{b}.{c}.{d}",
        f"{hex(a)}.{hex(b)}.{hex(c)}.{hex(d)}",
    ]


@given(
    st.one_of(
        st.integers(0x7F000000, 0x7FFFFFFF),  # 127/8
        st.integers(0x0A000000, 0x0AFFFFFF),  # 10/8
        st.integers(0xA9FE0000, 0xA9FEFFFF),  # 169.254/16
        st.integers(0xC0A80000, 0xC0A8FFFF),  # 192.168/16
    ),
    st.integers(0, 5),
)
def test_no_spelling_of_a_blocked_ipv4_address_passes(n: int, form: int) -> None:
    host = _loose_spellings(n)[form]
    with pytest.raises(RepoError):
        check_repo_url_syntax(f"https://{host}/owner/repo", allow_local=False)
