"""The host's model side: the LLM gateway, and the scripted model when there is no key."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import structlog

from app.config import Settings
from app.events.log import EventLog
from app.gateway import Gateway, RequestRules
from app.gateway.listener import Listener, bind_tcp
from app.gateway.rules import DEFAULT_ENDPOINTS, parse_endpoints, parse_models
from app.runs.budget_repository import DatabaseBudget
from app.runs.model_access import GatewayAccess, UsageRecorder

log = structlog.get_logger()


@dataclass
class ModelPlane:
    """A started gateway (and scripted model); `stop()` ends both."""

    gateway: Gateway
    access: GatewayAccess
    socket_dir: Path
    scripted: Listener | None = None

    async def stop(self) -> None:
        """Stop serving and remove the socket directory."""
        await self.gateway.stop()
        if self.scripted is not None:
            await self.scripted.stop()
        shutil.rmtree(self.socket_dir, ignore_errors=True)


async def _start_scripted(settings: Settings) -> tuple[Listener, str]:
    from app.scripted_model import create_app

    sock = bind_tcp("127.0.0.1", 0)
    listener = Listener(create_app(chunk_delay=settings.scripted_chunk_delay))
    await listener.start([sock])
    port = sock.getsockname()[1]
    log.warning("model.scripted", note="scripted model, not Claude", port=port)
    return listener, f"http://127.0.0.1:{port}"


def request_rules(settings: Settings) -> RequestRules:
    """The gateway's least-privilege rules, from settings."""
    return RequestRules(
        endpoints=DEFAULT_ENDPOINTS | parse_endpoints(settings.gateway_extra_endpoints),
        background_models=parse_models(settings.gateway_background_models),
        max_tokens=settings.gateway_max_tokens,
        max_request_bytes=settings.gateway_max_request_bytes,
        requests_per_minute=settings.gateway_requests_per_minute,
    )


async def start_model_plane(settings: Settings, events: EventLog) -> ModelPlane:
    """Start the gateway in front of Anthropic, or of the scripted model without a key."""
    scripted: Listener | None = None
    if settings.uses_scripted_model:
        scripted, upstream = await _start_scripted(settings)
    else:
        upstream = settings.upstream_url
    recorder = UsageRecorder(events)
    gateway = Gateway(
        upstream_url=upstream,
        api_key=settings.anthropic_api_key,
        on_usage=recorder.on_usage,
        on_budget_exhausted=recorder.on_budget_exhausted,
        rules=request_rules(settings),
        on_refusal=recorder.on_refusal,
        # The run budget is one ledger in the database, shared by every replica's gateway.
        shared_budget=DatabaseBudget(events.db),
    )
    # A short private path: Unix socket paths are limited to 107 bytes.
    socket_dir = Path(tempfile.mkdtemp(prefix="aideator-gw-"))
    os.chmod(socket_dir, 0o755)
    await gateway.start(host="127.0.0.1", port=0, unix_socket=socket_dir / "gateway.sock")
    return ModelPlane(gateway, GatewayAccess(gateway), socket_dir, scripted)
