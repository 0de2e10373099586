"""What passes through the gateway: headers, paths, and how a budget refusal looks."""

from __future__ import annotations

import re

import httpx

from app.gateway.anthropic_errors import ErrorType

# Only these request headers travel upstream: never the agent's token, cookies or anything
# else an agent could use to smuggle data or credentials.
FORWARD_REQUEST_HEADERS = frozenset(
    {"anthropic-version", "anthropic-beta", "content-type", "accept", "user-agent", "x-app"}
)
FORWARD_RESPONSE_HEADERS = frozenset(
    {"content-type", "retry-after", "retry-after-ms", "x-should-retry", "request-id"}
)
FORWARD_RESPONSE_PREFIXES = ("anthropic-ratelimit-",)
METERED_PATHS = frozenset({"/v1/messages"})
_API_PATH = re.compile(r"^/v1(/[A-Za-z0-9_.\-]+)+$")

# Claude Code retries 408/409/429/5xx; it re-sends some 400s with fewer beta features, and
# reports a 403 as "Failed to authenticate". A 402 billing_error is sent once and ends the
# agent's turn with "API Error: 402 <message>" (checked against Claude Code 2.1.330).
BUDGET_STATUS = 402
BUDGET_ERROR_TYPE: ErrorType = "billing_error"
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def response_headers(upstream: httpx.Headers) -> dict[str, str]:
    """The upstream response headers an agent gets to see."""
    return {
        name: value
        for name, value in upstream.items()
        if name in FORWARD_RESPONSE_HEADERS or name.startswith(FORWARD_RESPONSE_PREFIXES)
    }


def is_api_path(path: str) -> bool:
    """True for a plain `/v1/...` path (no dot segments, no odd characters)."""
    return bool(_API_PATH.match(path)) and not any(part in (".", "..") for part in path.split("/"))
