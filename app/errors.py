"""One error hierarchy, rendered by one handler as `{"error": {code, message, details}}`."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every domain error; carries its HTTP status and a stable code."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        status_code: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code

    def to_body(self) -> dict[str, Any]:
        """The JSON error body."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(AppError):
    """A resource does not exist."""

    status_code = 404
    code = "not_found"


class Conflict(AppError):
    """The resource is not in a state that allows this."""

    status_code = 409
    code = "conflict"


class InvalidInput(AppError):
    """Input failed a check beyond schema validation; names the field in details."""

    status_code = 422
    code = "validation_error"


class Unauthorized(AppError):
    """Missing or wrong credentials."""

    status_code = 401
    code = "unauthorized"


class BackendUnavailable(AppError):
    """The configured runner backend cannot run here; the message says how to fix it."""

    status_code = 503
    code = "backend_unavailable"


class RepoError(AppError):
    """A repository could not be used (refused URL, clone failure, unknown ref)."""

    status_code = 422
    code = "repo_error"


class TooBusy(AppError):
    """A capacity limit is reached; retry after `retry_after` seconds."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after
