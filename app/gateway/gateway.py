"""The LLM gateway: what the host server creates, starts, and tells about runs."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

import structlog
from pydantic import SecretStr
from starlette.types import ASGIApp

from app.errors import Conflict
from app.gateway.budget import Ledger
from app.gateway.guard import Guard
from app.gateway.identity import TokenRegistry, VariationKey
from app.gateway.listener import Listener, bind_tcp, bind_unix
from app.gateway.pricing import PriceTable, default_prices
from app.gateway.proxy import Proxy
from app.gateway.rules import RequestRules
from app.gateway.shared_budget import SharedBudget
from app.gateway.sinks import BudgetSink, RefusalSink, UsageSink
from app.gateway.usage import Usage

log = structlog.get_logger()


class Gateway:
    """Anthropic-compatible proxy holding the real key; meters and budgets each run."""

    def __init__(
        self,
        *,
        upstream_url: str,
        api_key: str | SecretStr | None,
        on_usage: UsageSink,
        on_budget_exhausted: BudgetSink,
        prices: PriceTable | None = None,
        upstream_timeout: float = 600,
        shutdown_grace_seconds: int = 5,
        rules: RequestRules | None = None,
        on_refusal: RefusalSink | None = None,
        shared_budget: SharedBudget | None = None,
    ) -> None:
        secret = SecretStr(api_key) if isinstance(api_key, str) else api_key
        if secret is not None and not secret.get_secret_value():
            secret = None
        self._tokens = TokenRegistry()
        self._ledger = Ledger()
        self._guard = Guard(rules or RequestRules())
        self._proxy = Proxy(
            upstream_url=upstream_url,
            api_key=secret,
            tokens=self._tokens,
            ledger=self._ledger,
            prices=prices or default_prices(),
            on_usage=on_usage,
            on_budget_exhausted=on_budget_exhausted,
            upstream_timeout=upstream_timeout,
            guard=self._guard,
            on_refusal=on_refusal,
            shared_budget=shared_budget,
        )
        self._shutdown_grace = shutdown_grace_seconds
        self._listener: Listener | None = None
        self._url: str | None = None
        self._socket_path: Path | None = None

    # -- runs and identity -------------------------------------------------------------

    def open_run(self, run_id: str, *, budget_usd: float | None, spent_usd: float = 0.0) -> None:
        """Start metering a run; `spent_usd` carries earlier spending (e.g. on resume)."""
        self._ledger.open(run_id, budget_usd=budget_usd, spent_usd=spent_usd)

    def issue_token(self, run_id: str, variation_id: int, *, model: str | None = None) -> str:
        """The placeholder API key one variation's agent must send (replaces an older one).

        `model` is the variation's own model; with the configured background models it is
        all the token may ask for.
        """
        self._ledger.run(run_id)  # raises NotFound when the run is not open
        key = VariationKey(run_id, variation_id)
        self._guard.pin(key, model)
        return self._tokens.issue(key)

    def revoke(self, run_id: str, variation_id: int) -> None:
        """Stop accepting the variation's token; its totals stay readable until close_run."""
        self._tokens.revoke(VariationKey(run_id, variation_id))

    def close_run(self, run_id: str) -> None:
        """Revoke every token of the run and forget its totals."""
        self._tokens.revoke_run(run_id)
        self._ledger.close(run_id)
        self._guard.forget_run(run_id)

    def usage_of(self, run_id: str, variation_id: int) -> Usage:
        """Tokens the variation used so far, as metered here."""
        return self._ledger.usage_of(run_id, variation_id)

    def cost_of(self, run_id: str, variation_id: int) -> float:
        """USD the variation spent so far."""
        return self._ledger.cost_of(run_id, variation_id)

    def spent_of(self, run_id: str) -> float:
        """USD the run spent so far, all variations together."""
        return self._ledger.spent_of(run_id)

    def models_used(self, run_id: str, variation_id: int) -> dict[str, int]:
        """Messages requests the variation had forwarded, by model (until close_run)."""
        return self._guard.models_used(VariationKey(run_id, variation_id))

    def refusals_of(self, run_id: str, variation_id: int) -> dict[str, int]:
        """Requests of the variation the rules refused, by rule (until close_run)."""
        return self._guard.refusals(VariationKey(run_id, variation_id))

    @property
    def rules(self) -> RequestRules:
        """The request rules every variation is held to."""
        return self._guard.rules

    # -- serving -----------------------------------------------------------------------

    def asgi_app(self) -> ASGIApp:
        """The proxy as an ASGI app (for tests or mounting elsewhere)."""
        return self._proxy.app

    async def start(
        self, *, host: str = "127.0.0.1", port: int = 0, unix_socket: Path | None = None
    ) -> None:
        """Serve on host:port (0 picks a free port) and, if given, on a Unix socket too."""
        if self._listener is not None:
            raise Conflict("gateway already started")
        sockets: list[socket.socket] = []
        try:
            tcp = bind_tcp(host, port)
            sockets.append(tcp)
            if unix_socket is not None:
                sockets.append(bind_unix(unix_socket))
            listener = Listener(self._proxy.app, graceful_shutdown_seconds=self._shutdown_grace)
            await listener.start(sockets)
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        self._listener = listener
        bound_host, bound_port = tcp.getsockname()[:2]
        if ":" in bound_host:
            bound_host = f"[{bound_host}]"
        self._url = f"http://{bound_host}:{bound_port}"
        self._socket_path = unix_socket
        log.info("gateway.started", url=self._url, unix_socket=str(unix_socket or ""))

    async def stop(self) -> None:
        """Stop serving, close upstream connections and remove the socket file."""
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.stop()
        await self._proxy.aclose()
        if self._socket_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._socket_path.unlink()
        self._url = None
        self._socket_path = None

    @property
    def url(self) -> str:
        """Base URL for agents (ANTHROPIC_BASE_URL), e.g. http://127.0.0.1:PORT."""
        if self._url is None:
            raise Conflict("gateway not started")
        return self._url

    @property
    def socket_path(self) -> Path | None:
        """The Unix socket the gateway serves on, if any."""
        return self._socket_path
