"""Request limits: body size (413) and open SSE streams per client (429)."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterator

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import TooBusy

_TOO_LARGE = {
    "error": {"code": "payload_too_large", "message": "request body too large", "details": None}
}


class BodySizeLimit:
    """ASGI middleware: 413 for bodies over `max_bytes` (paths under `exempt` set their own)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _reject(send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _BodyTooLarge:
            await _reject(send)


class _BodyTooLarge(Exception):
    pass


async def _reject(send: Send) -> None:
    body = json.dumps(_TOO_LARGE).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class StreamSlots:
    """Counts open SSE streams per client address."""

    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self.open: Counter[str] = Counter()

    def check(self, client: str) -> None:
        """429 when the client already holds its share of streams."""
        if self.open[client] >= self.per_client:
            raise TooBusy(
                f"{self.open[client]} streams already open from this client "
                f"(limit {self.per_client})",
                retry_after=5,
            )

    @contextlib.contextmanager
    def holding(self, client: str) -> Iterator[None]:
        """Count a stream as open while this block runs (entered when it starts streaming:
        a response that is never sent holds no slot)."""
        self.open[client] += 1
        try:
            yield
        finally:
            self.open[client] -= 1
            if self.open[client] <= 0:
                del self.open[client]
