"""Per-variation placeholder keys: which variation sent a request."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

TOKEN_PREFIX = "aideator-gw-"


@dataclass(frozen=True)
class VariationKey:
    """The variation a token belongs to."""

    run_id: str
    variation_id: int


def _digest(token: str) -> bytes:
    # Keyed by digest: lookups do not compare secrets byte by byte, and the map holds no token.
    return hashlib.sha256(token.encode("utf-8")).digest()


def token_from_headers(headers: Mapping[str, str]) -> str | None:
    """The key an agent sent: `x-api-key`, or `Authorization: Bearer ...`."""
    api_key = headers.get("x-api-key")
    if api_key:
        return api_key.strip()
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


class TokenRegistry:
    """Issues one random token per variation and resolves tokens back to variations."""

    def __init__(self) -> None:
        self._by_digest: dict[bytes, VariationKey] = {}
        self._by_key: dict[VariationKey, bytes] = {}

    def issue(self, key: VariationKey) -> str:
        """A fresh token for the variation; any earlier token of it stops working."""
        self.revoke(key)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        digest = _digest(token)
        self._by_digest[digest] = key
        self._by_key[key] = digest
        return token

    def resolve(self, token: str | None) -> VariationKey | None:
        """The variation of a live token, or None."""
        if not token:
            return None
        return self._by_digest.get(_digest(token))

    def revoke(self, key: VariationKey) -> None:
        """Make the variation's token unknown (idempotent)."""
        digest = self._by_key.pop(key, None)
        if digest is not None:
            self._by_digest.pop(digest, None)

    def revoke_run(self, run_id: str) -> None:
        """Revoke the tokens of every variation of a run."""
        for key in [key for key in self._by_key if key.run_id == run_id]:
            self.revoke(key)
