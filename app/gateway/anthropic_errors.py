"""Errors in the Anthropic API's own shape, so agents and SDKs understand them."""

from __future__ import annotations

import json
from typing import Literal

from starlette.responses import Response

ErrorType = Literal[
    "invalid_request_error",
    "authentication_error",
    "billing_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "timeout_error",
    "overloaded_error",
]


def error_body(error_type: ErrorType, message: str) -> bytes:
    """The JSON body Anthropic uses for errors."""
    payload = {"type": "error", "error": {"type": error_type, "message": message}}
    return json.dumps(payload).encode()


def error_response(
    status_code: int,
    error_type: ErrorType,
    message: str,
    *,
    retryable: bool | None = None,
) -> Response:
    """An Anthropic-style error response; `retryable` sets the SDKs' `x-should-retry`."""
    headers = {} if retryable is None else {"x-should-retry": "true" if retryable else "false"}
    return Response(
        error_body(error_type, message),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def sse_error_event(error_type: ErrorType, message: str) -> bytes:
    """An `error` event, as the API sends when a stream fails after it started."""
    return b"event: error\ndata: " + error_body(error_type, message) + b"\n\n"
