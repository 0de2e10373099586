"""Request dependencies: shared services from app state, validating lookups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request

from app.config import Settings
from app.db import Database
from app.delivery.service import DeliveryPorts
from app.events.hub import EventHub
from app.events.log import EventLog
from app.models import Run, Variation
from app.runners.base import Runner
from app.runs.service import get_run_or_404, get_variation_or_404
from app.runs.supervisor import Supervisor


@dataclass
class Services:
    """Everything the routes need, built once in the lifespan."""

    settings: Settings
    db: Database
    events: EventLog
    hub: EventHub
    runner: Runner
    supervisor: Supervisor
    delivery: DeliveryPorts


def get_services(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def valid_run(
    services: ServicesDep, run_id: Annotated[str, Path(description="Run id.")]
) -> Run:
    """The run named in the path, or 404."""
    return await get_run_or_404(services.db, run_id)


RunDep = Annotated[Run, Depends(valid_run)]


async def valid_variation(
    services: ServicesDep,
    run: RunDep,
    variation_id: Annotated[int, Path(description="Variation id (0-based).")],
) -> Variation:
    """The variation named in the path, of the run named there, or 404."""
    return await get_variation_or_404(services.db, run.id, variation_id)


VariationDep = Annotated[Variation, Depends(valid_variation)]
