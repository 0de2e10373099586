"""Least privilege: which endpoints, models and request sizes a variation may use."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.gateway.anthropic_errors import ErrorType
from app.gateway.policy import is_api_path
from app.gateway.pricing import canonical_model_id

Endpoint = tuple[str, str]  # (METHOD, /v1/path)

MESSAGES = ("POST", "/v1/messages")
COUNT_TOKENS = ("POST", "/v1/messages/count_tokens")
DEFAULT_ENDPOINTS: frozenset[Endpoint] = frozenset({MESSAGES, COUNT_TOKENS})
# Claude Code 2.1.330's small/fast model (its `haiku` alias, first-party id); see
# docs/gateway.md for what was observed about when it is asked for.
DEFAULT_BACKGROUND_MODELS = ("claude-haiku-5-5",)
# The largest max_tokens any model in Claude Code 2.1.330's catalog asks for by default.
DEFAULT_MAX_TOKENS = 128_000
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024
DEFAULT_REQUESTS_PER_MINUTE = 120
# A spec may name a family alias (Claude Code resolves it); it then pins the family.
_FAMILY_ALIASES = {
    "opus": ("opus",),
    "sonnet": ("sonnet",),
    "haiku": ("haiku",),
    "fable": ("fable",),
    "mythos": ("mythos",),
    "opusplan": ("opus", "sonnet"),
}
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
# Spend through these cannot be metered per response: never allowed, even by an operator.
UNMETERABLE_PREFIXES = ("/v1/messages/batches", "/v1/complete")


class RuleError(ValueError):
    """An operator's rule setting cannot be understood."""


@dataclass(frozen=True)
class RequestRules:
    """The operator's bounds, the same for every variation."""

    endpoints: frozenset[Endpoint] = DEFAULT_ENDPOINTS
    background_models: tuple[str, ...] = DEFAULT_BACKGROUND_MODELS
    max_tokens: int = DEFAULT_MAX_TOKENS
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE


@dataclass(frozen=True)
class PolicyRefusal:
    """A request the gateway answered itself, and the rule that stopped it."""

    rule: str  # endpoint | model | max_tokens | body_size | rate | malformed
    status: int
    error_type: ErrorType
    message: str
    method: str = ""
    path: str = ""
    model: str | None = None
    retry_after: int | None = None

    def payload(self, variation_id: int, count: int) -> dict[str, Any]:
        """The `gateway_refusal` event payload (count: the variation's nth refusal)."""
        return {
            "variation_id": variation_id,
            "rule": self.rule,
            "status": self.status,
            "method": self.method,
            "path": self.path[:200],
            "model": None if self.model is None else self.model[:200],
            "message": self.message,
            "count": count,
        }


def parse_endpoints(text: str | None) -> frozenset[Endpoint]:
    """`"GET /v1/models, POST /v1/x"` -> {("GET", "/v1/models"), ("POST", "/v1/x")}."""
    endpoints: set[Endpoint] = set()
    for item in (text or "").split(","):
        if not item.strip():
            continue
        method, _, path = item.strip().partition(" ")
        method, path = method.upper(), path.strip()
        if method not in _METHODS or not is_api_path(path.rstrip("/")):
            raise RuleError(f"{item.strip()!r}: expected 'METHOD /v1/path', e.g. 'GET /v1/models'")
        if path.startswith(UNMETERABLE_PREFIXES):
            raise RuleError(f"{path}: its spend cannot be metered, so it is never forwarded")
        endpoints.add((method, path.rstrip("/")))
    return frozenset(endpoints)


def parse_models(text: str | None) -> tuple[str, ...]:
    """A comma-separated model list, blanks dropped."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def model_allowed(requested: str, allowed: Iterable[str]) -> bool:
    """True when `requested` is one of `allowed` (dated ids and family aliases match)."""
    wanted = canonical_model_id(requested)
    for model in allowed:
        families = _FAMILY_ALIASES.get(model.strip().lower())
        if families is not None:
            # Family words only count inside a Claude model id, never in a made-up name.
            if wanted.startswith("claude-") and any(f in wanted.split("-") for f in families):
                return True
        elif requested == model or wanted == canonical_model_id(model):
            return True
    return False


def endpoint_refusal(rules: RequestRules, method: str, path: str) -> PolicyRefusal | None:
    """A 403 unless (method, path) is on the allow-list."""
    if (method, path.rstrip("/")) in rules.endpoints:
        return None
    allowed = ", ".join(f"{m} {p}" for m, p in sorted(rules.endpoints))
    message = (
        f"{method} {path[:200]} is not allowed through the gateway "
        f"(rule: endpoint allow-list; allowed: {allowed})"
    )
    return PolicyRefusal("endpoint", 403, "permission_error", message, method, path)


def parse_body(body: bytes) -> Any:
    """The request body as JSON, or None when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def body_refusal(
    rules: RequestRules, method: str, path: str, data: Any, models: Iterable[str]
) -> tuple[PolicyRefusal | None, str | None]:
    """Check a parsed Messages request body: its model is pinned, its max_tokens bounded.

    Returns (refusal or None, the requested model or None).
    """
    if not isinstance(data, dict) or not isinstance(data.get("model"), str):
        message = "the gateway forwards only JSON requests naming a model (rule: model pinning)"
        return PolicyRefusal("malformed", 400, "invalid_request_error", message, method, path), None
    model: str = data["model"]
    allowed = list(models)
    if not model_allowed(model, allowed):
        names = ", ".join(allowed) or "none"
        message = (
            f"model {model[:200]} is not allowed for this variation "
            f"(rule: model pinning; allowed: {names})"
        )
        return PolicyRefusal("model", 403, "permission_error", message, method, path, model), model
    max_tokens = data.get("max_tokens")
    if (method, path) == MESSAGES and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool)
    ):
        message = "max_tokens: an integer is required (rule: max_tokens ceiling)"
        refusal = PolicyRefusal("malformed", 400, "invalid_request_error", message, method, path)
        return refusal, model
    if isinstance(max_tokens, int) and max_tokens > rules.max_tokens:
        message = (
            f"max_tokens {max_tokens} exceeds the gateway's ceiling of {rules.max_tokens} "
            "(rule: max_tokens ceiling)"
        )
        return PolicyRefusal(
            "max_tokens", 403, "permission_error", message, method, path, model
        ), model
    return None, model


def size_refusal(rules: RequestRules, method: str, path: str) -> PolicyRefusal:
    """The refusal of a body over the size ceiling."""
    message = (
        f"request body exceeds the gateway's limit of {rules.max_request_bytes} bytes "
        "(rule: request size ceiling)"
    )
    return PolicyRefusal("body_size", 413, "request_too_large", message, method, path)


def rate_refusal(rules: RequestRules, method: str, path: str, retry_after: int) -> PolicyRefusal:
    """The refusal of a request over the per-variation rate cap."""
    message = (
        f"more than {rules.requests_per_minute} requests in a minute from this variation "
        "(rule: request rate cap)"
    )
    return PolicyRefusal("rate", 429, "rate_limit_error", message, method, path, None, retry_after)
