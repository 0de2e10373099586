"""Which IP addresses a repository host may have, and numeric host spellings."""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address

# Cloud instance metadata services. Most sit in link-local space and are refused anyway;
# listing them gives a clearer message, and Azure's wire server is a public-looking address.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OCI, DigitalOcean, OpenStack
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS VPC DNS
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS VPC DNS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server
        "192.0.0.192",  # Oracle Cloud (classic)
    )
)

_NAT64_PREFIXES = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)\Z")
_OCTAL = re.compile(r"0[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-f]*\Z")
_NUMERIC_LABEL = re.compile(r"([0-9]+|0x[0-9a-f]*)\Z")


def looks_numeric(host: str) -> bool:
    """True when a host name's last label is a number, so resolvers read it as IPv4."""
    labels = host.lower().rstrip(".").split(".")
    return bool(labels) and bool(_NUMERIC_LABEL.match(labels[-1]))


def parse_loose_ipv4(host: str) -> IPv4Address | None:
    """Decode an IPv4 address the way inet_aton does (`127.1`, `0x7f.1`, `2130706433`)."""
    parts = host.lower().rstrip(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        if _HEX.match(part):
            values.append(int(part[2:] or "0", 16))
        elif _OCTAL.match(part):
            values.append(int(part, 8))
        elif _DECIMAL.match(part):
            values.append(int(part))
        else:
            return None
    # The last part fills all the bytes the earlier parts left over.
    last_bits = 8 * (5 - len(values))
    if any(v > 255 for v in values[:-1]) or values[-1] >= 1 << last_bits:
        return None
    number = 0
    for v in values[:-1]:
        number = number << 8 | v
    return IPv4Address(number << last_bits | values[-1])


def is_canonical_ipv4(host: str) -> bool:
    """True for the one plain spelling `a.b.c.d` (decimal, no leading zeros)."""
    parts = host.split(".")
    return len(parts) == 4 and all(_DECIMAL.match(p) and int(p) <= 255 for p in parts)


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64, compatible)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64_PREFIXES) or int(ip) >> 32 == 0:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why a repository host may not have this address, or None when it is public."""
    if isinstance(ip, IPv6Address):
        if ip.scope_id:
            return "a scoped IPv6 address"
        inner = _embedded_ipv4(ip)
        if inner is not None and int(ip) > 1:
            reason = blocked_reason(inner)
            if reason is not None:
                return f"{reason} (embedded in an IPv6 address)"
            if ip.ipv4_mapped is not None:
                return "an IPv4-mapped IPv6 address"
    checks: tuple[tuple[bool, str], ...] = (
        (ip in METADATA_ADDRESSES, "a cloud metadata address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (isinstance(ip, IPv6Address) and ip.is_site_local, "a site-local address"),
        (not ip.is_global, "an address that is not publicly routable"),
    )
    return next((reason for hit, reason in checks if hit), None)
