"""The proxy: identify the variation, enforce the run budget, relay to the model API, meter."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import Any

import anyio
import httpx
import structlog
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app.gateway.anthropic_errors import error_response, sse_error_event
from app.gateway.budget import Ledger, Refusal, budget_message
from app.gateway.guard import MAX_RECORDED_REFUSALS, Guard
from app.gateway.identity import TokenRegistry, VariationKey, token_from_headers
from app.gateway.policy import (
    ALL_METHODS,
    BUDGET_ERROR_TYPE,
    BUDGET_STATUS,
    FORWARD_REQUEST_HEADERS,
    METERED_PATHS,
    response_headers,
)
from app.gateway.pricing import PriceTable
from app.gateway.rules import PolicyRefusal, parse_body
from app.gateway.shared_budget import Reservation, SharedBudget, upper_cost_usd
from app.gateway.sinks import BudgetSink, RefusalSink, UsageSink
from app.gateway.usage import SseUsageMeter, UsageMeter

log = structlog.get_logger()
SINK_TIMEOUT_SECONDS = 10.0
INLINE_PARSE_BYTES = 256 * 1024


class Proxy:
    """An ASGI app that forwards `/v1/...` to the upstream with the real key."""

    def __init__(
        self,
        *,
        upstream_url: str,
        api_key: SecretStr | None,
        tokens: TokenRegistry,
        ledger: Ledger,
        prices: PriceTable,
        on_usage: UsageSink,
        on_budget_exhausted: BudgetSink,
        upstream_timeout: float,
        guard: Guard,
        on_refusal: RefusalSink | None = None,
        shared_budget: SharedBudget | None = None,
    ) -> None:
        self._shared_budget = shared_budget
        self._base_url = upstream_url.rstrip("/")
        self._api_key = api_key
        self._tokens = tokens
        self._ledger = ledger
        self._prices = prices
        self._on_usage = on_usage
        self._on_budget_exhausted = on_budget_exhausted
        self._timeout = httpx.Timeout(upstream_timeout, connect=min(upstream_timeout, 10.0))
        self._guard = guard
        self._on_refusal = on_refusal
        self._client: httpx.AsyncClient | None = None
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=ALL_METHODS)])

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: no proxy variables or .netrc may redirect or decorate the key.
            self._client = httpx.AsyncClient(
                timeout=self._timeout, trust_env=False, follow_redirects=False
            )
        return self._client

    async def aclose(self) -> None:
        """Close the upstream connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def handle(self, request: Request) -> Response:
        """Serve one agent request."""
        try:
            return await self._handle(request)
        except Exception as exc:
            # Class name only: a traceback's locals could show the upstream headers.
            log.error("gateway.internal_error", error=type(exc).__name__)
            return error_response(500, "api_error", "gateway internal error")

    async def _handle(self, request: Request) -> Response:
        path, method = request.url.path, request.method
        key = self._tokens.resolve(token_from_headers(request.headers))
        if key is None:
            return error_response(401, "authentication_error", "invalid x-api-key")
        # Least privilege: nothing reaches the upstream unless every rule lets it through.
        refused = self._guard.before_body(key, method, path)
        if refused is not None:
            return await self._deny(key, refused)
        metered = method == "POST" and path in METERED_PATHS
        if metered:
            refusal = self._ledger.check(key.run_id, key.variation_id)
            if refusal is not None:
                return await self._refuse(key, refusal)
        body = await self._read_body(request)
        if body is None:
            return await self._deny(key, self._guard.too_large(method, path))
        data: dict[str, Any] = {}
        if self._guard.reads_body(method, path):
            # A big body is parsed off the event loop, which serves every run's streams.
            data = (
                parse_body(body)
                if len(body) < INLINE_PARSE_BYTES
                else await anyio.to_thread.run_sync(parse_body, body)
            )
            refused = self._guard.after_body(key, method, path, data)
            if refused is not None:
                return await self._deny(key, refused)
        reservation: Reservation | None = None
        if metered and self._shared_budget is not None:
            reservation = await self._shared_budget.reserve(
                key.run_id, upper_cost_usd(self._prices, data, len(body))
            )
            if reservation is None:
                return await self._refuse(key, await self._shared_refusal(key))
        return await self._forward(request, key, body, metered=metered, reservation=reservation)

    async def _shared_refusal(self, key: VariationKey) -> Refusal:
        assert self._shared_budget is not None
        state = await self._shared_budget.state(key.run_id)
        message = budget_message(state.budget_usd or 0.0, state.spent_usd)
        return self._ledger.refusal(key.run_id, key.variation_id, message)

    async def _read_body(self, request: Request) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._guard.rules.max_request_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _upstream_headers(self, incoming: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        headers = [(name, value) for name, value in incoming if name in FORWARD_REQUEST_HEADERS]
        # Identity encoding: the relayed raw bytes are then exactly what the meter parses.
        headers.append(("accept-encoding", "identity"))
        if self._api_key is not None:
            headers.append(("x-api-key", self._api_key.get_secret_value()))
        return headers

    async def _forward(
        self,
        request: Request,
        key: VariationKey,
        body: bytes,
        *,
        metered: bool,
        reservation: Reservation | None = None,
    ) -> Response:
        started = time.monotonic()
        url = self._base_url + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        client = self._http()
        outgoing = client.build_request(
            request.method,
            url,
            headers=self._upstream_headers(request.headers.items()),
            content=body,
        )
        try:
            upstream = await client.send(outgoing, stream=True)
        except httpx.TransportError as exc:
            log.warning(
                "gateway.upstream_unreachable",
                run_id=key.run_id,
                variation_id=key.variation_id,
                error=type(exc).__name__,
            )
            await self._settle(reservation, 0.0)
            return error_response(502, "api_error", "upstream model API unreachable")
        headers = response_headers(upstream.headers)
        if upstream.headers.get("content-type", "").startswith("text/event-stream"):
            relay = self._relay(
                request, key, upstream, metered=metered, started=started, reservation=reservation
            )
            return StreamingResponse(relay, status_code=upstream.status_code, headers=headers)
        try:
            content = await upstream.aread()
        except httpx.TransportError as exc:
            log.warning("gateway.upstream_lost", run_id=key.run_id, error=type(exc).__name__)
            return error_response(502, "api_error", "upstream connection lost")
        finally:
            await upstream.aclose()
        meter = UsageMeter()
        if metered and upstream.status_code == 200:
            meter.observe_json_body(content)
        await self._finish(
            request, key, meter, upstream.status_code, started, "complete", reservation
        )
        return Response(content, status_code=upstream.status_code, headers=headers)

    async def _relay(
        self,
        request: Request,
        key: VariationKey,
        upstream: httpx.Response,
        *,
        metered: bool,
        started: float,
        reservation: Reservation | None,
    ) -> AsyncIterator[bytes]:
        meter = SseUsageMeter()
        outcome = "client_gone"
        try:
            async for chunk in upstream.aiter_raw():
                if metered:
                    meter.feed(chunk)
                yield chunk
            outcome = "complete"
        except Exception as exc:  # cancellation is a BaseException and passes through
            outcome = f"upstream_lost:{type(exc).__name__}"
            yield sse_error_event("api_error", "upstream connection lost mid-stream")
        finally:
            # Runs on client disconnect (cancellation) too: what was used is still recorded.
            with anyio.CancelScope(shield=True):
                await upstream.aclose()
                await self._finish(
                    request, key, meter, upstream.status_code, started, outcome, reservation
                )

    async def _finish(
        self,
        request: Request,
        key: VariationKey,
        meter: UsageMeter,
        status: int,
        started: float,
        outcome: str,
        reservation: Reservation | None = None,
    ) -> None:
        usage = meter.usage()
        cost = 0.0
        if meter.seen:
            cost = self._prices.cost(
                meter.model,
                usage,
                cache_write_1h_tokens=meter.cache_write_1h_tokens,
                web_search_requests=meter.web_search_requests,
            )
            self._ledger.record(key.run_id, key.variation_id, usage, cost)
        await self._settle(reservation, cost)
        log.info(
            "gateway.response",
            run_id=key.run_id,
            variation_id=key.variation_id,
            method=request.method,
            path=request.url.path,
            status=status,
            outcome=outcome,
            model=meter.model,
            cost_usd=round(cost, 6),
            duration_ms=round((time.monotonic() - started) * 1000),
            **(usage.as_dict() if meter.seen else {}),
        )
        if meter.seen:
            await self._call_sink(
                "usage", self._on_usage(key.run_id, key.variation_id, usage, cost)
            )

    async def _settle(self, reservation: Reservation | None, cost: float) -> None:
        if reservation is None or self._shared_budget is None:
            return
        try:
            await self._shared_budget.settle(reservation, cost)
        except Exception as exc:
            log.warning(
                "gateway.settle_failed", run_id=reservation.run_id, error=type(exc).__name__
            )

    async def _refuse(self, key: VariationKey, refusal: Refusal) -> Response:
        log.warning(
            "gateway.budget_exhausted",
            run_id=key.run_id,
            variation_id=key.variation_id,
            first_for_variation=refusal.first_for_variation,
        )
        if refusal.first_for_variation:
            await self._call_sink(
                "budget",
                self._on_budget_exhausted(key.run_id, key.variation_id, refusal.message),
            )
        return error_response(BUDGET_STATUS, BUDGET_ERROR_TYPE, refusal.message, retryable=False)

    async def _deny(self, key: VariationKey, refused: PolicyRefusal) -> Response:
        """Answer a request the rules stop; the first refusals become variation events."""
        count = self._guard.count_refusal(key, refused.rule)
        log.warning(
            "gateway.refused",
            run_id=key.run_id,
            variation_id=key.variation_id,
            rule=refused.rule,
            method=refused.method,
            path=refused.path[:200],
            status=refused.status,
            count=count,
        )
        if self._on_refusal is not None and count <= MAX_RECORDED_REFUSALS:
            payload = refused.payload(key.variation_id, count)
            payload["last_recorded"] = count == MAX_RECORDED_REFUSALS
            await self._call_sink(
                "refusal", self._on_refusal(key.run_id, key.variation_id, payload)
            )
        # Only the rate cap passes with time; SDKs must not retry the others.
        response = error_response(
            refused.status, refused.error_type, refused.message, retryable=refused.status == 429
        )
        if refused.retry_after is not None:
            response.headers["retry-after"] = str(refused.retry_after)
        return response

    async def _call_sink(self, name: str, call: Awaitable[None]) -> None:
        """Await a sink call; a failing or slow sink never breaks the proxy."""
        with anyio.move_on_after(SINK_TIMEOUT_SECONDS) as scope:
            try:
                await call
            except Exception as exc:
                log.error("gateway.sink_failed", sink=name, error=type(exc).__name__)
        if scope.cancelled_caught:
            log.error("gateway.sink_timeout", sink=name)
