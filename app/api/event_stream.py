"""The SSE response: one stream per client, as little per-client state as possible.

Each open stream costs the connection's own task, one task waiting for the client to hang
up, and the event generator; pings come from the generator's idle wake-ups, and the
server's stop is watched once for all streams (`ServerStopping`), not once per stream.
`StreamsOutsideTheStack` runs a stream once the request has gone through the routing,
exception and body-limit layers and they have returned, so an idle stream does not keep a
suspended frame of each of them alive (the headers and CORS still apply: the response
sends through the `send` it was given).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import structlog
from sse_starlette import EventSourceResponse
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger()

_DEFERRED = "aideator.deferred_stream"


class StreamsOutsideTheStack:
    """Middleware (the outermost one added): streams an EventStreamResponse after the layers
    inside it have returned."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deferred: list[tuple[EventStreamResponse, Receive, Send]] = []
        scope[_DEFERRED] = deferred
        await self.app(scope, receive, send)
        if deferred:
            response, inner_receive, inner_send = deferred.pop()
            # The headers go through the inner layers (CORS adds its own); the body goes
            # straight to `send`: the layers inside only look at the start message, and a
            # busy stream writes hundreds of chunks a second.
            await response.stream(inner_receive, inner_send, body_send=send)


class ServerStopping:
    """Set once when the server begins to stop (SIGTERM/SIGINT); one watcher for all streams."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], None]] = []

    def watch(self, on_stop: Callable[[], None]) -> asyncio.Event:
        """Start the watcher (once); `on_stop` runs when the server stops."""
        if on_stop not in self._listeners:
            self._listeners.append(on_stop)
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._wait(), name="sse-stop-watcher")
        return self.event

    async def _wait(self) -> None:
        # sse-starlette's shared watcher of uvicorn's exit flag (it polls; one per loop).
        await EventSourceResponse._listen_for_exit_signal()
        self.event.set()
        for listener in self._listeners:
            listener()

    def close(self) -> None:
        """Stop watching (the app is shutting down)."""
        if self._watcher is not None:
            self._watcher.cancel()


class EventStreamResponse(Response):
    """text/event-stream from an async generator of encoded SSE bytes."""

    media_type = "text/event-stream"

    def __init__(
        self,
        body: AsyncIterator[bytes],
        *,
        send_timeout: float,
        headers: dict[str, str] | None = None,
        hold: contextlib.AbstractContextManager[None] | None = None,
    ) -> None:
        self.body_iterator = body
        self.send_timeout = send_timeout
        self.hold = hold if hold is not None else contextlib.nullcontext()
        self.status_code = 200
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream now, or hand the stream to `StreamsOutsideTheStack` when it is there."""
        if scope["method"].upper() == "HEAD":
            await send(self._start())
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            await self._close_body()
            return
        deferred = scope.get(_DEFERRED)
        if isinstance(deferred, list):
            deferred.append((self, receive, send))
            return
        await self.stream(receive, send)

    def _start(self) -> Message:
        return {"type": "http.response.start", "status": 200, "headers": self.raw_headers}

    async def stream(self, receive: Receive, send: Send, body_send: Send | None = None) -> None:
        """Send the headers, then every chunk the generator yields (through `body_send`
        when given), until it ends or the client leaves or stops reading for
        `send_timeout` seconds. `hold` is held meanwhile."""
        with self.hold:
            await self._stream(receive, send, body_send or send)

    async def _stream(self, receive: Receive, send: Send, body_send: Send) -> None:
        start = self._start()
        me = asyncio.current_task()
        assert me is not None
        gone = False

        async def wait_for_hang_up() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            me.cancel()

        listener = asyncio.create_task(wait_for_hang_up())
        try:
            async with asyncio.timeout(self.send_timeout):
                await send(start)
            async for chunk in self.body_iterator:
                async with asyncio.timeout(self.send_timeout):
                    await body_send(
                        {"type": "http.response.body", "body": chunk, "more_body": True}
                    )
            async with asyncio.timeout(self.send_timeout):
                await body_send({"type": "http.response.body", "body": b"", "more_body": False})
        except TimeoutError:
            log.info("sse.client_too_slow", send_timeout=self.send_timeout)
        except asyncio.CancelledError:
            if not gone or me.uncancel() > 0:
                raise  # cancelled from outside, not by the client hanging up
        finally:
            listener.cancel()
            await self._close_body()

    async def _close_body(self) -> None:
        aclose = getattr(self.body_iterator, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
