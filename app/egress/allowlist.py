"""Which hosts the egress proxy may reach: `AIDEATOR_EGRESS_ALLOW` and the address rules.

Entries are `host`, `host:port` or `*.domain` (any subdomain, not the domain itself). A name
is resolved on the host; when any of its addresses is loopback, private, link-local,
reserved or a cloud metadata address, the connection is refused unless that exact
`host:port` is listed (so a public name that resolves inward cannot reach the host's own
services).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from app.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class AllowEntry:
    """One allow-list entry."""

    host: str  # lower case, no trailing dot; for a wildcard the suffix after `*.`
    port: int | None = None
    wildcard: bool = False

    def matches(self, host: str, port: int) -> bool:
        """True when this entry lets `host:port` through (before the address rules)."""
        if self.port is not None and self.port != port:
            return False
        if self.wildcard:
            return host.endswith("." + self.host)
        return host == self.host


def _normalize(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def split_host_port(text: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port` -> (host, port or None)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":") if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not port_text:
        return _normalize(host), None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad port in {text!r}")
    return _normalize(host), int(port_text)


def parse_allow_list(text: str) -> list[AllowEntry]:
    """Parse the comma-separated setting (422-style error naming the bad entry)."""
    entries = []
    for raw in text.split(","):
        if not raw.strip():
            continue
        try:
            host, port = split_host_port(raw)
        except ValueError as exc:
            raise InvalidInput(f"AIDEATOR_EGRESS_ALLOW: {exc}") from None
        wildcard = host.startswith("*.")
        host = host.removeprefix("*.")
        if not host or "*" in host or "/" in host:
            raise InvalidInput(f"AIDEATOR_EGRESS_ALLOW: bad entry {raw.strip()!r}")
        entries.append(AllowEntry(host, port, wildcard))
    return entries


def is_inward(address: IPAddress) -> bool:
    """Loopback, private, link-local, reserved, multicast, unspecified or metadata."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


class EgressAllowList:
    """The parsed setting, with the decision for one destination."""

    def __init__(self, entries: list[AllowEntry]) -> None:
        self.entries = entries

    @classmethod
    def from_setting(cls, text: str) -> EgressAllowList:
        """From `AIDEATOR_EGRESS_ALLOW`."""
        return cls(parse_allow_list(text))

    def listed(self, host: str, port: int) -> bool:
        """Whether an entry names this host (and port, when the entry has one)."""
        host = _normalize(host)
        return any(entry.matches(host, port) for entry in self.entries)

    def exactly_listed(self, host: str, port: int) -> bool:
        """Whether `host:port` itself is an entry (needed for inward addresses)."""
        host = _normalize(host)
        return any(not e.wildcard and e.port == port and e.host == host for e in self.entries)

    def refusal(self, host: str, port: int, addresses: list[IPAddress]) -> str | None:
        """Why `host:port` (resolved to `addresses`) is refused, or None when allowed."""
        if not self.listed(host, port):
            return "not in AIDEATOR_EGRESS_ALLOW"
        if not addresses:
            return "name did not resolve"
        inward = [a for a in addresses if is_inward(a)]
        if inward and not self.exactly_listed(host, port):
            return f"resolves to a non-public address ({inward[0]}); list {host}:{port} exactly"
        return None
