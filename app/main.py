"""create_app(settings): the FastAPI app and its lifespan (DB, event log, supervisor)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import schema
from app.api import delivery, health, ingest, preferences, runs, stream
from app.api.access import AccessPolicy, require_api_key
from app.api.deps import Services
from app.api.errors import install_error_handlers
from app.api.event_stream import ServerStopping, StreamsOutsideTheStack
from app.api.limits import BodySizeLimit, StreamSlots
from app.api.web import install_web
from app.config import Settings, get_settings
from app.db import Database
from app.delivery.service import DeliveryPorts
from app.egress import EgressAllowList
from app.egress.gate import EgressGate
from app.events.hub import EventHub
from app.events.log import EventLog
from app.events.wakeups import PostgresWakeups
from app.log_config import configure_logging
from app.model_plane import start_model_plane
from app.repos.cache import RepoCache
from app.repos.credentials import GitCredentials
from app.runners.registry import agents_own_no_server_files, make_runner, sandbox_owner
from app.runs.leases import LeaseKeeper
from app.runs.setup_cache import SetupCache
from app.runs.setup_phase import SetupPhase
from app.runs.supervisor import Supervisor

log = structlog.get_logger()
API_PREFIX = "/api/v1"


@asynccontextmanager
async def _services(app: FastAPI, settings: Settings) -> AsyncIterator[Services]:
    db = Database(settings.database_url)
    try:
        await schema.prepare(db, auto_upgrade=db.is_sqlite)
    except BaseException:
        await db.dispose()
        raise
    hub = EventHub(db)
    events = EventLog(
        db,
        on_commit=hub.committed,
        batch_max=settings.event_batch_max,
        flush_interval=settings.event_flush_interval,
    )
    await events.start()
    wakeups = None
    if not db.is_sqlite:
        # Our own commits were handed to the hub by the event log: not read back.
        wakeups = PostgresWakeups(
            settings.database_url,
            hub.notify,
            knows=lambda run, last: events.committing.get(run, 0) >= last or hub.knows(run, last),
        )
    if wakeups is not None:
        await wakeups.start()
    checkpoints = asyncio.create_task(db.run_checkpoints(), name="db-checkpoints")
    leases = LeaseKeeper(settings=settings, db=db, events=events)
    await leases.beat()
    recovered = await leases.recover_own()
    if recovered:
        log.warning("startup.interrupted_runs", count=len(recovered))
    runner = make_runner(settings)
    models = await start_model_plane(settings, events)
    token = settings.github_token.get_secret_value() if settings.github_token else None
    credentials = GitCredentials(settings.git_credentials, token)
    workspaces = RepoCache(
        settings.data_dir / "repos",
        allow_local=settings.allow_local_repos,
        credentials=credentials,
        max_snapshot_bytes=settings.snapshot_max_bytes,
        link_objects=agents_own_no_server_files(settings.runner_settings),
        overlay=settings.workspace_overlay == "auto",
        tree_owner=sandbox_owner(settings.runner_settings),
    )
    egress = EgressGate(EgressAllowList.from_setting(settings.egress_allow), events)
    setup_cache = SetupCache(
        settings.data_dir / "setup-cache",
        max_bytes=settings.setup_cache_mb * 1024 * 1024,
        ttl_seconds=settings.setup_cache_ttl_seconds,
    )
    await setup_cache.sweep()
    setup = SetupPhase(
        events=events, runner=runner, workspaces=workspaces, cache=setup_cache, egress=egress
    )
    supervisor = Supervisor(
        settings=settings,
        db=db,
        events=events,
        runner=runner,
        workspaces=workspaces,
        gateway=models.access,
        setup=setup,
        egress=egress,
    )
    await supervisor.keep_workspaces_on_startup(workspaces)
    leases.active = lambda: supervisor.active_runs
    lease_task = asyncio.create_task(leases.run_forever(), name="leases")
    services = Services(
        settings=settings,
        db=db,
        events=events,
        hub=hub,
        runner=runner,
        supervisor=supervisor,
        delivery=DeliveryPorts(settings=settings, repos=workspaces, credentials=credentials),
    )
    try:
        yield services
    finally:
        await supervisor.shutdown()
        lease_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lease_task
        await models.stop()
        egress.close()
        await events.close()
        if wakeups is not None:
            await wakeups.close()
        await hub.close()
        checkpoints.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checkpoints
        await db.checkpoint()
        await db.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The AIdeator server."""
    settings = settings or get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _services(app, settings) as services:
            app.state.services = services
            # Everything built so far lives as long as the process: keep it out of the
            # collector's full passes, which otherwise stall every stream for a moment.
            gc.collect()
            gc.freeze()
            if not settings.auth_enabled:
                log.warning(
                    "server.no_api_keys",
                    note="no AIDEATOR_API_KEYS configured: serve on loopback only",
                )
            log.info(
                "server.ready",
                backend=settings.backend,
                model="scripted model, not Claude" if settings.uses_scripted_model else "anthropic",
            )
            try:
                yield
            finally:
                app.state.server_stopping.close()

    app = FastAPI(
        title="AIdeator",
        version="0.1.0",
        summary="Run one coding task as N isolated agent variations; keep the best.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by app/api/web.py from the package's own Swagger UI
        redoc_url=None,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.state.access = AccessPolicy(settings)
    app.state.stream_slots = StreamSlots(settings.max_streams_per_client)
    app.state.server_stopping = ServerStopping()
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, exempt=(f"{API_PREFIX}/internal/",)
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key", "Last-Event-ID"],
        )
    app.add_middleware(StreamsOutsideTheStack)  # added last: the outermost of ours
    api = APIRouter(prefix=API_PREFIX)
    keyed = [Depends(require_api_key)]
    api.include_router(runs.router, dependencies=keyed)
    api.include_router(delivery.router, dependencies=keyed)
    api.include_router(stream.router)
    api.include_router(health.router)
    api.include_router(ingest.router)
    api.include_router(preferences.router, dependencies=keyed)
    app.include_router(api)
    install_web(app)
    return app
