"""Address classification and inet_aton-style numeric host decoding."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from app.repos.addresses import blocked_reason, is_canonical_ipv4, looks_numeric, parse_loose_ipv4


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("10.0x10.1", "10.16.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("127.0.0.1.", "127.0.0.1"),
    ],
)
def test_loose_ipv4_spellings_decode_like_inet_aton(host: str, address: str) -> None:
    assert parse_loose_ipv4(host) == ip_address(address)
    assert looks_numeric(host)


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.1.1.1", "1.16777216", "08.1.1.1", "a.1"])
def test_invalid_numeric_hosts_do_not_decode(host: str) -> None:
    assert parse_loose_ipv4(host) is None


def test_only_plain_dotted_quads_are_canonical() -> None:
    assert is_canonical_ipv4("140.82.112.3")
    for host in ("140.82.112", "0140.82.112.3", "140.82.112.03", "140.82.112.256"):
        assert not is_canonical_ipv4(host)
    assert not looks_numeric("github.com") and not looks_numeric("1password.example")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
        ("2002:808:808::1", None),  # 6to4 around a public address
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("169.254.169.254", "metadata"),
        ("168.63.129.16", "metadata"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.1.1", "not publicly routable"),
        ("::ffff:10.0.0.1", "private address (embedded"),
        ("::ffff:8.8.8.8", "IPv4-mapped"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "embedded"),  # Teredo to 127.0.0.1
        ("::127.0.0.1", "loopback address (embedded"),
        ("fec0::1", "site-local"),
    ],
)
def test_blocked_reason(address: str, reason: str | None) -> None:
    found = blocked_reason(ip_address(address))
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found
