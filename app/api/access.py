"""Access control: API keys (X-API-Key) and short-lived per-run stream tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header, Request

from app.config import Settings
from app.errors import AppError, Unauthorized


class KeyFileError(AppError):
    """The API key file cannot be read."""

    status_code = 500
    code = "server_misconfigured"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _load_digests(settings: Settings) -> list[str]:
    digests = [_digest(k.strip()) for k in (settings.api_keys or "").split(",") if k.strip()]
    if settings.api_keys_file is not None:
        path: Path = settings.api_keys_file
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise KeyFileError(f"cannot read AIDEATOR_API_KEYS_FILE: {exc}") from None
        digests += [ln.strip().lower() for ln in lines if ln.strip() and not ln.startswith("#")]
    return digests


class AccessPolicy:
    """Checks API keys in constant time and signs stream tokens bound to one run."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.auth_enabled
        self._digests = _load_digests(settings) if self.enabled else []
        secret = settings.stream_token_secret
        self._secret = (
            secret.get_secret_value().encode() if secret is not None else secrets.token_bytes(32)
        )
        self._ttl = settings.stream_token_ttl_seconds

    def key_ok(self, presented: str | None) -> bool:
        """Whether the presented key is one of the configured keys."""
        if not self.enabled:
            return True
        digest = _digest(presented or "")
        # Compare against every key so timing does not tell which (or whether one) matched.
        matches = [hmac.compare_digest(digest, known) for known in self._digests]
        return presented is not None and any(matches)

    def issue_stream_token(self, run_id: str) -> tuple[str, int]:
        """A token that opens this run's stream until it expires."""
        expires = int(time.time()) + self._ttl
        body = f"{run_id}.{expires}"
        return f"{expires}.{self._sign(body)}", expires

    def stream_token_ok(self, token: str | None, run_id: str) -> bool:
        """Whether `token` was issued for `run_id` and has not expired."""
        if not token or "." not in token:
            return False
        expires, _, signature = token.partition(".")
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(signature, self._sign(f"{run_id}.{expires}"))

    def _sign(self, body: str) -> str:
        mac = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def get_access(request: Request) -> AccessPolicy:
    """The app's access policy."""
    policy: AccessPolicy = request.app.state.access
    return policy


AccessDep = Annotated[AccessPolicy, Depends(get_access)]


async def require_api_key(
    access: AccessDep,
    x_api_key: Annotated[
        str | None, Header(description="API key, when keys are configured.")
    ] = None,
) -> None:
    """401 unless a valid X-API-Key is sent (no-op when no keys are configured)."""
    if not access.key_ok(x_api_key):
        raise Unauthorized("missing or wrong X-API-Key", details={"header": "X-API-Key"})
