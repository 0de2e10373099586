"""Controlled egress: a host-side HTTP/HTTPS (CONNECT) proxy with an allow-list."""

from app.egress.allowlist import EgressAllowList, parse_allow_list
from app.egress.proxy import ConnectionRecord, EgressProxy

__all__ = ["ConnectionRecord", "EgressAllowList", "EgressProxy", "parse_allow_list"]
