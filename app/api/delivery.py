"""Routes: push a variation as a new branch (maybe a pull request); list what was pushed."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import RunDep, ServicesDep
from app.delivery import repository as deliveries
from app.delivery import service
from app.delivery.schemas import DeliveryRead, PushRequest, PushResult
from app.schemas import ErrorResponse

router = APIRouter(prefix="/runs", tags=["delivery"])
_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 422, 502)
}


@router.post("/{run_id}/variations/{variation_id}/push", responses=_ERRORS)
async def push_variation(
    run: RunDep, variation_id: int, body: PushRequest, services: ServicesDep
) -> PushResult:
    """Push the variation as one commit on a new branch; optionally open a pull request."""
    return await service.push_variation(
        db=services.db,
        events=services.events,
        ports=services.delivery,
        run=run,
        variation_id=variation_id,
        body=body,
    )


@router.get("/{run_id}/deliveries", responses=_ERRORS)
async def list_deliveries(run: RunDep, services: ServicesDep) -> list[DeliveryRead]:
    """Branches and pull requests this run's variations were pushed as, oldest first."""
    rows = await deliveries.get_deliveries(services.db, run.id)
    return [DeliveryRead.model_validate(row, from_attributes=True) for row in rows]
